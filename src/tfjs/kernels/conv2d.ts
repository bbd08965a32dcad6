// Conv2D and FusedConv2D: a 1x1, stride 1 convolution on the backbone's pointwise kernel
// (channels in fours, a device with subgroups) or as the product [pixels, ci] x [ci, co];
// any other NHWC, undilated convolution on shaders/conv2d*.wgsl (BlazeFace's 5x5 stem).
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Activation } from '../../kernels/common.ts';
import { conv2dOp } from '../../kernels/conv2d.ts';
import { denseView, matmulOp } from '../../kernels/matmul.ts';
import { pointwiseRowsOp } from '../../kernels/pointwise-rows.ts';
import type { Accelerated } from '../accelerated.ts';
import { columnBias, convInfo, floats, fusedConvolution, gridFits, plainConvolution, type ReplacingKernel } from '../kernel-args.ts';

function conv2d(x: TensorInfo, filter: TensorInfo, bias: TensorInfo | null, attrs: NamedAttrMap, acc: Accelerated, activation: Activation): TensorInfo | null {
  const info = convInfo(x, filter, attrs, false);
  if (!info || !floats(acc, x, filter, bias) || !columnBias(bias, info.outChannels)) return null;
  const { gpu, tiling } = acc;
  const pad = info.padInfo;
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  const [ci, co] = [info.inChannels, info.outChannels];
  const pointwise = info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 && pad.top + pad.left + pad.bottom + pad.right === 0;
  if (pointwise) return pointwiseConv(x, filter, bias, null, acc, activation);
  if (!gridFits(acc, pixels, co, 1)) return null;
  const out = gpu.output(info.outShape);
  gpu.run([
    conv2dOp(
      {
        n: info.batchSize,
        inH: info.inHeight,
        inW: info.inWidth,
        cin: ci,
        outH: info.outHeight,
        outW: info.outWidth,
        cout: co,
        kh: info.filterHeight,
        kw: info.filterWidth,
        strideH: info.strideHeight,
        strideW: info.strideWidth,
        padTop: pad.top,
        padLeft: pad.left,
        x: gpu.buffer(x),
        w: gpu.buffer(filter),
        bias: bias ? gpu.buffer(bias) : undefined,
        out: gpu.buffer(out),
        activation,
      },
      tiling,
    ),
  ]);
  return out;
}

/**
 * A 1x1, stride 1 convolution of NHWC `x` as the product [pixels, ci] x [ci, co], with bias,
 * an optional residual (a tensor of the output's shape) and the activation fused; null when
 * the tensors are not float32 or do not fit.
 */
export function pointwiseConv(x: TensorInfo, filter: TensorInfo, bias: TensorInfo | null, residual: TensorInfo | null, acc: Accelerated, activation: Activation): TensorInfo | null {
  const [fh, fw, ci, co] = filter.shape;
  if (x.shape.length !== 4 || fh !== 1 || fw !== 1 || x.shape[3] !== ci) return null;
  if (!floats(acc, x, filter, bias, residual) || !columnBias(bias, co)) return null;
  const [n, h, w] = x.shape;
  const outShape = [n, h, w, co];
  if (residual && residual.shape.join() !== outShape.join()) return null;
  const pixels = n * h * w;
  if (pixels === 0 || !gridFits(acc, pixels, co, 1)) return null;
  const { gpu, tuning } = acc;
  const out = gpu.output(outShape);
  if (tuning.subgroup > 0 && ci % 4 === 0 && co % 4 === 0) {
    // The backbone's pointwise core reading tfjs' filter as it is stored (vec4 loads and
    // stores per lane): BlazeFace's fifteen 24-channel layers took 336 ms per batch of 16 on
    // it against 484 ms on matmul_subgroup.wgsl (lavapipe, one run each).
    const op = pointwiseRowsOp(
      {
        label: `pointwise ${ci}->${co}`,
        x: gpu.buffer(x),
        w: gpu.buffer(filter),
        b: bias ? gpu.buffer(bias) : gpu.zeros(co * 4),
        y: gpu.buffer(out),
        pixels,
        cin: ci,
        cout: co,
        activation,
        residual: residual ? gpu.buffer(residual) : undefined,
      },
      tuning,
    );
    gpu.run([op]);
    return out;
  }
  gpu.run([
    matmulOp(
      {
        batch: 1,
        m: pixels,
        n: co,
        k: ci,
        a: denseView(gpu.buffer(x), pixels, ci, false, false),
        b: denseView(gpu.buffer(filter), ci, co, false, false),
        out: gpu.buffer(out),
        bias: bias ? gpu.buffer(bias) : undefined,
        residual: residual ? gpu.buffer(residual) : undefined,
        activation,
      },
      acc.tiling,
    ),
  ]);
  return out;
}

export const conv2dKernel: ReplacingKernel = plainConvolution(conv2d);
export const fusedConv2dKernel: ReplacingKernel = fusedConvolution(conv2d);
