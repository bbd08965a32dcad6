// Clustering that holds as a library grows (src/library/README.md, "Clustering at library
// scale"): DBSCAN over a ladder of epsilons with clusters chosen by stability, so that faces of
// strangers between two people no longer chain them into one cluster; and noise attached to a
// cluster only above what a stranger reaches against the best of that many clusters.
import { describe, expect, it } from 'vitest';
import { clusterFaces, neighbourGraph } from '../src/library/cluster.ts';
import { dbscanOnGraph } from '../src/library/dbscan-graph.ts';
import { epsilonLadder, stableClusters } from '../src/library/stable-clusters.ts';
import { strangerBound } from '../src/library/stranger-bound.ts';
import { gaussian, syntheticFaces, unitRows } from '../src/gallery/synthetic.ts';
import { Prng } from '../src/train/prng.ts';

const dim = 64;

/** Unit rows at `angle` degrees from e0 towards e1, spread by `spread` in the other dimensions. */
function around(prng: Prng, count: number, angle: number, spread: number): Float32Array {
  const out = new Float32Array(count * dim);
  const noise = new Float32Array(dim - 2);
  for (let i = 0; i < count; i++) {
    gaussian(prng, noise, spread / Math.sqrt(dim - 2));
    out[i * dim] = Math.cos((angle * Math.PI) / 180);
    out[i * dim + 1] = Math.sin((angle * Math.PI) / 180);
    out.set(noise, i * dim + 2);
  }
  return unitRows(out, dim);
}

/**
 * Two people 110 degrees apart (10 faces each) and 3 strangers' faces half-way between: every
 * stranger's face is within 0.5 (about 57 degrees) of every face of both people, so DBSCAN at
 * 0.5 joins all 23; at 0.425 and tighter no face of one person is near a stranger's.
 */
function bridged() {
  const prng = new Prng(7);
  const x = new Float32Array(23 * dim);
  x.set(around(prng, 10, 0, 0.25), 0);
  x.set(around(prng, 10, 110, 0.25), 10 * dim);
  x.set(around(prng, 3, 55, 0.1), 20 * dim);
  return x;
}

const nobody = (n: number) => new Array<string | null>(n).fill(null);

describe('clusters over a ladder of epsilons', () => {
  it('no longer chains two people through strangers between them, where DBSCAN at one epsilon does', () => {
    const x = bridged();
    const graph = neighbourGraph(x, dim, 0.5, 32);
    // The premise: the strangers are within 0.5 of both people, and DBSCAN at 0.5 joins all.
    const joined = dbscanOnGraph(graph, 0.5, 4);
    expect(joined.map((c) => [...c].sort((a, b) => a - b))).toEqual([Array.from({ length: 23 }, (_, i) => i)]);
    const plain = clusterFaces(x, dim, nobody(23), { minEpsilon: 0.5, attachSimilarity: null });
    expect(plain.clusters.map((c) => c.faces.length)).toEqual([23]);

    const laddered = clusterFaces(x, dim, nobody(23), { attachSimilarity: null });
    expect(laddered.clusters.map((c) => c.faces)).toEqual([Array.from({ length: 10 }, (_, i) => i), Array.from({ length: 10 }, (_, i) => 10 + i)]);
    expect(laddered.noise).toEqual([20, 21, 22]);
  });

  it('keeps a person whole at every level as one cluster (a tighter level only sheds faces)', () => {
    const people = syntheticFaces({ seed: 5, dim, people: 6, perPerson: 12, noise: 0.8 });
    const x = unitRows(people.descriptors, dim);
    const r = clusterFaces(x, dim, nobody(72), { attachSimilarity: null });
    expect(r.clusters.map((c) => c.faces).sort((a, b) => a[0] - b[0])).toEqual(Array.from({ length: 6 }, (_, p) => Array.from({ length: 12 }, (_, f) => p * 12 + f)));
  });

  it('a ladder of one level is DBSCAN at that epsilon', () => {
    const x = bridged();
    const graph = neighbourGraph(x, dim, 0.5, 32);
    for (const eps of [0.5, 0.45, 0.3]) {
      const cut = { rows: graph.rows.map((r, i) => r.filter((_, k) => graph.distances[i][k] < eps)), distances: graph.distances.map((d) => d.filter((v) => v < eps)) };
      expect(stableClusters(graph, [eps], 4, 4)).toEqual(dbscanOnGraph(cut, eps, 4).filter((c) => c.length >= 4).map((c) => [...c].sort((a, b) => a - b)));
    }
  });

  it('builds the ladder from the loosest epsilon down, the tightest included, and refuses bad ones', () => {
    expect(epsilonLadder(0.5, 0.4, 0.025)).toEqual([0.5, 0.475, 0.45, 0.425, 0.4]);
    expect(epsilonLadder(0.5, 0.42, 0.05)).toEqual([0.5, 0.45, 0.42]);
    expect(epsilonLadder(0.5, 0.5, 0.025)).toEqual([0.5]);
    expect(() => epsilonLadder(0.5, 0.6, 0.025)).toThrow(/tightest epsilon must be in \(0, 0.5\]/);
    expect(() => epsilonLadder(0.5, 0.2, 0)).toThrow(/step must be positive/);
    expect(() => stableClusters({ rows: [], distances: [] }, [0.3, 0.5], 4, 4)).toThrow(/strictly decreasing/);
    expect(() => clusterFaces(bridged(), dim, nobody(23), { minEpsilon: 0.6 })).toThrow(/minEpsilon must be in \(0, epsilon = 0.5\], got 0.6/);
    expect(() => clusterFaces(bridged(), dim, nobody(23), { attachStrangerRate: 1 })).toThrow(/attachStrangerRate must be a chance in \(0, 1\) or null, got 1/);
  });
});

