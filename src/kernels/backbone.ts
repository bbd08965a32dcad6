// Op descriptions of MobileNet's kernels: which shader, its constants, uniforms and grid.
// Shapes go into uniforms; only what must be compile-time (workgroup size, register tile,
// activation) is a constant, and so part of the pipeline cache key. Each builder takes the
// problem (buffers, shapes, activation) and the device's tuning.
import type { Binding, OpDesc } from '../gpu/runner.ts';
import { ACT_CODE, ceilDiv, grid1d, samePadding, tileFor, weightTileType, type Activation, type ImageShape, type LayerProblem, type Tuning } from './common.ts';
import { depthwiseTiledOp } from './depthwise-tiled.ts';

export interface PreprocessProblem {
  /** Packed 8-bit RGB. */
  src: Binding;
  /** [pixels] vec4 (RGB, 0). */
  dst: Binding;
  pixels: number;
  /** dst = byte * scale + offset. */
  scale: number;
  offset: number;
}

export function preprocessOp(p: PreprocessProblem, t: Tuning): OpDesc {
  return {
    label: 'preprocess',
    kernel: { shader: 'preprocess', constants: { WG: t.wg } },
    uniforms: { pixels: p.pixels, scale: p.scale, offset: p.offset },
    storage: { src: p.src, dst: p.dst },
    workgroups: grid1d(ceilDiv(p.pixels, t.wg)),
  };
}

export interface StemProblem extends LayerProblem {
  cout: number;
  /** `w` holds float16 pairs (subgroup kernel only; see Tuning.halfWeights). */
  halfWeights?: boolean;
}

/** Output size and padding of a 3x3 "SAME" layer, and its output pixels. */
function sameGeometry(inp: ImageShape, stride: number) {
  const ph = samePadding(inp.h, stride);
  const pw = samePadding(inp.w, stride);
  return { ph, pw, pixels: inp.n * ph.out * pw.out };
}

export function stemOp(p: StemProblem, t: Tuning): OpDesc {
  const { label, shape: inp, stride, x, w, b, y } = p;
  const { ph, pw, pixels } = sameGeometry(inp, stride);
  const co4 = ceilDiv(p.cout, 4);
  const ci4 = ceilDiv(inp.c, 4);
  const ACT = ACT_CODE[p.activation];
  if (t.subgroup > 0) {
    const tilesW = ceilDiv(pw.out, t.stemPixels);
    const tiles = inp.n * ph.out * tilesW;
    return {
      label,
      kernel: { shader: 'conv3x3_subgroup', constants: { WG: t.sgWg, TP: t.stemPixels, STRIDE: stride, SG: t.subgroup, ACT, WH: p.halfWeights ? 1 : 0 } },
      uniforms: { tiles, tiles_w: tilesW, in_h: inp.h, in_w: inp.w, ci4, out_h: ph.out, out_w: pw.out, co4, pad_top: ph.before, pad_left: pw.before },
      storage: { x, w, b, y },
      workgroups: [...grid1d(ceilDiv(tiles, t.sgWg)), ceilDiv(co4, t.subgroup)],
    };
  }
  if (p.halfWeights) throw new Error(`${label}: float16 weights need the subgroup stem kernel`);
  return {
    label,
    kernel: { shader: 'conv3x3', constants: { WG: t.wg, ACT } },
    uniforms: { pixels, in_h: inp.h, in_w: inp.w, ci4, out_h: ph.out, out_w: pw.out, co4, stride, pad_top: ph.before, pad_left: pw.before },
    storage: { x, w, b, y },
    workgroups: [ceilDiv(pixels, t.wg), co4],
  };
}

