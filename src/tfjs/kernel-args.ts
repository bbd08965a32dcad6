// What the kernels of src/tfjs/kernels/ check of their arguments before taking a case, and
// the shapes they derive: a case that fails a check goes to tfjs' own kernel.
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Activation } from '../kernels/common.ts';
import type { Accelerated } from './accelerated.ts';

/** A kernel's arguments as tfjs passes them. */
export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  attrs?: NamedAttrMap;
}

/** One of our kernels in place of tfjs' own: null hands the case to the original. */
export type ReplacingKernel = (args: KernelArgs, acc: Accelerated) => TensorInfo | TensorInfo[] | null;
/** A kernel of our own (no tfjs original): it takes every case or throws. */
export type OwnKernel = (args: KernelArgs, acc: Accelerated) => TensorInfo | TensorInfo[];

/** A convolution of ours: null where it does not take the case. */
type Convolution = (x: TensorInfo, filter: TensorInfo, bias: TensorInfo | null, attrs: NamedAttrMap, acc: Accelerated, activation: Activation) => TensorInfo | null;

/** The kernel of a plain convolution (Conv2D, DepthwiseConv2dNative): no bias, no activation. */
export const plainConvolution = (conv: Convolution): ReplacingKernel => ({ inputs, attrs }, acc) => conv(inputs.x!, inputs.filter!, null, attrs!, acc, 'none');

/** The kernel of a fused convolution (FusedConv2D, FusedDepthwiseConv2D): bias and an activation of ours, else tfjs'. */
export const fusedConvolution = (conv: Convolution): ReplacingKernel => ({ inputs, attrs }, acc) => {
  const { x, filter, bias, preluActivationWeights } = inputs;
  const activation = fusedActivation(attrs!, preluActivationWeights);
  return activation ? conv(x!, filter!, bias ?? null, attrs!, acc, activation) : null;
};

/** tfjs' fused activations that our kernels apply (tfjs calls none 'linear'). */
const ACTIVATIONS: Record<string, Activation> = { linear: 'none', relu: 'relu', relu6: 'relu6' };

/** The fused activation of a _Fused* kernel, or null when ours has none like it. */
export function fusedActivation(attrs: NamedAttrMap, prelu: TensorInfo | undefined): Activation | null {
  if (prelu) return null;
  return ACTIVATIONS[(attrs.activation as string | undefined) ?? 'linear'] ?? null;
}

export const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Whether every given tensor's data is float32 (see TfjsGpu.holdsFloat32). */
export const floats = (acc: Accelerated, ...ts: (TensorInfo | null | undefined)[]) => ts.every((t) => !t || acc.gpu.holdsFloat32(t));

/** A bias our kernel can add: n values along the output's last dimension. */
export const columnBias = (bias: TensorInfo | null | undefined, n: number) => !bias || (size(bias.shape) === n && bias.shape[bias.shape.length - 1] === n);

/** Whether a product's grid (rows x cols, batch) fits the device at the matmul tiling. */
export function gridFits(acc: Accelerated, rows: number, cols: number, batch: number): boolean {
  const max = acc.gpu.backend.device.limits.maxComputeWorkgroupsPerDimension;
  const [big, small] = rows >= cols ? [rows, cols] : [cols, rows];
  return Math.ceil(big / (acc.tiling.wg * acc.tiling.ti)) <= max && Math.ceil(small / acc.tiling.tj) <= max && batch <= max;
}

const allOnes = (v: unknown) => (Array.isArray(v) ? v.every((d) => d === 1) : v === 1 || v == null);

/** Shapes, strides and padding of a convolution, or null when it is not NHWC and undilated. */
export function convInfo(x: TensorInfo, filter: TensorInfo, attrs: NamedAttrMap, depthwise: boolean): tf.backend_util.Conv2DInfo | null {
  if (x.shape.length !== 4 || filter.shape.length !== 4) return null;
  if (attrs.dataFormat != null && attrs.dataFormat !== 'NHWC') return null;
  if (!allOnes(attrs.dilations)) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
  );
  return info.outHeight * info.outWidth * info.batchSize * info.outChannels > 0 ? info : null;
}
