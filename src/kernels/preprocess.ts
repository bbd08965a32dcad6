// The op description of shaders/preprocess.wgsl: the engine's first op, packed 8-bit RGB
// turned into the backbone's float input (vec4 per pixel, RGB and 0), scaled and offset as
// the backbone's manifest says. One invocation per pixel.
import type { Binding, OpDesc } from '../gpu/runner.ts';
import { ceilDiv, grid1d, type Tuning } from './common.ts';

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
