// The op description of shaders/elementwise.wgsl: Add, Relu, Step, Multiply of float32
// tensors of one shape, four values per lane, in a grid-stride loop.
import type { Binding, OpDesc } from '../gpu/runner.ts';

/** The OP constant of shaders/elementwise.wgsl. */
export enum ElementwiseOp {
  Add = 0,
  Relu = 1,
  Step = 2,
  Multiply = 3,
}

export interface ElementwiseProblem {
  op: ElementwiseOp;
  /** Values in each of a, b and out (a multiple of 4). */
  size: number;
  a: Binding;
  /** The second operand of Add and Multiply; none for Relu and Step. */
  b?: Binding;
  out: Binding;
  /** Step's value where a <= 0. */
  alpha?: number;
  /** Workgroups of the grid-stride loop. */
  groups: number;
}

/** Workgroup size of the grid-stride loop. */
export const ELEMENTWISE_WG = 64;

export function elementwiseOp(p: ElementwiseProblem): OpDesc {
  return {
    label: `elementwise ${ElementwiseOp[p.op]}`,
    kernel: { shader: 'elementwise', constants: { WG: ELEMENTWISE_WG, OP: p.op } },
    uniforms: { size4: p.size / 4, alpha: p.alpha ?? 0 },
    storage: { a: p.a, b: p.b ?? null, out: p.out },
    workgroups: [p.groups],
  };
}
