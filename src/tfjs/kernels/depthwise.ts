// DepthwiseConv2dNative and FusedDepthwiseConv2D, 3x3 (channel multiplier 1, stride 1 or 2,
// TF "SAME" padding) on the backbone's kernel. Its activations are [N, H, W, ceil(C/4)] vec4
// and its taps [3, 3, C/4] vec4, which are exactly tfjs' NHWC tensor and [3, 3, C, 1] filter
// when C is a multiple of 4.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { depthwiseOp } from '../../kernels/depthwise.ts';
import type { Activation } from '../../kernels/common.ts';
import type { Accelerated } from '../accelerated.ts';
import { columnBias, convInfo, floats, fusedConvolution, plainConvolution, type ReplacingKernel } from '../kernel-args.ts';

function depthwise3x3(x: TensorInfo, filter: TensorInfo, bias: TensorInfo | null, attrs: NamedAttrMap, acc: Accelerated, activation: Activation): TensorInfo | null {
  const info = convInfo(x, filter, attrs, true);
  if (!info || !floats(acc, x, filter, bias)) return null;
  const [fh, fw, c, multiplier] = filter.shape;
  const stride = info.strideHeight;
  if (fh !== 3 || fw !== 3 || multiplier !== 1 || c % 4 !== 0 || stride !== info.strideWidth || (stride !== 1 && stride !== 2)) return null;
  if (attrs.pad !== 'same' || !columnBias(bias, c)) return null;
  const { gpu } = acc;
  const out = gpu.output(info.outShape);
  const [n, h, w] = x.shape;
  const op = depthwiseOp(
    { label: `depthwise 3x3/${stride} ${c}`, x: gpu.buffer(x), w: gpu.buffer(filter), b: bias ? gpu.buffer(bias) : gpu.zeros(c * 4), y: gpu.buffer(out), shape: { n, h, w, c }, stride, activation },
    acc.tuning,
  );
  return gpu.runInto(op, out);
}

export const depthwiseKernel: ReplacingKernel = plainConvolution(depthwise3x3);
export const fusedDepthwiseKernel: ReplacingKernel = fusedConvolution(depthwise3x3);
