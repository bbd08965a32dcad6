// Our WGSL kernels registered in TensorFlow.js' kernel registry for its WebGPU backend, so
// that the work tfjs does next to the backbone runs on them:
//
// - BatchMatMul and _FusedMatMul: the head's dense layers, forward and in their gradients;
// - FusedConv2D / Conv2D with a 1x1 filter: 36 of the face detector's 37 convolutions;
// - FacegpuRmsprop: a one-pass RMSprop update (src/tfjs/rmsprop.ts).
//
// tfjs' own WebGPU kernels do these products at ~1.6 GFLOP/s on lavapipe, about ten times
// slower than ours (src/tfjs/README.md). Registration is per kernel name for every WebGPU
// backend, but only backends passed to `accelerateTfjs` use our kernels: the benchmark's
// tfjs-webgpu baseline stays tfjs' own. Cases our kernels do not cover (another activation,
// a general broadcast, a strided or dilated convolution) go to the kernel tfjs registered,
// by an explicit test of the arguments in each kernel below.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { ShaderSources } from '../gpu/runner.ts';
import { TfjsGpu } from './bridge.ts';
import { denseView, matmulOp, matmulTilingFor, type MatmulActivation, type MatmulTiling } from './matmul.ts';
import { RMSPROP_KERNEL, rmspropKernel } from './rmsprop-kernel.ts';

const BACKEND = 'webgpu';

interface Accelerated {
  gpu: TfjsGpu;
  tiling: MatmulTiling;
}

const accelerated = new WeakMap<object, Accelerated>();
/** tfjs' own kernels, kept when ours are registered in their place. */
const originals = new Map<string, KernelConfig>();

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
  accelerated.set(backend, { gpu, tiling: matmulTilingFor(backend.device) });
  return gpu;
}

/** The bridge of an accelerated backend, or null. */
export function acceleratedGpu(backend: unknown): TfjsGpu | null {
  return backend ? (accelerated.get(backend as object)?.gpu ?? null) : null;
}

type Ours = (args: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }, acc: Accelerated) => TensorInfo | TensorInfo[] | null;

function registerOnce(): void {
  if (originals.size) return;
  const replace = (kernelName: string, ours: Ours) => {
    const original = tf.getKernel(kernelName, BACKEND);
    if (!original) throw new Error(`tfjs' ${BACKEND} backend has no ${kernelName} kernel to replace (tfjs-backend-webgpu not loaded?)`);
    originals.set(kernelName, original);
    const kernelFunc: KernelFunc = (args) => {
      const acc = accelerated.get(args.backend as object);
      return (acc && ours(args, acc)) ?? original.kernelFunc(args);
    };
    tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({ ...original, kernelFunc });
  };
  replace('BatchMatMul', (args, acc) => batchMatMul(args.inputs.a!, args.inputs.b!, args.attrs!, acc, null, 'linear'));
  replace('_FusedMatMul', (args, acc) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const activation = fusedActivation(args.attrs!, preluActivationWeights);
    return activation ? batchMatMul(a!, b!, args.attrs!, acc, bias ?? null, activation) : null;
  });
  replace('FusedConv2D', (args, acc) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const activation = fusedActivation(args.attrs!, preluActivationWeights);
    return activation ? pointwiseConv(x!, filter!, bias ?? null, args.attrs!, acc, activation) : null;
  });
  replace('Conv2D', (args, acc) => pointwiseConv(args.inputs.x!, args.inputs.filter!, null, args.attrs!, acc, 'linear'));
  tf.registerKernel({
    kernelName: RMSPROP_KERNEL,
    backendName: BACKEND,
    kernelFunc: (args) => {
      const acc = accelerated.get(args.backend as object);
      // Only reached through src/tfjs/rmsprop.ts, which checks first: no tfjs fallback here.
      if (!acc) throw new Error(`${RMSPROP_KERNEL} runs only on a backend set up with accelerateTfjs`);
      return rmspropKernel(args.inputs, args.attrs!, acc.gpu);
    },
  });
}

const ACTIVATIONS: Record<string, MatmulActivation> = { linear: 'linear', relu: 'relu', relu6: 'relu6' };

function fusedActivation(attrs: NamedAttrMap, prelu: TensorInfo | undefined): MatmulActivation | null {
  if (prelu) return null;
  return ACTIVATIONS[(attrs.activation as string | undefined) ?? 'linear'] ?? null;
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
const floats = (...ts: (TensorInfo | null)[]) => ts.every((t) => !t || t.dtype === 'float32');

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
  activation: MatmulActivation,
): TensorInfo | null {
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  if (!floats(a, b, bias) || a.shape.length < 2 || b.shape.length < 2) return null;
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
  else if (batchA === 1) outer = outerB;
  else if (batchB === 1) outer = outerA;
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

/** A 1x1, stride 1, undilated NHWC convolution is a product [pixels, ci] x [ci, co]. */
function pointwiseConv(
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | null,
  attrs: NamedAttrMap,
  acc: Accelerated,
  activation: MatmulActivation,
): TensorInfo | null {
  const [fh, fw, ci, co] = filter.shape;
  const padOk = attrs.pad === 'same' || attrs.pad === 'valid' || attrs.pad === 0;
  const nhwc = attrs.dataFormat == null || attrs.dataFormat === 'NHWC';
  if (x.shape.length !== 4 || fh !== 1 || fw !== 1 || x.shape[3] !== ci || !allOnes(attrs.strides) || !allOnes(attrs.dilations) || !padOk || !nhwc) return null;
  if (!floats(x, filter, bias) || !columnBias(bias, co)) return null;
  const [n, h, w] = x.shape;
  const pixels = n * h * w;
  if (pixels === 0 || !gridFits(acc, pixels, co, 1)) return null;
  const { gpu } = acc;
  const out = gpu.output([n, h, w, co]);
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
        activation,
      },
      acc.tiling,
    ),
  ]);
  return out;
}
