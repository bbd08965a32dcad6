// The op description of the stem that reads the engine's packed 8-bit RGB input and does the
// backbone's preprocessing itself (shaders/conv3x3_rgb8.wgsl): one op in place of
// preprocess.ts's and stem.ts's. Every invocation computes Tuning.stemPixels adjacent outputs
// of all output channels, with the weights at constant indices, so the output channel count
// is a compile-time constant (CO4) here, besides the workgroup size, tile and stride.
import type { Binding, OpDesc } from '../gpu/runner.ts';
import { ACT_CODE, ceilDiv, grid1d, sameGeometry, type Activation, type ImageShape, type Tuning } from './common.ts';

export interface StemRgb8Problem {
  label: string;
  /** Packed 8-bit RGB, [N, H, W, 3] bytes four to a word (the engine's input). */
  src: Binding;
  /** The stem's packed float32 weights (src/weights/pack.ts: [3, 3, 1, co4] mat4x4). */
  w: Binding;
  b: Binding;
  /** [N, outH, outW, co4] vec4. */
  y: Binding;
  /** The input's shape; c must be 3. */
  shape: ImageShape;
  stride: number;
  cout: number;
  activation: Activation;
  /** Input value = byte * scale + offset (the backbone manifest's preprocessing). */
  scale: number;
  offset: number;
}

/** Most output channel groups the kernel keeps per invocation (TP x CO4 accumulators, its loops written out). */
export const STEM_RGB8_MAX_GROUPS = 16;

/**
 * Whether a stem of cin -> cout channels can run as this kernel: RGB in, at most
 * STEM_RGB8_MAX_GROUPS * 4 out. A tuning's stemRgb8 applies only where it fits (the engine
 * and the tuner check); other stems run after the preprocessing op.
 */
export function stemRgb8Fits(cin: number, cout: number): boolean {
  return cin === 3 && ceilDiv(cout, 4) <= STEM_RGB8_MAX_GROUPS;
}

/** A stem's tuning as it applies to a stem of cin -> cout channels: stemRgb8 off where it does not fit. */
export function stemTuningFor(t: Tuning, cin: number, cout: number): Tuning {
  return t.stemRgb8 > 0 && !stemRgb8Fits(cin, cout) ? { ...t, stemRgb8: 0 } : t;
}

export function stemRgb8Op(p: StemRgb8Problem, t: Tuning): OpDesc {
  const { label, shape: inp, stride } = p;
  if (inp.c !== 3) throw new Error(`${label}: the 8-bit RGB stem takes 3 input channels, not ${inp.c}`);
  if (t.stemRgb8 < 1) throw new Error(`${label}: the 8-bit RGB stem needs Tuning.stemRgb8 (its workgroup size)`);
  const co4 = ceilDiv(p.cout, 4);
  if (co4 > STEM_RGB8_MAX_GROUPS) throw new Error(`${label}: the 8-bit RGB stem keeps at most ${STEM_RGB8_MAX_GROUPS * 4} output channels per invocation, not ${p.cout}`);
  const { ph, pw } = sameGeometry(inp, stride);
  const tilesW = ceilDiv(pw.out, t.stemPixels);
  const tiles = inp.n * ph.out * tilesW;
  return {
    label,
    kernel: { shader: 'conv3x3_rgb8', constants: { WG: t.stemRgb8, TP: t.stemPixels, STRIDE: stride, CO4: co4, NW: 9 * co4 * 4, ACT: ACT_CODE[p.activation] } },
    uniforms: { scale: p.scale, offset: p.offset, tiles, tiles_w: tilesW, in_h: inp.h, in_w: inp.w, out_h: ph.out, out_w: pw.out, pad_top: ph.before, pad_left: pw.before },
    storage: { src: p.src, w: p.w, b: p.b, y: p.y },
    workgroups: grid1d(ceilDiv(tiles, t.stemRgb8)),
  };
}
