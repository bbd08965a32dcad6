// The op description of shaders/global_avg_pool.wgsl: the engine's last op, the mean of each
// channel over an image's pixels, written as [N, C] float32 (the descriptor). One invocation
// per channel group of an image.
import type { Binding, OpDesc } from '../gpu/runner.ts';
import { ceilDiv, type ImageShape, type Tuning } from './common.ts';

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
