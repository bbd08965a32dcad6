// The search index rebuilt in a chosen order: `cluster --reorder` adds each cluster's faces together
// (then the faces in no cluster), so that a person's faces lie together in the index's memory.
// Checked: the index is given exactly that order (a spy on the native index's add), it holds
// every face once and is recorded as caught up, and a bad order is refused before the file is
// touched. Speed is the benchmark's (bench/README.md), not a test's.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { flatIndexProvider } from '../src/gallery/flat-index.ts';
import { Gallery } from '../src/gallery/gallery.ts';
import { saveGallery } from '../src/gallery/store-node.ts';
import { syntheticFaces } from '../src/gallery/synthetic.ts';
import { UsearchIndex } from '../src/gallery/usearch-index-node.ts';
import { normalise } from '../src/gallery/normalise.ts';
import { clusterLibrary, EXACT_NEIGHBOURS_UP_TO } from '../src/library/cluster-node.ts';
import { openSearchIndex, rebuildSearchIndex, SEARCH_INDEX_FILE } from '../src/library/search-index-node.ts';
import { LibraryStore } from '../src/library/store-node.ts';
import type { PhotoFaces } from '../src/library/photo-faces.ts';

const DIM = 128;
const PEOPLE = 4;
const PER_PERSON = 6;
const STRANGERS = 3;
const backbone = { id: 'face', sha256: 'a'.repeat(64) };
const rec = { method: 'l2' } as const;
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-reorder-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/**
 * A library whose photos arrive with the people interleaved (as a folder walk meets them),
 * strangers last; one face a photo. `enrolled`: faces of person 0 enrolled in the gallery as
 * "Ann" from photos outside the library (clustering's anchors).
 */
async function makeLibrary(name: string, size = { people: PEOPLE, perPerson: PER_PERSON, strangers: STRANGERS, enrolled: 0 }): Promise<{ dir: string; personOf: Map<number, number>; personOfPath: (path: string) => number }> {
  const { people, perPerson, strangers, enrolled } = size;
  const dir = join(tmp, name);
  mkdirSync(dir);
  const gallery = Gallery.create({ backbone, preprocessing: {}, normalisation: rec, dim: DIM, index: flatIndexProvider });
  if (enrolled) {
    const ann = syntheticFaces({ seed: 5, dim: DIM, people: 1, perPerson: enrolled, noise: 0.5, faceSeed: 9 });
    gallery.addFaces('Ann', Array.from({ length: enrolled }, (_, k) => ({ file: `/enrolled/ann-${k}.jpg`, box: [0, 0, 10, 10], score: 0.9, descriptor: ann.descriptors.slice(k * DIM, (k + 1) * DIM) })));
  }
  await saveGallery(dir, gallery);
  const known = syntheticFaces({ seed: 5, dim: DIM, people, perPerson, noise: 0.5 });
  const once = syntheticFaces({ seed: 5, dim: DIM, people: strangers, perPerson: 1, noise: 0.5, firstPerson: 1000 });
  const rows: { person: number; descriptor: Float32Array }[] = [];
  for (let f = 0; f < perPerson; f++) for (let p = 0; p < people; p++) rows.push({ person: p, descriptor: known.descriptors.slice((p * perPerson + f) * DIM, (p * perPerson + f + 1) * DIM) });
  for (let s = 0; s < strangers; s++) rows.push({ person: 1000 + s, descriptor: once.descriptors.slice(s * DIM, (s + 1) * DIM) });
  const photos: PhotoFaces[] = rows.map((r, i) => ({ path: `/lib/${i}.jpg`, size: 1, mtimeMs: 1, sha256: String(i).padEnd(64, '0'), width: 100, height: 100, faces: [{ box: [0, 0, 10, 10], score: 0.9, descriptor: r.descriptor }] }));
  const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
  try {
    s.storePhotos(photos);
    openSearchIndex(s, dir, rec, { save: true }).close?.(); // as `index` leaves it: in store order
    const personOf = new Map(s.faceEntries().map((f) => [f.id, rows[Number(f.path.slice(5, -4))].person]));
    return { dir, personOf, personOfPath: (path) => rows[Number(path.slice(5, -4))].person };
  } finally {
    s.close();
  }
}

/** Keys handed to the native index's add, in order (all indexes). */
function spyOnAdds(): number[] {
  return spyOnAddsByIndex().all;
}

/** Keys handed to the native index's add: all, and per index in the order the indexes were first added to. */
function spyOnAddsByIndex(): { all: number[]; byIndex: number[][] } {
  const all: number[] = [];
  const byIndex = new Map<UsearchIndex, number[]>();
  const add = UsearchIndex.prototype.add;
  vi.spyOn(UsearchIndex.prototype, 'add').mockImplementation(function (this: UsearchIndex, k: number[], v: Float32Array) {
    all.push(...k);
    byIndex.set(this, [...(byIndex.get(this) ?? []), ...k]);
    return add.call(this, k, v);
  });
  return {
    all,
    get byIndex() {
      return [...byIndex.values()];
    },
  };
}

