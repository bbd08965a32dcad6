// The TensorFlow.js sides of the benchmark: tfjs-backend-webgpu on the very GPUDevice our
// engine uses (so both run on one adapter in one process), and tfjs-backend-wasm as the CPU
// reference. Models are loaded from disk once per backend, so no weights move between them.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { Gpu } from '../src/gpu/device.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { tfjsModelFromDisk, useTfjsWasm } from '../src/weights/tfjs-node-io.ts';

export { tf };

export type TfjsBackend = 'webgpu' | 'wasm';

const require = createRequire(import.meta.url);

/** Installed versions, recorded with every result. */
export function tfjsVersions(): Record<string, string> {
  const v = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  return {
    'tfjs-core': tf.version_core,
    'tfjs-backend-webgpu': v('@tensorflow/tfjs-backend-webgpu'),
    'tfjs-backend-wasm': v('@tensorflow/tfjs-backend-wasm'),
    'tfjs-converter': v('@tensorflow/tfjs-converter'),
  };
}

export class TfjsSides {
  private webgpu: WebGPUBackend | null = null;
  private models = new Map<TfjsBackend, GraphModel>();

  constructor(private readonly gpu: Gpu) {}

  /** Make `name` tfjs's active backend (set up on first use). */
  async use(name: TfjsBackend): Promise<void> {
    if (name === 'webgpu') {
      if (!this.webgpu) this.webgpu = await useGpuForTfjs(this.gpu);
      else if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not switch back to its WebGPU backend');
      return;
    }
    await useTfjsWasm();
  }

  /** The original graph model, loaded under (and kept on) `backend`. */
  async model(backend: TfjsBackend, file: string): Promise<GraphModel> {
    let m = this.models.get(backend);
    if (!m) {
      await this.use(backend);
      m = await loadGraphModel(await tfjsModelFromDisk(file));
      this.models.set(backend, m);
    }
    return m;
  }

  /**
   * Submit what tfjs-webgpu has recorded but not yet submitted (it batches dispatches), so
   * that `queue.onSubmittedWorkDone()` covers all of it.
   */
  flushWebgpu(): void {
    const b = this.webgpu;
    if (!b) return;
    // What tfjs itself does before submitting: close the open pass; submit only if recorded.
    b.endComputePassEncoder();
    if ((b as unknown as { commandEncoder: GPUCommandEncoder | null }).commandEncoder) b.submitQueue();
  }

  dispose(): void {
    for (const m of this.models.values()) m.dispose();
    this.models.clear();
  }
}
