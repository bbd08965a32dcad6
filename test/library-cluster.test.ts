// clusterFaces on seeded synthetic descriptors: the clusters of synthetic people are found
// and people seen once are left as noise; two named people are never merged (two close
// people that DBSCAN joins, each with a named face, come back as two clusters); a person's
// pieces and named noise faces become one cluster; ids are deterministic and ordered by size
// then lowest row; the same answer through USearch's index; bad input refused.
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- untyped CommonJS module (as in src/library/cluster.ts)
import densityClustering from 'density-clustering';
import { dbscanOnGraph } from '../src/library/dbscan-graph.ts';
import { clusterFaces, type FaceClustering } from '../src/library/cluster.ts';
import { gaussian, syntheticFaces, unitRows } from '../src/gallery/synthetic.ts';
import { Prng } from '../src/train/prng.ts';
import { LIBRARY_INDEX, usearchIndexProvider, usearchProvider } from '../src/gallery/usearch-index-node.ts';

const dim = 128;

/** people x perPerson faces (rows grouped by person), then `strangers` faces of one photo each. */
function library(opts: { seed: number; people: number; perPerson: number; strangers?: number }) {
  const known = syntheticFaces({ seed: opts.seed, dim, people: opts.people, perPerson: opts.perPerson, noise: 0.8 });
  const once = syntheticFaces({ seed: opts.seed, dim, people: opts.strangers ?? 0, perPerson: 1, noise: 0.8, firstPerson: 10_000, faceSeed: 1 });
  const x = new Float32Array(known.descriptors.length + once.descriptors.length);
  x.set(known.descriptors);
  x.set(once.descriptors, known.descriptors.length);
  return { x: unitRows(x, dim), person: [...known.person, ...once.person], n: known.person.length + once.person.length };
}

const nobody = (n: number) => new Array<string | null>(n).fill(null);
const clusterOf = (r: FaceClustering, face: number) => r.clusters.find((c) => c.faces.includes(face));