describe('the search index rebuilt in order', () => {
  it('cluster adds each cluster\'s faces together, the faces in no cluster last, every face once', async () => {
    const { dir, personOf } = await makeLibrary('clustered');
    const added = spyOnAdds();
    const steps: string[] = [];
    const r = await clusterLibrary(dir, { reorderSearchIndex: true, onProgress: (step, done, total) => steps.push(`${step} ${done}/${total}`) });
    const n = PEOPLE * PER_PERSON + STRANGERS;
    // Each step reported from its start (the search) or its first batch (the adds) to its end.
    expect(steps).toEqual([`indexing ${n}/${n}`, `searching 0/${n}`, `searching ${n}/${n}`, `reordering ${n}/${n}`]);
    expect(r.clusters.length).toBe(PEOPLE);
    expect(r.noise).toBe(STRANGERS);
    expect(r.searchIndex?.faces).toBe(PEOPLE * PER_PERSON + STRANGERS);
    // Stored interleaved (person 0, 1, 2, 3, 0, ...); added person by person, strangers last.
    expect(added.length).toBe(PEOPLE * PER_PERSON + STRANGERS);
    expect(new Set(added).size).toBe(added.length);
    const people = added.map((id) => personOf.get(id)!);
    for (let p = 0; p < PEOPLE; p++) {
      const at = people.indexOf(people[p * PER_PERSON]);
      expect(people.slice(at, at + PER_PERSON).every((q) => q === people[at]), people.join()).toBe(true);
    }
    expect(people.slice(-STRANGERS).every((p) => p >= 1000)).toBe(true);
    // The file holds every face and is recorded as caught up: opening it adds nothing.
    vi.restoreAllMocks();
    const again = spyOnAdds();
    const s = LibraryStore.open(dir);
    try {
      const idx = openSearchIndex(s, dir, rec, { save: true });
      expect(idx.size).toBe(added.length);
      expect(again).toEqual([]);
      expect(s.getMeta('index_max_id')).toBe(String(s.maxFaceId()));
      // And it finds a stored face first by its own descriptor.
      for (const face of s.faces()) expect(idx.search(normalise(face.descriptor, DIM, rec), 1)[0].keys[0]).toBe(face.id);
      idx.close?.();
    } finally {
      s.close();
    }
  });

  it('a big library: its search index serves the neighbour search (no second index built), anchors included, and is then rebuilt in cluster order', async () => {
    const people = 200, perPerson = 8; // 1600 faces: above EXACT_NEIGHBOURS_UP_TO
    expect(people * perPerson).toBeGreaterThan(EXACT_NEIGHBOURS_UP_TO);
    const { dir, personOf, personOfPath } = await makeLibrary('big', { people, perPerson, strangers: 0, enrolled: 4 });
    const added = spyOnAddsByIndex();
    const steps = new Set<string>();
    const r = await clusterLibrary(dir, { reorderSearchIndex: true, onProgress: (step) => steps.add(step) });
    expect([...steps]).toEqual(['searching', 'reordering']);
    // The anchors went into the loaded index (in memory only), then a new index was built:
    // every face once. (The gallery's own people index gets its template too: not these.)
    const [anchors, ...others] = added.byIndex;
    expect(anchors).toEqual([1601, 1602, 1603, 1604]);
    const rebuilt = others.find((keys) => keys.length >= people * perPerson)!; 
    expect(rebuilt.length).toBe(people * perPerson);
    expect(new Set(rebuilt).size).toBe(rebuilt.length);
    expect(r.clusters.length).toBe(people);
    const ann = r.clusters.filter((c) => c.person === 'Ann');
    expect(ann.length).toBe(1);
    expect(ann[0].examples.every((e) => personOfPath(e) === 0)).toBe(true);
    const order = rebuilt.map((id) => personOf.get(id)!);
    for (let k = 0; k < order.length; k += perPerson) expect(new Set(order.slice(k, k + perPerson)).size, `faces ${k}..${k + perPerson - 1} added`).toBe(1);
    const s = LibraryStore.open(dir);
    try {
      expect(s.counts().faces).toBe(people * perPerson); // the anchors were not stored
      const idx = openSearchIndex(s, dir, rec);
      expect(idx.size).toBe(people * perPerson);
      idx.close?.();
    } finally {
      s.close();
    }
  });

  it('by default (no reorderSearchIndex) the index file is left as it was', async () => {
    const { dir } = await makeLibrary('kept');
    const before = readFileSync(join(dir, SEARCH_INDEX_FILE));
    const added = spyOnAdds();
    const r = await clusterLibrary(dir);
    expect(r.searchIndex).toBeNull();
    expect(added).toEqual([]);
    expect(readFileSync(join(dir, SEARCH_INDEX_FILE)).equals(before)).toBe(true);
  });

  it('refuses an order that is not a permutation of the faces, or faces that are not all the library\'s, before touching the file', async () => {
    const { dir } = await makeLibrary('refused');
    const before = readFileSync(join(dir, SEARCH_INDEX_FILE));
    const s = LibraryStore.open(dir);
    try {
      const entries = s.faceEntries();
      const ids = entries.map((f) => f.id);
      const vectors = new Float32Array(ids.length * DIM);
      const n = ids.length;
      expect(() => rebuildSearchIndex(s, dir, { ids, vectors }, Uint32Array.from({ length: n }, (_, i) => (i === 1 ? 0 : i)))).toThrow(/rebuildSearchIndex: the order is not a permutation of the 27 rows \(row 0 at 1\)/);
      expect(() => rebuildSearchIndex(s, dir, { ids, vectors }, [0, 1])).toThrow(/the order lists 2 rows, not the 27 faces/);
      expect(() => rebuildSearchIndex(s, dir, { ids: ids.slice(1), vectors: vectors.subarray(DIM) }, Array.from({ length: n - 1 }, (_, i) => i))).toThrow(/given 26 faces, but the library holds 27/);
      expect(() => rebuildSearchIndex(s, dir, { ids, vectors: vectors.subarray(DIM) }, [])).toThrow(/27 faces but 26 vectors of 128 values/);
    } finally {
      s.close();
    }
    expect(readFileSync(join(dir, SEARCH_INDEX_FILE)).equals(before)).toBe(true);
  });
});
