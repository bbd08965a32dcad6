// TensorFlow.js in Node without tfjs-node: a tf.io handler for a model.json and its shards on
// disk, and the WASM backend with its .wasm files found in node_modules. Used by the
// benchmark and the parity tests to run the *original* model files.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/** tf.io handler for a model.json (graph or layers) and its shards on disk. */
export async function tfjsModelFromDisk(file: string): Promise<tf.io.IOHandler> {
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

let wasmPathsSet = false;

/** Make tfjs's WASM backend the active one, its binaries read from node_modules. */
export async function useTfjsWasm(): Promise<void> {
  if (!wasmPathsSet) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(join(dir, 'dist') + '/');
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not start its WASM backend');
  await tf.ready();
}
