// Our WGSL kernels registered in TensorFlow.js' kernel registry for its WebGPU backend, so
// that the work tfjs does next to the backbone runs on them. The table below is the whole
// list; each kernel lives in src/tfjs/kernels/ with the checks that decide whether it takes a
// case (src/tfjs/README.md lists what each covers and what it hands back).
//
// tfjs' own WebGPU kernels do these products at ~1.6 GFLOP/s on lavapipe, several times
// slower than ours (src/tfjs/README.md). Registration is per kernel name for every WebGPU
// backend, but only backends passed to `accelerateTfjs` use our kernels: the benchmark's
// tfjs-webgpu baseline stays tfjs' own. A replacing kernel returns null for a case it does
// not cover (another activation, a general broadcast, a strided or dilated convolution),
// and tfjs' original runs it.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { ShaderSources } from '../gpu/runner.ts';
import { tuningFor } from '../kernels/common.ts';
import { matmulTilingFor } from '../kernels/matmul.ts';
import { accelerationOf, setAccelerated } from './accelerated.ts';
import { TfjsGpu } from './bridge.ts';
import type { OwnKernel, ReplacingKernel } from './kernel-args.ts';
import * as names from './kernel-names.ts';
import { batchMatMulKernel, fusedMatMulKernel } from './kernels/batch-matmul.ts';
import { conv2dKernel, fusedConv2dKernel } from './kernels/conv2d.ts';
import { depthwiseKernel, fusedDepthwiseKernel } from './kernels/depthwise.ts';
import { addKernel, multiplyKernel, reluKernel, stepKernel } from './kernels/elementwise.ts';
import { maxPoolKernel } from './kernels/max-pool.ts';
import { padKernel } from './kernels/pad.ts';
import { pointwiseAddReluKernel } from './kernels/pointwise-add-relu.ts';
import { rmspropKernel } from './kernels/rmsprop.ts';
import { sumKernel } from './kernels/sum.ts';

export { acceleratedGpu } from './accelerated.ts';

const BACKEND = 'webgpu';

/** tfjs' kernels that ours replace; null from ours hands the case to tfjs' original. */
const REPLACED: Readonly<Record<string, ReplacingKernel>> = {
  [names.BATCH_MAT_MUL]: batchMatMulKernel,
  [names.FUSED_MAT_MUL]: fusedMatMulKernel,
  [names.CONV2D]: conv2dKernel,
  [names.FUSED_CONV2D]: fusedConv2dKernel,
  [names.DEPTHWISE_CONV2D]: depthwiseKernel,
  [names.FUSED_DEPTHWISE_CONV2D]: fusedDepthwiseKernel,
  [names.ADD]: addKernel,
  [names.MULTIPLY]: multiplyKernel,
  [names.RELU]: reluKernel,
  [names.STEP]: stepKernel,
  [names.SUM]: sumKernel,
  [names.MAX_POOL]: maxPoolKernel,
  [names.PAD_V2]: padKernel,
};

/** Kernels of our own, with no tfjs original: reached only through the ops that call them (fused-ops.ts, rmsprop.ts), which check the backend first. */
const OWN: Readonly<Record<string, OwnKernel>> = {
  [names.RMSPROP_KERNEL]: rmspropKernel,
  [names.POINTWISE_ADD_RELU]: pointwiseAddReluKernel,
};

/** Our kernels are in tfjs' registry (once per process; tfjs' own are kept in closures). */
let registered = false;

function registerOnce(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, ours] of Object.entries(REPLACED)) {
    const original = tf.getKernel(kernelName, BACKEND);
    if (!original) throw new Error(`tfjs' ${BACKEND} backend has no ${kernelName} kernel to replace (tfjs-backend-webgpu not loaded?)`);
    const kernelFunc: KernelFunc = (args) => {
      const acc = accelerationOf(args.backend);
      return (acc && ours(args, acc)) ?? original.kernelFunc(args);
    };
    tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({ ...original, kernelFunc });
  }
  for (const [kernelName, ours] of Object.entries(OWN)) {
    tf.registerKernel({
      kernelName,
      backendName: BACKEND,
      kernelFunc: (args) => {
        const acc = accelerationOf(args.backend);
        if (!acc) throw new Error(`${kernelName} runs only on a backend set up with accelerateTfjs`);
        return ours(args, acc);
      },
    });
  }
}

/**
 * Run tfjs' products and the head's optimizer on our kernels for this backend (which must
 * be tfjs' WebGPU backend on the device our shaders run on). Idempotent. Returns the bridge,
 * whose dispatch count shows that our kernels ran.
 */
export function accelerateTfjs(backend: WebGPUBackend, shaders: ShaderSources): TfjsGpu {
  const have = accelerationOf(backend);
  if (have) return have.gpu;
  registerOnce();
  const gpu = new TfjsGpu(backend, shaders);
  setAccelerated(backend, { gpu, tiling: matmulTilingFor(backend.device), tuning: tuningFor(backend.device) });
  return gpu;
}
