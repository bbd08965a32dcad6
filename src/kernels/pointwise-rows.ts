// The op description of shaders/pointwise_rows_subgroup.wgsl: TensorFlow.js' 1x1, stride 1
// convolutions (src/tfjs/kernels/conv2d.ts) on the backbone's subgroup pointwise core,
// reading tfjs' filter as stored (a row-major [ci, co] float32 matrix) and adding an optional
// residual before the activation (BlazeFace's residual joins).
import type { Binding, OpDesc } from '../gpu/runner.ts';
import type { PointwiseProblem } from './pointwise.ts';
import { ACT_CODE, ceilDiv, grid1d, type Tuning } from './common.ts';

/**
 * The backbone's pointwise problem with `w` the float32 matrix [cin, cout] row by row, channel
 * counts multiples of 4 (x, b, y are then tfjs' NHWC tensors as they are).
 */
export interface PointwiseRowsProblem extends Omit<PointwiseProblem, 'halfWeights'> {
  /** Added before the activation, laid out as y (a residual join), or none. */
  residual?: Binding;
}

/** The kernel exists only with subgroups (Tuning.subgroup > 0). */
export function pointwiseRowsOp(p: PointwiseRowsProblem, t: Tuning): OpDesc {
  if (t.subgroup === 0) throw new Error(`${p.label}: the row-major pointwise kernel needs subgroups`);
  if (p.cin % 4 !== 0 || p.cout % 4 !== 0) throw new Error(`${p.label}: row-major weights need channel counts that are multiples of 4 (${p.cin} -> ${p.cout})`);
  const co4 = p.cout / 4;
  return {
    label: p.label,
    kernel: { shader: 'pointwise_rows_subgroup', constants: { WG: t.sgWg, TP: t.sgPixels, SG: t.subgroup, ACT: ACT_CODE[p.activation], HAS_RES: p.residual ? 1 : 0 } },
    uniforms: { pixels: p.pixels, ci4: p.cin / 4, co4 },
    storage: { x: p.x, w: p.w, b: p.b, y: p.y, res: p.residual ?? null },
    workgroups: [...grid1d(ceilDiv(p.pixels, t.sgWg * t.sgPixels)), ceilDiv(co4, t.subgroup)],
  };
}
