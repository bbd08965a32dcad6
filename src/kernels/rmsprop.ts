// The op description of shaders/rmsprop.wgsl (four values per lane) or rmsprop_scalar.wgsl:
// one RMSprop step of a variable, new value and new mean square written to new buffers.
import type { Binding, OpDesc } from '../gpu/runner.ts';

export interface RmspropProblem {
  /** Values of the variable. */
  size: number;
  lr: number;
  rho: number;
  eps: number;
  value: Binding;
  ms: Binding;
  grad: Binding;
  newValue: Binding;
  newMs: Binding;
  /** Workgroups for `lanes` lanes (see rmspropLanes), from TfjsGpu.strideGroups. */
  groups: (lanes: number, wg: number) => number;
}

const WG = 64;

export function rmspropOp(p: RmspropProblem): OpDesc {
  // Four values per lane where the size allows (a lane's loads cost per load on a CPU driver).
  const vec4 = p.size % 4 === 0;
  const lanes = vec4 ? p.size / 4 : p.size;
  return {
    label: `rmsprop ${p.size}`,
    kernel: { shader: vec4 ? 'rmsprop' : 'rmsprop_scalar', constants: { WG } },
    uniforms: { size: lanes, lr: p.lr, rho: p.rho, one_minus_rho: 1 - p.rho, eps: p.eps },
    storage: { value: p.value, ms: p.ms, grad: p.grad, new_value: p.newValue, new_ms: p.newMs },
    workgroups: [p.groups(lanes, WG)],
  };
}
