// Every face added to a USearch index is found again, and a build is repeatable.
// USearch 2.26.2 strands nodes when it inserts on several threads (unum-cloud/USearch#735):
// stored, but no search reaches them. On two cores a threaded build of these 1500 drawn faces
// left 1-4 of them unreachable in each of 10 builds, so UsearchIndex.add inserts on one thread
// (src/gallery/usearch-index-node.ts); this test fails when it does not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DescriptorSampler, modelFromJson } from '../bench/descriptor-model.ts';
import { batchGatherer, insertionOrder } from '../bench/gallery-bench.ts';
import { LIBRARY_INDEX, USEARCH_SETTINGS, UsearchIndex, type UsearchSettings } from '../src/gallery/usearch-index-node.ts';

const MODEL = join(import.meta.dirname, '..', 'calibration', 'face.faces-model.json');
const model = modelFromJson(JSON.parse(readFileSync(MODEL, 'utf8')), MODEL);
const dim = model.dim;
const faces = 1500;
const library = new DescriptorSampler(model, 3).library(faces);

function build(settings: UsearchSettings): UsearchIndex {
  const index = new UsearchIndex(dim, undefined, settings);
  // Shuffled, as a photo library meets its faces; in batches, as `facegpu index` adds them.
  const batch = batchGatherer(library.vectors, dim, insertionOrder(faces, 'shuffled', 3));
  for (let at = 0; at < faces; at += 500) {
    const { keys, x } = batch(at, 500);
    index.add(keys, x);
  }
  return index;
}

describe.each([
  ['a photo library (LIBRARY_INDEX, int8)', LIBRARY_INDEX],
  ['a gallery (USEARCH_SETTINGS, float32)', USEARCH_SETTINGS],
] as const)('USearch index of %s', (_, settings) => {
  it('finds every stored face by its own vector, and two builds search alike', () => {
    const a = build(settings);
    const b = build(settings);
    const lost: number[] = [];
    let differ = 0;
    for (let i = 0; i < faces; i++) {
      const v = library.vectors.subarray(i * dim, (i + 1) * dim);
      const [ha] = a.search(v, 10, 1);
      const [hb] = b.search(v, 10, 1);
      if (!ha.keys.includes(i)) lost.push(i);
      if (ha.keys.join() !== hb.keys.join()) differ++;
    }
    expect(lost).toEqual([]);
    expect(differ).toBe(0);
  }, 120_000);

  it('searches a batch on all cores after one-threaded insertions grew it', () => {
    // Growing the index on one thread would leave one search context: a batch on two cores failed.
    const a = build(settings);
    const batch = a.search(library.vectors, 10);
    expect(batch).toHaveLength(faces);
    for (let i = 0; i < faces; i += 97) expect(batch[i].keys).toEqual(a.search(library.vectors.subarray(i * dim, (i + 1) * dim), 10, 1)[0].keys);
  }, 120_000);
});
