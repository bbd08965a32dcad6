// The descriptor scale in front of the head (src/train/descriptor-scale.ts, head.ts): measured
// from the training descriptors, kept inside the head's own files (so whatever runs the head
// applies it) and in facegpu.json; heads from before the scale load and predict as they did;
// the two files disagreeing is refused. The scale's effect on training (ImageNet descriptors
// at the recipe's rate) is tested through the CLI in test/tflite.test.ts. CPU tfjs, ~1 s.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureInputScale, TARGET_NORM } from '../src/train/descriptor-scale.ts';
import { buildHead, headInputScale, SCALE_LAYER } from '../src/train/head.ts';
import { loadModelDir, saveModelDir } from '../src/train/model-dir-node.ts';
import { checkHeadScale, MODEL_FORMAT, MODEL_VERSION, validateMeta, type FaceModelMeta } from '../src/train/model-format.ts';

let tmp: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-scale-'));
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DIM = 16;
const meta = (inputScale?: FaceModelMeta['head']['inputScale']) =>
  ({
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    labels: ['a', 'b'],
    backbone: { id: 'face', weightsSha256: 'x' },
    preprocessing: { inputSize: 224 },
    head: { file: 'model.json', ...(inputScale ? { inputScale } : {}) },
    metrics: { bestEpoch: 1 },
  }) as unknown as FaceModelMeta;

/** Seeded rows with norms around 26 (what the ImageNet backbone gives). */
function descriptors(n: number): Float32Array {
  const out = new Float32Array(n * DIM);
  let s = 7;
  for (let i = 0; i < out.length; i++) out[i] = ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 11;
  return out;
}

describe('descriptor scale', () => {
  it('is measured so that the training descriptors have a mean L2 norm of TARGET_NORM', async () => {
    const x = tf.tensor2d([[3, 4], [0, 10], [6, 8]]); // norms 5, 10, 10: mean 25/3
    const r = await measureInputScale(x as tf.Tensor2D);
    expect(r.meanNorm).toBeCloseTo(25 / 3, 5);
    expect(r.scale).toBeCloseTo(TARGET_NORM / (25 / 3), 6);
    expect(r.targetNorm).toBe(TARGET_NORM);
    const zeros = await measureInputScale(tf.zeros([2, 3]) as tf.Tensor2D);
    expect(zeros.scale).toBe(1); // nothing to scale
    tf.dispose(x);
  });

  it('travels inside the head: saved and loaded, the head scales its input by the same number', async () => {
    const scale = 0.3;
    const head = buildHead(DIM, 2, 1, scale);
    expect(head.layers[0].name).toBe(SCALE_LAYER);
    const x = tf.tensor2d(descriptors(4), [4, DIM]);
    // The scaled head on x equals its Dense layers on scale * x.
    const dense = buildHead(DIM, 2, 1);
    dense.setWeights(head.getWeights());
    const viaLayer = (head.predict(x) as tf.Tensor).dataSync();
    const byHand = (dense.predict(tf.mul(x, scale)) as tf.Tensor).dataSync();
    for (let i = 0; i < viaLayer.length; i++) expect(viaLayer[i]).toBeCloseTo(byHand[i], 6);
    // Not the same as no scale: the layer does something.
    const unscaled = (dense.predict(x) as tf.Tensor).dataSync();
    expect(Math.max(...viaLayer.map((v, i) => Math.abs(v - unscaled[i])))).toBeGreaterThan(1e-3);

    const dir = join(tmp, 'scaled');
    const record = { scale, meanNorm: TARGET_NORM / scale, targetNorm: TARGET_NORM };
    await saveModelDir(dir, head, meta(record));
    expect(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).modelTopology.config.layers[0].class_name).toBe('Rescaling');
    const loaded = await loadModelDir(dir);
    expect(headInputScale(loaded.head)).toBeCloseTo(scale, 12);
    expect(loaded.meta.head.inputScale).toEqual(record);
    expect(() => checkHeadScale(loaded.meta, loaded.head, dir)).not.toThrow();
    const again = (loaded.head.predict(x) as tf.Tensor).dataSync();
    for (let i = 0; i < again.length; i++) expect(again[i]).toBe(viaLayer[i]);
    tf.dispose([x, head, dense, loaded.head] as never[]);
  });

  it('a head from before the scale (no layer, no record) loads and predicts exactly as it did', async () => {
    const old = buildHead(DIM, 2, 1);
    const x = tf.tensor2d(descriptors(3), [3, DIM]);
    const before = (old.predict(x) as tf.Tensor).dataSync();
    const dir = join(tmp, 'old');
    await saveModelDir(dir, old, meta());
    const loaded = await loadModelDir(dir);
    expect(loaded.meta.head.inputScale).toBeUndefined();
    expect(headInputScale(loaded.head)).toBe(1);
    expect(() => checkHeadScale(loaded.meta, loaded.head, dir)).not.toThrow();
    const after = (loaded.head.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(after)).toEqual(Array.from(before));
    tf.dispose([x]);
  });

  it('refuses facegpu.json and model.json that disagree on the scale, and bad records, naming the file', async () => {
    const scaled = buildHead(DIM, 2, 1, 0.3);
    const plain = buildHead(DIM, 2, 1);
    const rec = (scale: number) => ({ scale, meanNorm: 20, targetNorm: TARGET_NORM });
    expect(() => checkHeadScale(meta(), scaled, 'm/facegpu.json')).toThrow(/m\/facegpu.json: .*scale of 1.*applies 0.3/);
    expect(() => checkHeadScale(meta(rec(0.3)), plain, 'm/facegpu.json')).toThrow(/records a descriptor scale of 0.3.*applies 1/);
    expect(() => checkHeadScale(meta(rec(0.5)), scaled, 'm')).toThrow(/different models/);
    const bad = { ...meta(rec(0.3)) } as any;
    bad.head = { inputScale: { scale: -1, meanNorm: 20, targetNorm: 8 } };
    expect(() => validateMeta(bad, 'x/facegpu.json')).toThrow(/x\/facegpu.json: head.inputScale.scale -1 must be a positive number/);
    bad.head = { inputScale: { scale: 0.3, meanNorm: 'big', targetNorm: 8 } };
    expect(() => validateMeta(bad, 'x/facegpu.json')).toThrow(/head.inputScale.meanNorm "big"/);
  });
});
