// Pooling ops. shaders/global_avg_pool.wgsl: the engine's last op, the mean of each channel
// over an image's pixels, written as [N, C] float32 (the descriptor); one invocation per
// channel group of an image. shaders/max_pool.wgsl: max pooling of an NHWC tensor whose
// channels come in fours, for tfjs (BlazeFace's pools, src/tfjs/kernels/max-pool.ts).
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

export interface MaxPoolProblem {
  label: string;
  /** [N, H, W, C/4] vec4 in, [N, OH, OW, C/4] vec4 out. */
  x: Binding;
  y: Binding;
  shape: ImageShape;
  out: { h: number; w: number };
  window: { h: number; w: number };
  stride: { h: number; w: number };
  /** Padding before the first row and column (TensorFlow's, from the caller). */
  pad: { top: number; left: number };
}

/** Workgroup size of max_pool: lanes along an output row. */
const MAX_POOL_WG = 64;

export function maxPoolOp(p: MaxPoolProblem): OpDesc {
  const { n, h, w, c } = p.shape;
  if (c % 4 !== 0) throw new Error(`${p.label}: max_pool takes channels in fours, got ${c}`);
  const c4 = c / 4;
  return {
    label: p.label,
    kernel: { shader: 'max_pool', constants: { WG: MAX_POOL_WG } },
    uniforms: {
      row4: p.out.w * c4,
      c4,
      h,
      w,
      oh: p.out.h,
      ow: p.out.w,
      fh: p.window.h,
      fw: p.window.w,
      sh: p.stride.h,
      sw: p.stride.w,
      top: p.pad.top,
      left: p.pad.left,
    },
    storage: { x: p.x, y: p.y },
    workgroups: [ceilDiv(p.out.w * c4, MAX_POOL_WG), p.out.h, n],
  };
}
