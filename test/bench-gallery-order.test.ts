// `facegpu bench gallery`'s insertion order (bench/README.md, "A million faces"): a photo
// library meets its faces shuffled, not person by person, and the graph differs with the
// order, so the benchmark adds them shuffled unless told otherwise, and says which it did.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { modelFromJson } from '../bench/descriptor-model.ts';
import { batchGatherer, insertionOrder, runGalleryBench, type InsertOrder } from '../bench/gallery-bench.ts';
import { LIBRARY_INDEX, UsearchIndex } from '../src/gallery/usearch-index-node.ts';

const MODEL = join(import.meta.dirname, '..', 'calibration', 'face.faces-model.json');

describe('insertion order', () => {
  afterEach(() => vi.restoreAllMocks());

  it('identity is row order; shuffled is a seeded permutation of every row', () => {
    expect(Array.from(insertionOrder(5, 'identity', 1))).toEqual([0, 1, 2, 3, 4]);
    const a = insertionOrder(1000, 'shuffled', 1);
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(a).toEqual(insertionOrder(1000, 'shuffled', 1));
    expect(a).not.toEqual(insertionOrder(1000, 'shuffled', 2));
    // Far from row order: few rows stay where they were.
    expect(Array.from(a).filter((row, i) => row === i).length).toBeLessThan(20);
  });

  it('batches hold the ordered rows: views in identity order, one reused buffer when shuffled', () => {
    const dim = 3;
    const vectors = Float32Array.from({ length: 10 * dim }, (_, i) => i);
    const same = batchGatherer(vectors, dim, insertionOrder(10, 'identity', 1))(4, 3);
    expect(same.keys).toEqual([4, 5, 6]);
    expect(same.x.buffer).toBe(vectors.buffer);
    expect(Array.from(same.x)).toEqual(Array.from(vectors.subarray(12, 21)));
    const order = insertionOrder(10, 'shuffled', 1);
    const batch = batchGatherer(vectors, dim, order);
    const a = batch(0, 4);
    expect(a.keys).toEqual(Array.from(order.subarray(0, 4)));
    expect(Array.from(a.x)).toEqual(a.keys.flatMap((row) => Array.from(vectors.subarray(row * dim, (row + 1) * dim))));
    const b = batch(4, 6);
    expect(b.x.buffer).toBe(a.x.buffer);
    expect(Array.from(b.x)).toEqual(b.keys.flatMap((row) => Array.from(vectors.subarray(row * dim, (row + 1) * dim))));
  });

  it.each(['shuffled', 'identity'] as const)('%s: the index is given the faces in that order, and the result says so', async (order: InsertOrder) => {
    const text = readFileSync(MODEL, 'utf8');
    const model = modelFromJson(JSON.parse(text), MODEL);
    const added: number[] = [];
    const add = UsearchIndex.prototype.add;
    vi.spyOn(UsearchIndex.prototype, 'add').mockImplementation(function (this: UsearchIndex, keys, x) {
      added.push(...keys);
      return add.call(this, keys, x);
    });
    const faces = 1500;
    const r = await runGalleryBench({ faces, queries: 100, seed: 3, model, modelFile: MODEL, index: { kind: 'usearch', ...LIBRARY_INDEX }, insertOrder: order, exactTimed: 1 });
    expect(r.insertOrder).toBe(order);
    expect(added).toEqual(Array.from(insertionOrder(faces, order, 3)));
    // Whatever the order, every face is in the graph and found.
    expect(r.recallAt1).toBeGreaterThanOrEqual(0.99);
  }, 60_000);

  it('is shuffled by default', async () => {
    const text = readFileSync(MODEL, 'utf8');
    const r = await runGalleryBench({ faces: 300, queries: 20, seed: 3, model: modelFromJson(JSON.parse(text), MODEL), modelFile: MODEL, index: { kind: 'usearch', ...LIBRARY_INDEX }, exactTimed: 1 });
    expect(r.insertOrder).toBe('shuffled');
  }, 60_000);
});
