// Checkpoints written in the background (src/train/model-dir-node.ts CheckpointWriter): each
// save snapshots the weights when it is called, writes land in order, and a failed write is
// reported instead of lost.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHead } from '../src/train/head.ts';
import { CheckpointWriter, loadModelDir } from '../src/train/model-dir-node.ts';
import { MODEL_FORMAT, MODEL_VERSION, type FaceModelMeta } from '../src/train/model-format.ts';

let tmp: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-ckpt-'));
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const meta = (epoch: number) =>
  ({
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    labels: ['a', 'b'],
    backbone: { id: 'face', weightsSha256: 'x' },
    preprocessing: { inputSize: 224 },
    metrics: { bestEpoch: epoch },
  }) as unknown as FaceModelMeta;

describe('CheckpointWriter', () => {
  it('writes the weights as they were at each save, the last save last', async () => {
    const dir = join(tmp, 'model');
    const head = buildHead(8, 2, 1);
    const written: number[] = [];
    const writer = new CheckpointWriter(dir, (m) => written.push((m.metrics as { bestEpoch: number }).bestEpoch));
    const firstKernel = head.getWeights()[0].dataSync().slice();
    await writer.save(head, meta(1));
    // Training goes on: the weights change before the background write has run.
    head.setWeights(head.getWeights().map((w) => tf.add(w, 1)));
    await writer.save(head, meta(2));
    head.setWeights(head.getWeights().map((w) => tf.add(w, 1)));
    await writer.flush();
    // Told as each lands on disk, in order (train says which epoch a folder stopped at once holds).
    expect(written).toEqual([1, 2]);
    const saved = await loadModelDir(dir);
    expect((saved.meta.metrics as { bestEpoch: number }).bestEpoch).toBe(2);
    // The second snapshot: first weights + 1, not + 2.
    const kernel = saved.head.getWeights()[0].dataSync();
    for (let i = 0; i < 5; i++) expect(kernel[i]).toBeCloseTo(firstKernel[i] + 1, 5);
    head.dispose();
    saved.head.dispose();
  });

  it("the head's weights are recorded by their sha256: a damaged file is refused when loaded, naming it; a model from before the record loads", async () => {
    const dir = join(tmp, 'model-sha');
    const head = buildHead(8, 2, 1);
    const writer = new CheckpointWriter(dir);
    await writer.save(head, meta(1));
    await writer.flush();
    head.dispose();
    const recorded = JSON.parse(readFileSync(join(dir, 'facegpu.json'), 'utf8'));
    expect(recorded.head.weightsSha256).toBe(createHash('sha256').update(readFileSync(join(dir, 'weights.bin'))).digest('hex'));
    (await loadModelDir(dir)).head.dispose();
    // A byte changed in the weights: refused, where it gave wrong answers without a word.
    const weights = readFileSync(join(dir, 'weights.bin'));
    weights[weights.length >> 1] ^= 0x7f;
    writeFileSync(join(dir, 'weights.bin'), weights);
    await expect(loadModelDir(dir)).rejects.toThrow(`${join(dir, 'weights.bin')}: sha256 does not match the one facegpu.json records: the head's weights are damaged; train the model again, or restore its folder`);
    // A model from before the record: loaded as it is.
    delete recorded.head.weightsSha256;
    writeFileSync(join(dir, 'facegpu.json'), JSON.stringify(recorded));
    (await loadModelDir(dir)).head.dispose();
  });

  it('a write that fails is reported by flush and by the next save', async () => {
    const blocker = join(tmp, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const head = buildHead(8, 2, 1);
    const written: unknown[] = [];
    const writer = new CheckpointWriter(join(blocker, 'model'), (m) => written.push(m));
    await writer.save(head, meta(1)); // returns once the weights are read; the write fails later
    await expect(writer.flush()).rejects.toThrow(/a-file/);
    await expect(writer.save(head, meta(2))).rejects.toThrow(/a-file/);
    expect(written).toEqual([]);
    head.dispose();
  });
});
