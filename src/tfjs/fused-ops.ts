// Ops that fuse several of tfjs' kernels into one of ours, for graphs rewritten to use them
// (src/detect/fuse.ts). On a backend without our kernels they are the tfjs ops they replace.
import * as tf from '@tensorflow/tfjs-core';
import { acceleratedGpu } from './accelerated.ts';
import { POINTWISE_ADD_RELU } from './kernel-names.ts';

export { POINTWISE_ADD_RELU };

/**
 * relu(x * filter + bias + residual) for a 1x1, stride 1 convolution of NHWC `x`: a residual
 * block's last convolution, its join with the skip path and the activation after it, in one
 * kernel of ours (three passes over the activations in tfjs: the convolution, Add, Relu).
 */
export function pointwiseAddRelu(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, residual: tf.Tensor4D): tf.Tensor4D {
  const gpu = acceleratedGpu(tf.backend());
  const fits =
    filter.shape[0] === 1 && filter.shape[1] === 1 && filter.shape[2] === x.shape[3] &&
    residual.shape.join() === [...x.shape.slice(0, 3), filter.shape[3]].join();
  if (gpu && fits && [x, filter, bias, residual].every((t) => gpu.holdsFloat32(t))) {
    return tf.engine().runKernel(POINTWISE_ADD_RELU, { x, filter, bias, residual }, {}) as tf.Tensor4D;
  }
  return tf.tidy(() => tf.relu(tf.add(tf.fused.conv2d({ x, filter, strides: 1, pad: 'valid', bias }), residual)));
}