describe('clusterFaces', () => {
  it('an index given already built (keys of its own, mapped back to rows) gives the clusters of one built from the rows', () => {
    const lib = library({ seed: 4, people: 6, perPerson: 8, strangers: 5 });
    const own = clusterFaces(lib.x, dim, nobody(lib.n), { index: usearchIndexProvider });
    const index = usearchIndexProvider.create(dim);
    // Added in reverse under keys 1000 + 3 x row, as a library's search index holds face ids.
    const rows = Array.from({ length: lib.n }, (_, i) => lib.n - 1 - i);
    const x = new Float32Array(lib.n * dim);
    rows.forEach((r, k) => x.set(lib.x.subarray(r * dim, (r + 1) * dim), k * dim));
    index.add(rows.map((r) => 1000 + 3 * r), x);
    const built = clusterFaces(lib.x, dim, nobody(lib.n), { builtIndex: { index, rowOf: (k) => (k - 1000) / 3 } });
    expect(built.clusters.map((c) => c.faces)).toEqual(own.clusters.map((c) => c.faces));
    expect(built.noise).toEqual(own.noise);
    expect(built.clusters.length).toBe(6);
    index.remove(1000);
    expect(() => clusterFaces(lib.x, dim, nobody(lib.n), { builtIndex: { index, rowOf: (k) => (k - 1000) / 3 } })).toThrow(/the index given holds 52 vectors, not the 53 rows/);
    index.close?.();
  });

  it('finds each synthetic person as one cluster and leaves people seen once as noise', () => {
    const lib = library({ seed: 3, people: 8, perPerson: 10, strangers: 12 });
    const r = clusterFaces(lib.x, dim, nobody(lib.n));
    const found = r.clusters.map((c) => c.faces).sort((a, b) => a[0] - b[0]);
    const truth = Array.from({ length: 8 }, (_, p) => Array.from({ length: 10 }, (_, f) => p * 10 + f));
    expect(found).toEqual(truth);
    expect(r.noise).toEqual(Array.from({ length: 12 }, (_, i) => 80 + i));
    expect(r.clusters.every((c) => c.person === null && c.named === 0 && c.nearest === null)).toBe(true);
  });

  it('never merges two named people: a cluster joining two close people is split by their names', () => {
    // Two people whose centres are close (cosine about 0.86): every face is within epsilon of
    // every other, so density alone makes one cluster of them.
    const prng = new Prng(11);
    const a = unitRows(gaussian(prng, new Float32Array(dim)), dim);
    const off = unitRows(gaussian(prng, new Float32Array(dim)), dim);
    const b = unitRows(a.map((v, j) => v + 0.6 * off[j]), dim);
    const x = new Float32Array(24 * dim);
    const jitter = new Float32Array(dim);
    for (let i = 0; i < 24; i++) {
      gaussian(prng, jitter, 0.3 / Math.sqrt(dim));
      const c = i < 12 ? a : b;
      for (let j = 0; j < dim; j++) x[i * dim + j] = c[j] + jitter[j];
    }
    unitRows(x, dim);
    const unnamed = clusterFaces(x, dim, nobody(24));
    expect(unnamed.clusters.map((c) => c.faces.length)).toEqual([24]); // the premise: one cluster without names

    const named = nobody(24);
    named[3] = 'alice';
    named[20] = 'bob';
    const r = clusterFaces(x, dim, named);
    for (const c of r.clusters) expect(new Set(c.faces.map((f) => named[f]).filter((p) => p !== null)).size).toBeLessThanOrEqual(1);
    const alice = r.clusters.find((c) => c.person === 'alice')!;
    const bob = r.clusters.find((c) => c.person === 'bob')!;
    // Each unnamed face went to the side of the person it is closer to.
    expect(alice.faces).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(bob.faces).toEqual(Array.from({ length: 12 }, (_, i) => 12 + i));
    expect([alice.named, bob.named]).toEqual([1, 1]);
    expect(r.clusters).toHaveLength(2);
  });

  it("gathers a named person's clusters and named noise faces into one cluster; candidates get the nearest named person", () => {
    const lib = library({ seed: 5, people: 4, perPerson: 8, strangers: 2 });
    const named = nobody(lib.n);
    // Person 0 named in its cluster, person 1 too (as the same name: one person in two groups
    // of faces), and a stranger's face named as well.
    named[0] = 'carol';
    named[8] = 'carol';
    named[lib.n - 1] = 'carol';
    const r = clusterFaces(lib.x, dim, named);
    const carol = r.clusters.filter((c) => c.person === 'carol');
    expect(carol).toHaveLength(1);
    expect(carol[0].faces).toEqual([...Array.from({ length: 16 }, (_, i) => i), lib.n - 1]);
    expect(carol[0].named).toBe(3);
    expect(r.noise).toEqual([lib.n - 2]);
    const candidates = r.clusters.filter((c) => c.person === null);
    expect(candidates).toHaveLength(2);
    for (const c of candidates) expect(c.nearest).toMatchObject({ person: 'carol' });
  });

  it("leaves a face taken off a person out of that person's cluster (noise), and nowhere else changes", () => {
    const lib = library({ seed: 5, people: 4, perPerson: 8, strangers: 2 });
    const named = nobody(lib.n);
    named[0] = 'carol';
    const before = clusterFaces(lib.x, dim, named);
    expect(clusterOf(before, 3)?.person).toBe('carol');
    const notNamed = Array.from({ length: lib.n }, () => [] as string[]);
    notNamed[3] = ['dan', 'carol'];
    notNamed[9] = ['carol']; // another person's face: not carol's anyway, so where it was
    const r = clusterFaces(lib.x, dim, named, { notNamed });
    expect(clusterOf(r, 0)!.faces).toEqual([0, 1, 2, 4, 5, 6, 7]);
    expect(r.noise).toEqual([3, ...before.noise].sort((a, b) => a - b));
    expect(clusterOf(r, 9)!.faces).toEqual(clusterOf(before, 9)!.faces);
    expect(() => clusterFaces(lib.x, dim, named, { notNamed: [[]] })).toThrow(`clusterFaces: ${lib.n} descriptors but 1 notNamed entries (one list per face)`);
  });

  it('gives the same ids every time, ordered by size and then lowest row', () => {
    // People of 6, 9, 9 and 12 faces (rows in that order): ids 1 = the 12, 2 and 3 = the two
    // 9s (lower first row first), 4 = the 6.
    const sizes = [6, 9, 9, 12];
    const parts = sizes.map((perPerson, p) => syntheticFaces({ seed: 21, dim, people: 1, perPerson, noise: 0.8, firstPerson: p, faceSeed: p }).descriptors);
    const x = unitRows(Float32Array.from(parts.flatMap((d) => Array.from(d))), dim);
    const first = [0, 6, 15, 24];
    const a = clusterFaces(x, dim, nobody(36));
    const b = clusterFaces(x, dim, nobody(36));
    expect(b).toEqual(a);
    expect(a.clusters.map((c) => [c.id, c.faces.length, c.faces[0]])).toEqual([
      [1, 12, first[3]],
      [2, 9, first[1]],
      [3, 9, first[2]],
      [4, 6, first[0]],
    ]);
  });

  it('finds the same clusters through USearch as through the exact index', () => {
    const lib = library({ seed: 9, people: 10, perPerson: 10, strangers: 10 });
    const exact = clusterFaces(lib.x, dim, nobody(lib.n));
    const hnsw = clusterFaces(lib.x, dim, nobody(lib.n), { index: usearchIndexProvider });
    expect(hnsw.options.index).toBe('usearch');
    expect(hnsw.clusters).toEqual(exact.clusters);
    expect(hnsw.noise).toEqual(exact.noise);
  });

  it('finds the same clusters through a quantized index (int8: rough order, similarities low by a fifth): similarities are exact', () => {
    // 1024-d people whose faces lie at cosine about 0.55 from each other (distance 0.45, under
    // epsilon 0.5): int8's own similarities (about 0.45) would leave every face alone.
    const d = 1024;
    const people = syntheticFaces({ seed: 11, dim: d, people: 10, perPerson: 10, noise: 0.9 });
    const x = unitRows(people.descriptors, d);
    const exact = clusterFaces(x, d, nobody(100));
    const int8 = clusterFaces(x, d, nobody(100), { index: usearchProvider({ ...LIBRARY_INDEX, quantization: 'i8' }) });
    expect(exact.clusters.length).toBe(10);
    expect(int8.clusters).toEqual(exact.clusters);
    expect(int8.noise).toEqual(exact.noise);
  });

  it('refuses descriptors that are not unit rows, names of the wrong count, impossible options', () => {
    const lib = library({ seed: 1, people: 2, perPerson: 5 });
    const raw = syntheticFaces({ seed: 1, dim, people: 2, perPerson: 5 }).descriptors;
    expect(() => clusterFaces(raw, dim, nobody(10))).toThrow(/descriptor 0 is not a unit vector/);
    expect(() => clusterFaces(lib.x, dim, nobody(9))).toThrow(/10 descriptors but 9 names/);
    expect(() => clusterFaces(lib.x.subarray(1), dim, nobody(10))).toThrow(/not a whole number of 128-d/);
    expect(() => clusterFaces(lib.x, dim, nobody(10), { maxNeighbours: 2 })).toThrow(/maxNeighbours \(2\) must be at least minSamples \(4\)/);
    expect(() => clusterFaces(lib.x, dim, nobody(10), { epsilon: 0 })).toThrow(/epsilon must be/);
    expect(() => clusterFaces(lib.x, dim, [...nobody(9), ''])).toThrow(/name of face 9/);
    expect(clusterFaces(new Float32Array(0), dim, [])).toMatchObject({ clusters: [], noise: [] });
  });
});

