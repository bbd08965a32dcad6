// TensorFlow.js's WebGPU backend, built on OUR GPUDevice so that the head trains on the same
// device the backbone runs on and descriptors pass between them as GPU buffers.
// Browser-safe: tfjs and WebGPU only.
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { Gpu } from '../gpu/device.ts';
import type { ShaderSources } from '../gpu/runner.ts';
import { accelerateTfjs } from '../tfjs/kernels.ts';

const BACKEND = 'webgpu'; // tfjs-backend-webgpu registers its kernels under this name

let current: { device: GPUDevice; backend: WebGPUBackend } | null = null;
/** The backend tfjs had before facegpu put it on a device (a program's own: 'cpu', say), or null. */
let before: string | null = null;

/**
 * Make tfjs run on `gpu.device`. Idempotent for the same device; a new device replaces the
 * backend (tensors of the old one are gone with it). With `shaders`, tfjs' matrix products,
 * 1x1 convolutions and the head's RMSprop run on our kernels (src/tfjs/kernels.ts); without,
 * tfjs runs its own (the benchmark's tfjs-webgpu baseline).
 *
 * tfjs has one backend per process: while the device is open, a program's own tfjs runs on
 * it too. Once the device is gone (destroyed, or lost), the backend tfjs had before is set
 * again, so that the program's tfjs goes on working (it met an aborted device instead).
 */
export async function useGpuForTfjs(gpu: Gpu, shaders?: ShaderSources): Promise<WebGPUBackend> {
  if (current?.device === gpu.device && tf.getBackend() === BACKEND) {
    if (shaders) accelerateTfjs(current.backend, shaders);
    return current.backend;
  }
  const backend = withNavigatorGpu(() => new WebGPUBackend(gpu.device, gpu.device.adapterInfo));
  const was = tf.getBackend();
  if (!current && was && was !== BACKEND) before = was;
  if (tf.findBackendFactory(BACKEND)) tf.removeBackend(BACKEND);
  tf.registerBackend(BACKEND, () => backend);
  if (!(await tf.setBackend(BACKEND))) throw new Error('tfjs could not start its WebGPU backend on the facegpu device');
  current = { device: gpu.device, backend };
  void gpu.device.lost.then(() => giveBackendBack(gpu.device));
  if (shaders) accelerateTfjs(backend, shaders);
  return backend;
}

/** `device` gone: where tfjs is still on it, its backend removed and the one before set again. */
async function giveBackendBack(device: GPUDevice): Promise<void> {
  if (current?.device !== device) return;
  current = null;
  try {
    if (tf.findBackendFactory(BACKEND)) tf.removeBackend(BACKEND);
  } catch {
    // Its buffers went with the device: nothing is left to free.
  }
  const to = before;
  before = null;
  if (to && tf.findBackendFactory(to)) await tf.setBackend(to);
}

/**
 * The backend's constructor refuses to run unless `navigator.gpu` exists, which Node 20 lacks
 * (Dawn's GPU object is not a global there). It only checks for presence, so a stand-in is
 * put in place for the duration of the call and the global restored after.
 */
function withNavigatorGpu<T>(make: () => T): T {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return make();
  const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: {} }, configurable: true, writable: true });
  try {
    return make();
  } finally {
    if (had) Object.defineProperty(globalThis, 'navigator', had);
    else delete g.navigator;
  }
}
