// BatchMatMul and _FusedMatMul (bias; linear, relu, relu6) on shaders/matmul*.wgsl: the
// head's dense layers, forward and in their gradients.
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Activation } from '../../kernels/common.ts';
import { denseView, matmulOp } from '../../kernels/matmul.ts';
import type { Accelerated } from '../accelerated.ts';
import { columnBias, floats, fusedActivation, gridFits, size, type ReplacingKernel } from '../kernel-args.ts';

function batchMatMul(a: TensorInfo, b: TensorInfo, attrs: NamedAttrMap, acc: Accelerated, bias: TensorInfo | null, activation: Activation): TensorInfo | null {
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  if (!floats(acc, a, b, bias) || a.shape.length < 2 || b.shape.length < 2) return null;
  const [ra, ca] = a.shape.slice(-2);
  const [rb, cb] = b.shape.slice(-2);
  const [m, k] = transposeA ? [ca, ra] : [ra, ca];
  const [kb, n] = transposeB ? [cb, rb] : [rb, cb];
  if (k !== kb || !columnBias(bias, n)) return null;
  // Batches: equal, or one side a single matrix broadcast over the other's.
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const [batchA, batchB] = [size(outerA), size(outerB)];
  let outer: number[];
  if (batchA === batchB && outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i])) outer = outerA;
  else if (batchA === 1 || batchB === 1) outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  else return null;
  const batch = Math.max(batchA, batchB);
  if (m * n === 0 || k === 0 || !gridFits(acc, m, n, batch)) return null;
  const { gpu } = acc;
  const out = gpu.output([...outer, m, n]);
  gpu.run([
    matmulOp(
      {
        batch,
        m,
        n,
        k,
        a: denseView(gpu.buffer(a), ra, ca, transposeA, batchA === 1 && batch > 1),
        b: denseView(gpu.buffer(b), rb, cb, transposeB, batchB === 1 && batch > 1),
        out: gpu.buffer(out),
        bias: bias ? gpu.buffer(bias) : undefined,
        activation,
      },
      acc.tiling,
    ),
  ]);
  return out;
}

export const batchMatMulKernel: ReplacingKernel = ({ inputs, attrs }, acc) => batchMatMul(inputs.a!, inputs.b!, attrs!, acc, null, 'none');

export const fusedMatMulKernel: ReplacingKernel = ({ inputs, attrs }, acc) => {
  const { a, b, bias, preluActivationWeights } = inputs;
  const activation = fusedActivation(attrs!, preluActivationWeights);
  return activation ? batchMatMul(a!, b!, attrs!, acc, bias ?? null, activation) : null;
};