describe('attaching noise: the stranger bound', () => {
  /** `people` clusters of 5 faces (rows first), then `strangers` faces of one photo each. */
  function library(seed: number, people: number, strangers: number) {
    const known = syntheticFaces({ seed, dim, people, perPerson: 5, noise: 0.8 });
    const once = syntheticFaces({ seed, dim, people: strangers, perPerson: 1, noise: 0.8, firstPerson: 100_000, faceSeed: 1 });
    const x = new Float32Array(known.descriptors.length + once.descriptors.length);
    x.set(known.descriptors);
    x.set(once.descriptors, known.descriptors.length);
    return unitRows(x, dim);
  }
  const mean = (x: Float32Array, rows: number[]) => {
    const m = new Float32Array(dim);
    for (const r of rows) for (let j = 0; j < dim; j++) m[j] += x[r * dim + j];
    return unitRows(m, dim);
  };

  it('rises with the number of clusters, and new strangers stay under it at about the rate asked', () => {
    const bounds: number[] = [];
    let over = 0;
    let overFixed = 0;
    const fresh = unitRows(syntheticFaces({ seed: 9, dim, people: 2000, perPerson: 1, noise: 0.8, firstPerson: 500_000 }).descriptors, dim);
    for (const people of [4, 400]) {
      const x = library(3, people, 400);
      const owner = new Int32Array(people * 5 + 400).fill(-1);
      const dirs = new Float32Array(people * dim);
      for (let p = 0; p < people; p++) {
        const rows = Array.from({ length: 5 }, (_, f) => p * 5 + f);
        rows.forEach((r) => (owner[r] = p));
        dirs.set(mean(x, rows), p * dim);
      }
      const bound = strangerBound(x, dim, owner, dirs, 0.05)!;
      bounds.push(bound.similarity);
      if (people !== 400) continue;
      // 2000 people never seen: how many reach the bound against the best of the 400 clusters.
      for (let s = 0; s < 2000; s++) {
        let best = -1;
        for (let k = 0; k < people; k++) {
          let d = 0;
          for (let j = 0; j < dim; j++) d += fresh[s * dim + j] * dirs[k * dim + j];
          best = Math.max(best, d);
        }
        if (best >= bound.similarity) over++;
        if (best >= bounds[0]) overFixed++;
      }
    }
    expect(bounds[1]).toBeGreaterThan(bounds[0] + 0.05);
    expect(over / 2000).toBeLessThanOrEqual(0.06);
    // The bound fitted to 4 clusters, used against 400, lets many strangers in: why it moves.
    expect(overFixed / 2000).toBeGreaterThan(0.2);
  });

  it('keeps strangers out of a big library\'s clusters, where the fixed threshold alone lets them in', () => {
    const people = 300;
    const x = library(4, people, 300);
    const n = people * 5 + 300;
    const strangersIn = (r: ReturnType<typeof clusterFaces>) => r.clusters.reduce((a, c) => a + c.faces.filter((f) => f >= people * 5).length, 0);
    const fixed = clusterFaces(x, dim, nobody(n), { attachSimilarity: 0.3, attachStrangerRate: null });
    const bounded = clusterFaces(x, dim, nobody(n), { attachSimilarity: 0.3 });
    expect(fixed.options.attachThreshold).toBe(0.3);
    expect(bounded.options.attachThreshold).toBeGreaterThan(0.3);
    expect(strangersIn(fixed)).toBeGreaterThan(100);
    expect(strangersIn(bounded)).toBeLessThanOrEqual(15);
  });
});
