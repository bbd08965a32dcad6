// FacegpuRmsprop (ours): inputs value, ms (mean square) and grad of one variable, attrs lr,
// rho, eps; outputs the new value and the new mean square, from shaders/rmsprop.wgsl (or
// rmsprop_scalar.wgsl). Called by FusedRmsprop (src/tfjs/rmsprop.ts).
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { rmspropOp } from '../../kernels/rmsprop.ts';
import type { OwnKernel } from '../kernel-args.ts';
import { RMSPROP_KERNEL } from '../kernel-names.ts';

export const rmspropKernel: OwnKernel = ({ inputs, attrs }, { gpu }) => {
  const { value, ms, grad } = inputs as Record<'value' | 'ms' | 'grad', TensorInfo>;
  const shape = value.shape;
  for (const [name, t] of [['ms', ms], ['grad', grad]] as const) {
    if (t.shape.join() !== shape.join() || t.dtype !== 'float32') throw new Error(`${RMSPROP_KERNEL}: ${name} is ${t.dtype} [${t.shape}], the variable float32 [${shape}]`);
  }
  const newValue = gpu.output([...shape]);
  const newMs = gpu.output([...shape]);
  gpu.run([
    rmspropOp({
      size: shape.reduce((p, d) => p * d, 1),
      lr: attrs!.lr as number,
      rho: attrs!.rho as number,
      eps: attrs!.eps as number,
      value: gpu.buffer(value),
      ms: gpu.buffer(ms),
      grad: gpu.buffer(grad),
      newValue: gpu.buffer(newValue),
      newMs: gpu.buffer(newMs),
      groups: (lanes, wg) => gpu.strideGroups(lanes, wg),
    }),
  ]);
  return [newValue, newMs];
};
