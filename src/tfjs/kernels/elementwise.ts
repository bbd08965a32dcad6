// Add, Multiply (same shapes), Relu and Step of float32 tensors on shaders/elementwise.wgsl:
// BlazeFace's residual joins, the head's relu gradients.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { ELEMENTWISE_WG, ElementwiseOp, elementwiseOp } from '../../kernels/elementwise.ts';
import type { Accelerated } from '../accelerated.ts';
import { floats, size, type ReplacingKernel } from '../kernel-args.ts';

/** An element-wise op of one or two float32 tensors of one shape, a multiple of 4 values. */
function elementwise(op: ElementwiseOp, a: TensorInfo, b: TensorInfo | null, acc: Accelerated, alpha = 0): TensorInfo | null {
  if (!floats(acc, a, b) || (b && a.shape.join() !== b.shape.join())) return null;
  const n = size(a.shape);
  if (n === 0 || n % 4 !== 0) return null;
  const { gpu } = acc;
  const out = gpu.output([...a.shape]);
  gpu.run([elementwiseOp({ op, size: n, a: gpu.buffer(a), b: b ? gpu.buffer(b) : undefined, out: gpu.buffer(out), alpha, groups: gpu.strideGroups(n / 4, ELEMENTWISE_WG) })]);
  return out;
}

export const addKernel: ReplacingKernel = ({ inputs }, acc) => elementwise(ElementwiseOp.Add, inputs.a!, inputs.b!, acc);
export const multiplyKernel: ReplacingKernel = ({ inputs }, acc) => elementwise(ElementwiseOp.Multiply, inputs.a!, inputs.b!, acc);
export const reluKernel: ReplacingKernel = ({ inputs }, acc) => elementwise(ElementwiseOp.Relu, inputs.x!, null, acc);
export const stepKernel: ReplacingKernel = ({ inputs, attrs }, acc) => elementwise(ElementwiseOp.Step, inputs.x!, null, acc, (attrs?.alpha as number | undefined) ?? 0);
