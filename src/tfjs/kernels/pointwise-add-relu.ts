// FacegpuPointwiseAddRelu (ours): relu(1x1 conv + bias + residual), BlazeFace's residual
// joins fused into the convolution before them (src/tfjs/fused-ops.ts, src/detect/fuse.ts).
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { OwnKernel } from '../kernel-args.ts';
import { POINTWISE_ADD_RELU } from '../kernel-names.ts';
import { pointwiseConv } from './conv2d.ts';

export const pointwiseAddReluKernel: OwnKernel = ({ inputs }, acc) => {
  const { x, filter, bias, residual } = inputs as Record<'x' | 'filter' | 'bias' | 'residual', TensorInfo>;
  const out = pointwiseConv(x, filter, bias, residual, acc, 'relu');
  if (!out) throw new Error(`${POINTWISE_ADD_RELU}: not a float32 1x1 convolution of [${x.shape}] by [${filter.shape}] plus [${residual.shape}]`);
  return out;
};
