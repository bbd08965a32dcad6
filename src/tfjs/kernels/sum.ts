// Sum over a run of adjacent axes on shaders/reduce_sum.wgsl, each output summed by one lane:
// the head's bias gradients. A reduction to very few outputs (a whole-tensor sum of a large
// tensor) would leave the device idle: tfjs' own parallel reduction takes those.
import * as tf from '@tensorflow/tfjs-core';
import { SUM_WG, sumOp } from '../../kernels/sum.ts';
import { floats, size, type ReplacingKernel } from '../kernel-args.ts';

export const sumKernel: ReplacingKernel = ({ inputs, attrs }, acc) => {
  const x = inputs.x!;
  if (!floats(acc, x)) return null;
  const axes = [...new Set(tf.util.parseAxisParam(attrs!.axis as number | number[], x.shape))].sort((a, b) => a - b);
  if (!axes.length || axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1)) return null;
  const [first, last] = [axes[0], axes[axes.length - 1]];
  const outer = size(x.shape.slice(0, first));
  const reduced = size(x.shape.slice(first, last + 1));
  const inner = size(x.shape.slice(last + 1));
  const outputs = outer * inner;
  if (outputs === 0 || reduced === 0 || (outputs < 64 && reduced > 4096)) return null;
  const outShape = attrs!.keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
  const { gpu } = acc;
  const out = gpu.output(outShape);
  gpu.run([sumOp({ outer, reduced, inner, x: gpu.buffer(x), out: gpu.buffer(out), groups: gpu.strideGroups(outputs, SUM_WG) })]);
  return out;
};
