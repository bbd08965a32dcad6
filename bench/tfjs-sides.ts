// The TensorFlow.js sides of the benchmark: tfjs-backend-webgpu on the very GPUDevice our
// engine uses (so both run on one adapter in one process), and tfjs-backend-wasm as the CPU
// reference. Models are loaded from disk once per backend, so no weights move between them.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { Gpu } from '../src/gpu/device.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';

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

/** tf.io handler for a graph model.json and its shards on disk. */
async function fromDisk(file: string): Promise<tf.io.IOHandler> {
  const json = JSON.parse(await readFile(file, 'utf8'));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const path of group.paths) parts.push(await readFile(join(dirname(file), path)));
  }
  const all = Buffer.concat(parts);
  return tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  });
}

export class TfjsSides {
  private webgpu: WebGPUBackend | null = null;
  private wasmReady = false;
  private models = new Map<TfjsBackend, GraphModel>();

  constructor(private readonly gpu: Gpu) {}

  /** Make `name` tfjs's active backend (set up on first use). */
  async use(name: TfjsBackend): Promise<void> {
    if (name === 'webgpu') {
      if (!this.webgpu) this.webgpu = await useGpuForTfjs(this.gpu);
      else if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not switch back to its WebGPU backend');
      return;
    }
    if (!this.wasmReady) {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
      this.wasmReady = true;
    }
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not start its WASM backend');
    await tf.ready();
  }

  /** The original graph model, loaded under (and kept on) `backend`. */
  async model(backend: TfjsBackend, file: string): Promise<GraphModel> {
    let m = this.models.get(backend);
    if (!m) {
      await this.use(backend);
      m = await loadGraphModel(await fromDisk(file));
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