export function depthwiseOp(p: LayerProblem, t: Tuning): OpDesc {
  const { label, shape: inp, stride, x, w, b, y } = p;
  const { ph, pw, pixels } = sameGeometry(inp, stride);
  const c4 = ceilDiv(inp.c, 4);
  const ACT = ACT_CODE[p.activation];
  if (t.dwTile > 0) return depthwiseTiledOp(p, t);
  if (t.subgroup > 0) {
    const cols = stride === 1 ? t.dwCols : t.dwCols2;
    const stripsW = ceilDiv(pw.out, cols);
    const rows = ceilDiv(ph.out, ceilDiv(ph.out, t.dwRows)); // equal strips, none much shorter
    const stripsH = ceilDiv(ph.out, rows);
    const strips = inp.n * stripsH * stripsW;
    return {
      label,
      kernel: { shader: 'depthwise3x3_rows', constants: { WG: t.dwWg, TC: cols, STRIDE: stride, ACT } },
      uniforms: { strips, strips_w: stripsW, strips_h: stripsH, rows, in_h: inp.h, in_w: inp.w, c4, out_h: ph.out, out_w: pw.out, pad_top: ph.before, pad_left: pw.before },
      storage: { x, w, b, y },
      workgroups: [...grid1d(strips), ceilDiv(c4, t.dwWg)],
    };
  }
  return {
    label,
    kernel: { shader: 'depthwise3x3', constants: { WG: t.wg, ACT } },
    uniforms: { pixels, in_h: inp.h, in_w: inp.w, c4, out_h: ph.out, out_w: pw.out, stride, pad_top: ph.before, pad_left: pw.before },
    storage: { x, w, b, y },
    workgroups: [ceilDiv(pixels, t.wg), c4],
  };
}

export interface PointwiseProblem {
  label: string;
  x: Binding;
  w: Binding;
  b: Binding;
  y: Binding;
  /** Pixels of the batch (N * H * W). */
  pixels: number;
  cin: number;
  cout: number;
  activation: Activation;
  /** `w` holds float16 pairs (subgroup and tiled kernels only; see Tuning.halfWeights). */
  halfWeights?: boolean;
}

export function pointwiseOp(p: PointwiseProblem, t: Tuning): OpDesc {
  const { label, pixels, x, w, b, y } = p;
  const co4 = ceilDiv(p.cout, 4);
  const uniforms = { pixels, ci4: ceilDiv(p.cin, 4), co4 };
  const ACT = ACT_CODE[p.activation];
  if (t.dwFuse > 0) throw new Error(`${label}: a pointwise layer fused with its depthwise runs as one op (depthwise-pointwise.ts), not alone`);
  if (t.gemm > 0) {
    const TX = 8;
    const TY = 8;
    return {
      label,
      kernel: { shader: 'pointwise_tiled', constants: { TX, TY, RP: t.gemmRP, RC: t.gemmRC, BK: t.gemm, ACT, WH: p.halfWeights ? 1 : 0 }, types: { WT: weightTileType(t, p.halfWeights) } },
      uniforms,
      storage: { x, w, b, y },
      workgroups: [...grid1d(ceilDiv(pixels, TY * t.gemmRP)), ceilDiv(co4, TX * t.gemmRC)],
    };
  }
  if (t.subgroup > 0) {
    return {
      label,
      kernel: { shader: 'pointwise_subgroup', constants: { WG: t.sgWg, TP: t.sgPixels, SG: t.subgroup, ACT, WH: p.halfWeights ? 1 : 0 } },
      uniforms,
      storage: { x, w, b, y },
      workgroups: [...grid1d(ceilDiv(pixels, t.sgWg * t.sgPixels)), ceilDiv(co4, t.subgroup)],
    };
  }
  if (p.halfWeights) throw new Error(`${label}: float16 weights need the subgroup or tiled pointwise kernel`);
  const tc = tileFor(co4, t.pwChannels);
  return {
    label,
    kernel: { shader: 'pointwise', constants: { WG: t.pwWg, TP: t.pwPixels, TC: tc, ACT } },
    uniforms,
    storage: { x, w, b, y },
    workgroups: [ceilDiv(pixels, t.pwWg * t.pwPixels), co4 / tc],
  };
}

export interface PoolProblem {
  x: Binding;
  /** [N, C] float32. */
  y: Binding;
  shape: ImageShape;
}

export function globalAvgPoolOp(p: PoolProblem, t: Tuning): OpDesc {
  const { h, w, c, n } = p.shape;
  const c4 = ceilDiv(c, 4);
  return {
    label: 'global_avg_pool',
    kernel: { shader: 'global_avg_pool', constants: { WG: t.wg } },
    uniforms: { hw: h * w, c4, channels: c, inv_hw: 1 / (h * w) },
    storage: { x: p.x, y: p.y },
    workgroups: [ceilDiv(c4, t.wg), n],
  };
}
