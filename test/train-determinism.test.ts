// Same seed and data -> the same trained head (augmentation included); and the descriptors
// reach tfjs on the GPU: the tensor binds the engine's output buffer itself, and training
// maps nothing back to the CPU but its per-epoch scalars.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../src/node.ts';
import type { Gpu } from '../src/gpu/device.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { train } from '../src/train/index.ts';
import { headToFiles } from '../src/train/model-format.ts';
import { extractDescriptors } from '../src/train/extract.ts';
import { openTrainingSet } from '../src/train/dataset-node.ts';
import { fitHead } from '../src/train/fit.ts';
import { buildHead } from '../src/train/head.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { orlSubset } from './helpers/train-data.ts';

let tmp: string;
let data: string;
let gpu: Gpu;
let engine: MobileNetEngine;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-det-'));
  data = orlSubset(join(tmp, 'data'), 3, 4);
  ({ gpu, engine } = await openEngine());
});
afterAll(() => {
  engine?.destroy();
  gpu?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

describe('determinism', () => {
  it('same seed and data give the same head, byte for byte; another seed does not', async () => {
    const run = async (seed: number) => {
      const r = await train(data, { gpu, engine }, { seed, epochs: 3, patience: 5, validationSplit: 0.25, augment: 1 });
      const files = await headToFiles(r.head);
      r.head.dispose();
      return { weights: Buffer.from(files.weights), history: r.meta.metrics.history, split: r.meta.split };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a.split.train.length).toBe(9);
    expect(a.history).toHaveLength(3);
    expect(b.history).toEqual(a.history);
    expect(b.weights.equals(a.weights)).toBe(true);
    expect(c.weights.equals(a.weights)).toBe(false);
  });
});

describe('GPU hand-off to tfjs', () => {
  it('descriptors stay on the GPU: zero-copy tensor over the engine output, only scalars mapped back', async () => {
    const backend = await useGpuForTfjs(gpu);
    const set = await openTrainingSet(data, engine.inputSize, { validationSplit: 0.25, seed: 1 });
    const proto = Object.getPrototypeOf(gpu.device.createBuffer({ size: 4, usage: GPUBufferUsage.COPY_DST }));
    const original = proto.mapAsync;
    const mapped: number[] = [];
    proto.mapAsync = function (this: GPUBuffer, ...args: unknown[]) {
      mapped.push((args[2] as number | undefined) ?? this.size);
      return original.apply(this, args);
    };
    try {
      const descriptors = await extractDescriptors(engine, set.train, set.load, { batchSize: 4 });
      expect(mapped).toEqual([]); // extraction reads nothing back
      const { x, labels } = descriptors.tensors();
      const info = backend.tensorMap.get(x.dataId) as { resource: GPUBuffer; values: unknown };
      expect(info.resource).toBe(descriptors.buffer); // the very buffer the engine wrote
      expect(info.values).toBeNull(); // no CPU copy
      const head = buildHead(engine.outputDim, 3, 1);
      await fitHead(head, 3, { x, labels }, null, { epochs: 2, batchSize: 4, learningRate: 0.001, seed: 1, patience: 3 });
      // Two scalars (loss and accuracy sums) per epoch; never a descriptor-sized read.
      expect(mapped.length).toBe(4);
      expect(Math.max(...mapped)).toBeLessThanOrEqual(16);
      // And the values are the engine's: same as its read-back path.
      const pixels = new Uint8Array(9 * engine.inputSize ** 2 * 3);
      for (let i = 0; i < 9; i++) pixels.set(await set.load(descriptors.kept[i].id), i * engine.inputSize ** 2 * 3);
      const cpu = await engine.embed(pixels, 9);
      expect(Array.from(await x.data())).toEqual(Array.from(cpu));
      tf.dispose([x, labels]);
      head.dispose();
      descriptors.destroy();
    } finally {
      proto.mapAsync = original;
    }
  });
});

describe('a WebGPU error that nothing caught', () => {
  it('leaves the model unsaved: its results are unknown (a large augmentation had trained on blank views, saved, exit 0)', async () => {
    const out = join(tmp, 'not-saved');
    gpu.uncaught = 'made up by the test';
    try {
      await expect(train(data, { gpu, engine }, { out, seed: 1, epochs: 1, validationSplit: 0.25 })).rejects.toThrow(
        `${out}: not saved: a WebGPU error that nothing caught happened on the device (made up by the test), and its results since are unknown`,
      );
    } finally {
      gpu.uncaught = null;
    }
    expect(existsSync(out)).toBe(false);
  });
});
