// Our WGSL kernels registered in TensorFlow.js' kernel registry for its WebGPU backend, so
// that the work tfjs does next to the backbone runs on them:
//
// - BatchMatMul and _FusedMatMul: the head's dense layers, forward and in their gradients;
// - FusedConv2D / Conv2D: with a 1x1 filter (36 of the face detector's 37 convolutions) the
//   backbone's pointwise kernel (channels in fours, a device with subgroups) or a matrix
//   product; else shaders/conv2d.wgsl (its 5x5 stem);
// - DepthwiseConv2dNative / FusedDepthwiseConv2D, 3x3: our backbone's depthwise kernel;
// - Add, Relu, Step and Multiply of float32 tensors of one shape: the detector's residual
//   joins, the head's relu gradients;
// - Sum over adjacent axes: the head's bias gradients;
// - FacegpuRmsprop: a one-pass RMSprop update (src/tfjs/rmsprop.ts);
// - FacegpuPointwiseAddRelu: relu(1x1 conv + bias + residual), the detector's residual joins
//   fused into the convolution before them (src/tfjs/fused-ops.ts, src/detect/fuse.ts).
//
// tfjs' own WebGPU kernels do these products at ~1.6 GFLOP/s on lavapipe, several times
// slower than ours (src/tfjs/README.md). Registration is per kernel name for every WebGPU
// backend, but only backends passed to `accelerateTfjs` use our kernels: the benchmark's
// tfjs-webgpu baseline stays tfjs' own. Cases our kernels do not cover (another activation,
// a general broadcast, a strided or dilated convolution) go to the kernel tfjs registered,
// by an explicit test of the arguments in each kernel below.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { ShaderSources } from '../gpu/runner.ts';
import { TfjsGpu } from './bridge.ts';
import { denseView, matmulOp, matmulTilingFor, type MatmulTiling } from './matmul.ts';
import { conv2dOp } from './conv2d.ts';
import type { Activation } from '../weights/spec.ts';
import { ACT_CODE, depthwiseOp, pointwiseOp, tuningFor, type Tuning } from '../mobilenet/ops.ts';
import { RMSPROP_KERNEL, rmspropKernel } from './rmsprop-kernel.ts';
import { POINTWISE_ADD_RELU } from './fused-ops.ts';

const BACKEND = 'webgpu';

interface Accelerated {
  gpu: TfjsGpu;
  tiling: MatmulTiling;
  /** The backbone's tuning, for its depthwise kernel. */
  tuning: Tuning;
}

const accelerated = new WeakMap<object, Accelerated>();
/** Our kernels are in tfjs' registry (once per process; tfjs' own are kept in closures). */
let registered = false;

/**
 * Run tfjs' products and the head's optimizer on our kernels for this backend (which must
 * be tfjs' WebGPU backend on the device our shaders run on). Idempotent. Returns the bridge,
 * whose dispatch count shows that our kernels ran.
 */
export function accelerateTfjs(backend: WebGPUBackend, shaders: ShaderSources): TfjsGpu {
  const have = accelerated.get(backend);
  if (have) return have.gpu;
  registerOnce();
  const gpu = new TfjsGpu(backend, shaders);
  accelerated.set(backend, { gpu, tiling: matmulTilingFor(backend.device), tuning: tuningFor(backend.device) });
  return gpu;
}

/** The bridge of an accelerated backend, or null. */
export function acceleratedGpu(backend: unknown): TfjsGpu | null {
  return backend ? (accelerated.get(backend as object)?.gpu ?? null) : null;
}

type Ours = (args: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }, acc: Accelerated) => TensorInfo | TensorInfo[] | null;

