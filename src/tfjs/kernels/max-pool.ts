// MaxPool of a float32 NHWC tensor whose channels are a multiple of 4 (tfjs' layout is then
// the vec4 layout of shaders/max_pool.wgsl): BlazeFace's 2x2 stride-2 pools, which tfjs'
// own pooling kernel ran at about 11 ns per output on lavapipe (8% of a detection run).
import * as tf from '@tensorflow/tfjs-core';
import { maxPoolOp } from '../../kernels/pool.ts';
import type { Accelerated } from '../accelerated.ts';
import { floats, type ReplacingKernel } from '../kernel-args.ts';

export const maxPoolKernel: ReplacingKernel = ({ inputs, attrs }, acc: Accelerated) => {
  const x = inputs.x!;
  if (x.shape.length !== 4 || !floats(acc, x) || x.shape[3] % 4 !== 0) return null;
  const [n, h, w, c] = x.shape;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs!.filterSize as number | [number, number],
    attrs!.strides as number | [number, number],
    1,
    attrs!.pad as 'same' | 'valid' | number,
    attrs!.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  if (n * info.outHeight * info.outWidth * c === 0) return null;
  const { gpu } = acc;
  const out = gpu.output(info.outShape);
  const op = maxPoolOp({
    label: `max_pool ${info.filterHeight}x${info.filterWidth}/${info.strideHeight} ${c}`,
    x: gpu.buffer(x),
    y: gpu.buffer(out),
    shape: { n, h, w, c },
    out: { h: info.outHeight, w: info.outWidth },
    window: { h: info.filterHeight, w: info.filterWidth },
    stride: { h: info.strideHeight, w: info.strideWidth },
    pad: { top: info.padInfo.top, left: info.padInfo.left },
  });
  return gpu.runInto(op, out);
};