const DBSCAN = (densityClustering as { DBSCAN: new () => { run(d: number[], e: number, m: number, f: (a: number, b: number) => number): number[][] } }).DBSCAN;

describe('dbscanOnGraph', () => {
  // Random neighbour graphs: each row's neighbours closer than epsilon, capped, not always
  // symmetric (a capped nearest-neighbour list is not), as neighbourGraph gives them.
  const randomGraph = (n: number, seed: number) => {
    const prng = new Prng(seed);
    const rows: Int32Array[] = [];
    const distances: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      const group = Math.floor(i / 7);
      const r = new Set<number>();
      const links = Math.floor(prng.next() * 6);
      for (let k = 0; k < links; k++) {
        // Mostly within a group of 7 rows, sometimes anywhere (bridges between groups).
        const j = prng.next() < 0.9 ? Math.min(n - 1, group * 7 + Math.floor(prng.next() * 7)) : Math.floor(prng.next() * n);
        if (j !== i) r.add(j);
      }
      rows.push(Int32Array.from(r));
      distances.push(Float32Array.from([...r], () => 0.1 + 0.3 * prng.next()));
    }
    return { rows, distances };
  };

  it("gives exactly the library's own DBSCAN answer on the same graph (clusters, order, members)", () => {
    for (const seed of [1, 2, 3]) {
      const graph = randomGraph(400, seed);
      // The library's own region query: distance(p, q) for every q, from p's row of the graph.
      const distance = (a: number, b: number) => {
        if (a === b) return 0;
        const k = graph.rows[a].indexOf(b);
        return k < 0 ? Infinity : graph.distances[a][k];
      };
      const plain = new DBSCAN().run(Array.from({ length: 400 }, (_, i) => i), 0.5, 3, distance);
      const ours = dbscanOnGraph(graph, 0.5, 3);
      expect(plain.length).toBeGreaterThan(5);
      expect(ours).toEqual(plain);
    }
  });

  it('runs in time linear in the faces: 300 000 rows (the plain library asks 9e10 distances)', () => {
    const graph = randomGraph(300_000, 4);
    const clusters = dbscanOnGraph(graph, 0.5, 3);
    expect(clusters.length).toBeGreaterThan(1000);
    expect(new Set(clusters.flat()).size).toBe(clusters.flat().length);
  }, 20_000);
});