function registerOnce(): void {
  if (registered) return;
  registered = true;
  const replace = (kernelName: string, ours: Ours) => {
    const original = tf.getKernel(kernelName, BACKEND);
    if (!original) throw new Error(`tfjs' ${BACKEND} backend has no ${kernelName} kernel to replace (tfjs-backend-webgpu not loaded?)`);
    const kernelFunc: KernelFunc = (args) => {
      const acc = accelerated.get(args.backend as object);
      return (acc && ours(args, acc)) ?? original.kernelFunc(args);
    };
    tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({ ...original, kernelFunc });
  };
  replace('BatchMatMul', (args, acc) => batchMatMul(args.inputs.a!, args.inputs.b!, args.attrs!, acc, null, 'none'));
  replace('_FusedMatMul', (args, acc) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const activation = fusedActivation(args.attrs!, preluActivationWeights);
    return activation ? batchMatMul(a!, b!, args.attrs!, acc, bias ?? null, activation) : null;
  });
  replace('FusedConv2D', (args, acc) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const activation = fusedActivation(args.attrs!, preluActivationWeights);
    return activation ? conv2d(x!, filter!, bias ?? null, args.attrs!, acc, activation) : null;
  });
  replace('Conv2D', (args, acc) => conv2d(args.inputs.x!, args.inputs.filter!, null, args.attrs!, acc, 'none'));
  replace('FusedDepthwiseConv2D', (args, acc) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const activation = fusedActivation(args.attrs!, preluActivationWeights);
    return activation ? depthwise3x3(x!, filter!, bias ?? null, args.attrs!, acc, activation) : null;
  });
  replace('DepthwiseConv2dNative', (args, acc) => depthwise3x3(args.inputs.x!, args.inputs.filter!, null, args.attrs!, acc, 'none'));
  replace('Add', (args, acc) => elementwise(ElementwiseOp.Add, args.inputs.a!, args.inputs.b!, acc));
  replace('Relu', (args, acc) => elementwise(ElementwiseOp.Relu, args.inputs.x!, null, acc));
  replace('Step', (args, acc) => elementwise(ElementwiseOp.Step, args.inputs.x!, null, acc, (args.attrs?.alpha as number | undefined) ?? 0));
  replace('Multiply', (args, acc) => elementwise(ElementwiseOp.Multiply, args.inputs.a!, args.inputs.b!, acc));
  replace('Sum', (args, acc) => reduceSum(args.inputs.x!, args.attrs!, acc));
  // Kernels of our own, with no tfjs original: only reached through the ops that call them
  // (src/tfjs/fused-ops.ts, src/tfjs/rmsprop.ts), which check the backend first.
  const ours = (kernelName: string, run: (args: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }, acc: Accelerated) => TensorInfo | TensorInfo[]) =>
    tf.registerKernel({
      kernelName,
      backendName: BACKEND,
      kernelFunc: (args) => {
        const acc = accelerated.get(args.backend as object);
        if (!acc) throw new Error(`${kernelName} runs only on a backend set up with accelerateTfjs`);
        return run(args, acc);
      },
    });
  ours(POINTWISE_ADD_RELU, (args, acc) => {
    const { x, filter, bias, residual } = args.inputs as Record<'x' | 'filter' | 'bias' | 'residual', TensorInfo>;
    const out = pointwiseConv(x, filter, bias, residual, acc, 'relu');
    if (!out) throw new Error(`${POINTWISE_ADD_RELU}: not a float32 1x1 convolution of [${x.shape}] by [${filter.shape}] plus [${residual.shape}]`);
    return out;
  });
  ours(RMSPROP_KERNEL, (args, acc) => rmspropKernel(args.inputs, args.attrs!, acc.gpu));
}

/** tfjs' fused activations that our kernels apply (tfjs calls none 'linear'). */
const ACTIVATIONS: Record<string, Activation> = { linear: 'none', relu: 'relu', relu6: 'relu6' };

