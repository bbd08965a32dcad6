// The op description of shaders/reduce_sum.wgsl: a sum over the middle axis of
// [outer, reduced, inner], each output summed by one lane, in a grid-stride loop.
import type { Binding, OpDesc } from '../gpu/runner.ts';

export interface SumProblem {
  /** x as [outer, reduced, inner], summed over the middle axis into out [outer, inner]. */
  outer: number;
  reduced: number;
  inner: number;
  x: Binding;
  out: Binding;
  /** Workgroups of the grid-stride loop. */
  groups: number;
}

/** Workgroup size of the grid-stride loop. */
export const SUM_WG = 64;

export function sumOp(p: SumProblem): OpDesc {
  return {
    label: `sum ${p.outer}x${p.reduced}x${p.inner}`,
    kernel: { shader: 'reduce_sum', constants: { WG: SUM_WG } },
    uniforms: { outputs: p.outer * p.inner, reduced: p.reduced, inner: p.inner },
    storage: { x: p.x, out: p.out },
    workgroups: [p.groups],
  };
}
