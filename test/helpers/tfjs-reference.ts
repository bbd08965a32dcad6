// Reference outputs from TensorFlow.js (CPU or WASM backend, float32) running the *original*
// model files, for parity tests and the benchmark.
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { tfjsModelFromDisk, useTfjsWasm } from '../../src/weights/tfjs-node-io.ts';

export { tf };

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') return useTfjsWasm();
  await tf.setBackend(name);
  await tf.ready();
}

export async function loadReference(file: string): Promise<GraphModel | LayersModel> {
  const json = JSON.parse(await readFile(file, 'utf8'));
  const handler = await tfjsModelFromDisk(file);
  return json.format === 'graph-model' || Array.isArray(json.modelTopology?.node) ? loadGraphModel(handler) : loadLayersModel(handler);
}

/**
 * Descriptors from the original model: `pixels` packed RGB, preprocessed as the model expects
 * (`scale`, `offset`), output = global average pool (graph: the named node; layers: the
 * GlobalAveragePooling2D layer).
 */
export async function referenceEmbed(
  model: GraphModel | LayersModel,
  pixels: Uint8Array,
  n: number,
  size: number,
  pre: { scale: number; offset: number },
  output = 'global_pooling/Mean',
): Promise<Float32Array> {
  return tf.tidy(() => {
    const x = tf.add(tf.mul(tf.tensor4d(Float32Array.from(pixels), [n, size, size, 3]), pre.scale), pre.offset);
    if ('execute' in model && 'executor' in (model as any)) {
      return (model as GraphModel).execute(x, output) as tf.Tensor;
    }
    const lm = model as LayersModel;
    const pool = lm.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D');
    if (!pool) throw new Error('no GlobalAveragePooling2D layer');
    return (lm.layers.slice(1, lm.layers.indexOf(pool) + 1).reduce((t: tf.Tensor, l) => l.apply(t) as tf.Tensor, x));
  }).data() as Promise<Float32Array>;
}