function fusedActivation(attrs: NamedAttrMap, prelu: TensorInfo | undefined): Activation | null {
  if (prelu) return null;
  return ACTIVATIONS[(attrs.activation as string | undefined) ?? 'linear'] ?? null;
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Whether every given tensor's data is float32 (see TfjsGpu.holdsFloat32). */
const floats = (acc: Accelerated, ...ts: (TensorInfo | null)[]) => ts.every((t) => !t || acc.gpu.holdsFloat32(t));

/** A bias our kernel can add: n values along the output's last dimension. */
const columnBias = (bias: TensorInfo | null, n: number) => !bias || (size(bias.shape) === n && bias.shape[bias.shape.length - 1] === n);

function gridFits(acc: Accelerated, rows: number, cols: number, batch: number): boolean {
  const max = acc.gpu.backend.device.limits.maxComputeWorkgroupsPerDimension;
  const [big, small] = rows >= cols ? [rows, cols] : [cols, rows];
  return Math.ceil(big / (acc.tiling.wg * acc.tiling.ti)) <= max && Math.ceil(small / acc.tiling.tj) <= max && batch <= max;
}

function batchMatMul(
  a: TensorInfo,
  b: TensorInfo,
  attrs: NamedAttrMap,
  acc: Accelerated,
  bias: TensorInfo | null,
  activation: Activation,
): TensorInfo | null {
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

const allOnes = (v: unknown) => (Array.isArray(v) ? v.every((d) => d === 1) : v === 1 || v == null);

/** Shapes, strides and padding of a convolution, or null when it is not NHWC and undilated. */
function convInfo(x: TensorInfo, filter: TensorInfo, attrs: NamedAttrMap, depthwise: boolean): tf.backend_util.Conv2DInfo | null {
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

/**
 * A convolution: as a product [pixels, ci] x [ci, co] when the filter is 1x1 with stride 1
 * and no padding, else with the general convolution kernel.
 */
function conv2d(
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | null,
  attrs: NamedAttrMap,
  acc: Accelerated,
  activation: Activation,
): TensorInfo | null {
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
function pointwiseConv(
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | null,
  residual: TensorInfo | null,
  acc: Accelerated,
  activation: Activation,
): TensorInfo | null {
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
    // The backbone's pointwise kernel, reading tfjs' filter as it is stored (vec4 loads and
    // stores per lane): BlazeFace's fifteen 24-channel layers took 336 ms per batch of 16 on
    // it against 484 ms on matmul_subgroup.wgsl (lavapipe, one run each).
    const op = pointwiseOp(`pointwise ${ci}->${co}`, gpu.buffer(x), gpu.buffer(filter), bias ? gpu.buffer(bias) : gpu.zeros(co * 4), gpu.buffer(out), pixels, ci, co, activation, tuning, false, {
      rowMajorWeights: true,
      residual: residual ? gpu.buffer(residual) : undefined,
    });
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

/**
 * A 3x3 depthwise convolution (channel multiplier 1, stride 1 or 2, TF "SAME" padding) on the
 * backbone's kernel. Its activations are [N, H, W, ceil(C/4)] vec4 and its taps [3, 3, C/4]
 * vec4, which are exactly tfjs' NHWC tensor and [3, 3, C, 1] filter when C is a multiple of 4.
 */
function depthwise3x3(
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | null,
  attrs: NamedAttrMap,
  acc: Accelerated,
  activation: Activation,
): TensorInfo | null {
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
    `depthwise 3x3/${stride} ${c}`,
    gpu.buffer(x),
    gpu.buffer(filter),
    bias ? gpu.buffer(bias) : gpu.zeros(c * 4),
    gpu.buffer(out),
    { n, h, w, c },
    stride,
    activation,
    acc.tuning,
  );
  if (op.workgroups.some((g) => g! > gpu.backend.device.limits.maxComputeWorkgroupsPerDimension)) return null;
  gpu.run([op]);
  return out;
}

/** The OP constant of shaders/elementwise.wgsl. */
enum ElementwiseOp {
  Add = 0,
  Relu = 1,
  Step = 2,
  Multiply = 3,
}

/** An element-wise op of one or two float32 tensors of one shape, a multiple of 4 values. */
function elementwise(op: ElementwiseOp, a: TensorInfo, b: TensorInfo | null, acc: Accelerated, alpha = 0): TensorInfo | null {
  if (!floats(acc, a, b) || (b && a.shape.join() !== b.shape.join())) return null;
  const n = size(a.shape);
  if (n === 0 || n % 4 !== 0) return null;
  const { gpu } = acc;
  const out = gpu.output([...a.shape]);
  const WG = 64;
  const aBuffer = gpu.buffer(a);
  gpu.run([
    {
      label: `elementwise ${ElementwiseOp[op]}`,
      kernel: { shader: 'elementwise', constants: { WG, OP: op } },
      uniforms: [
        ['u32', n / 4],
        ['f32', alpha],
      ],
      storage: [aBuffer, b ? gpu.buffer(b) : aBuffer, gpu.buffer(out)],
      workgroups: [gpu.strideGroups(n / 4, WG)],
    },
  ]);
  return out;
}

/**
 * Sum over a run of adjacent axes, each output summed by one lane. A reduction to very few
 * outputs (a whole-tensor sum of a large tensor) would leave the device idle: tfjs' own
 * parallel reduction takes those.
 */
function reduceSum(x: TensorInfo, attrs: NamedAttrMap, acc: Accelerated): TensorInfo | null {
  if (!floats(acc, x)) return null;
  const axes = [...new Set(tf.util.parseAxisParam(attrs.axis as number | number[], x.shape))].sort((a, b) => a - b);
  if (!axes.length || axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1)) return null;
  const [first, last] = [axes[0], axes[axes.length - 1]];
  const outer = size(x.shape.slice(0, first));
  const reduced = size(x.shape.slice(first, last + 1));
  const inner = size(x.shape.slice(last + 1));
  const outputs = outer * inner;
  if (outputs === 0 || reduced === 0 || (outputs < 64 && reduced > 4096)) return null;
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
  const { gpu } = acc;
  const out = gpu.output(outShape);
  const WG = 64;
  gpu.run([
    {
      label: `sum ${outer}x${reduced}x${inner}`,
      kernel: { shader: 'reduce_sum', constants: { WG } },
      uniforms: [
        ['u32', outputs],
        ['u32', reduced],
        ['u32', inner],
      ],
      storage: [gpu.buffer(x), gpu.buffer(out)],
      workgroups: [gpu.strideGroups(outputs, WG)],
    },
  ]);
  return out;
}
