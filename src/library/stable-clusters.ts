// Clusters that do not chain as a library grows: DBSCAN (density-clustering, through
// dbscanOnGraph) run at a ladder of epsilons over one neighbour graph, and the clusters kept
// chosen as HDBSCAN chooses them, by stability (excess of mass; Campello, Moulavi & Sander,
// 2013). Platform-neutral.
//
// Why: one epsilon cannot suit every library size. The chance that a stranger's face lies
// within epsilon of a face is fixed by the descriptor, so the number of such strangers grows
// with the library, and DBSCAN joins two people through any one of them: on 100 000 drawn
// faces DBSCAN at 0.5 (right for the 515 faces of ORL and 5-celebrity-faces) put 78% of the
// faces in one cluster, and at a million 82% (src/library/README.md, "Clustering at library
// scale"). A chained cluster is short-lived (it falls apart a step tighter), a person's
// cluster lives on over many steps, and stability measures exactly that: the clusters kept
// are the ones that hold their faces over the widest range of density.
//
// How, on the ladder's levels e_0 > e_1 > ... (lambda_l = 1 - e_l, the cosine similarity of
// the level; HDBSCAN's 1 / distance weighs the tight levels far more, and split 3 of ORL's 40
// people in two where this keeps them whole, with the same clusters on drawn libraries):
// 1. DBSCAN at each level over the graph cut at e_l (its rows are nearest first, so a level's
//    graph is a prefix of each row); clusters under minClusterSize are noise at that level.
// 2. A cluster at level l + 1 belongs to the cluster at level l holding most of its faces
//    (DBSCAN's core faces nest exactly; a border face may sit elsewhere).
// 3. A cluster with one child at the next level lives on in it; with none it ends; with two
//    or more it splits into them. Its stability is the integral of its size over lambda while
//    it lives: sum of |C_l| (lambda_{l+1} - lambda_l) (HDBSCAN's sum over faces of
//    lambda_leave - lambda_birth), the last level counted one step.
// 4. From the leaves up, a cluster is kept when its stability is at least its children's
//    kept stabilities together; otherwise they are kept. The top level's clusters are never
//    merged (HDBSCAN's root is not selectable either).
// 5. A kept cluster holds its faces at its birth (its widest level). A face kept twice (a
//    border face that DBSCAN put in two branches) stays in the first, by level then DBSCAN's
//    order; a cluster left under minClusterSize is dissolved.
// A ladder of one level is plain DBSCAN at that epsilon.
import { dbscanOnGraph } from './dbscan-graph.ts';

/** Levels from `top` down to `bottom` by `step` (bottom included; rounded to 1e-6 against drift). */
export function epsilonLadder(top: number, bottom: number, step: number): number[] {
  if (!(bottom > 0 && bottom <= top)) throw new Error(`epsilonLadder: the tightest epsilon must be in (0, ${top}], got ${bottom}`);
  if (!(step > 0)) throw new Error(`epsilonLadder: the step must be positive, got ${step}`);
  const levels: number[] = [];
  for (let k = 0; ; k++) {
    const e = Math.round((top - k * step) * 1e6) / 1e6;
    if (e <= bottom + 1e-9) break;
    levels.push(e);
  }
  levels.push(bottom);
  return levels;
}

interface Level {
  /** Cluster of each face at this level, -1: noise. */
  label: Int32Array;
  sizes: number[];
}

/** Clusters (rows, ascending within each) chosen over the ladder; the graph's rows nearest first. */
export function stableClusters(
  graph: { rows: Int32Array[]; distances: Float32Array[] },
  ladder: readonly number[],
  minSamples: number,
  minClusterSize: number,
): number[][] {
  const n = graph.rows.length;
  if (!ladder.length || ladder.some((e, l) => l > 0 && !(e < ladder[l - 1]))) throw new Error(`stableClusters: the ladder must be epsilons strictly decreasing, got ${ladder.join(', ')}`);
  const levels: Level[] = ladder.map((eps) => {
    const rows: Int32Array[] = new Array(n);
    const distances: Float32Array[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const d = graph.distances[i];
      let m = 0;
      while (m < d.length && d[m] < eps) m++;
      rows[i] = graph.rows[i].subarray(0, m);
      distances[i] = d.subarray(0, m);
    }
    const label = new Int32Array(n).fill(-1);
    const sizes: number[] = [];
    for (const c of dbscanOnGraph({ rows, distances }, eps, minSamples)) {
      if (c.length < minClusterSize) continue;
      for (const f of c) label[f] = sizes.length;
      sizes.push(c.length);
    }
    return { label, sizes };
  });

  // children[l][k]: the clusters at level l + 1 whose faces lie mostly in cluster k of level l.
  const children: number[][][] = levels.map((lv) => lv.sizes.map(() => []));
  for (let l = 0; l + 1 < levels.length; l++) {
    const votes = levels[l + 1].sizes.map(() => new Map<number, number>());
    const below = levels[l + 1].label;
    const above = levels[l].label;
    for (let f = 0; f < n; f++) {
      if (below[f] < 0 || above[f] < 0) continue;
      const v = votes[below[f]];
      v.set(above[f], (v.get(above[f]) ?? 0) + 1);
    }
    votes.forEach((v, k) => {
      let parent = -1;
      let most = 0;
      for (const [p, c] of v) if (c > most || (c === most && p < parent)) [parent, most] = [p, c];
      if (parent >= 0) children[l][parent].push(k);
    });
  }

  const lambda = ladder.map((e) => 1 - e);
  lambda.push(lambda.length > 1 ? 2 * lambda[lambda.length - 1] - lambda[lambda.length - 2] : lambda[0] + 1);
  /** The stability kept under cluster k of level l, and which clusters (level, index) keep it. */
  const choose = (l: number, k: number): { stability: number; kept: [number, number][] } => {
    let stability = 0;
    for (let at = l, c = k; ; ) {
      stability += levels[at].sizes[c] * (lambda[at + 1] - lambda[at]);
      const next = at + 1 < levels.length ? children[at][c] : [];
      if (next.length === 1) {
        [at, c] = [at + 1, next[0]];
        continue;
      }
      if (next.length === 0) return { stability, kept: [[l, k]] };
      let below = 0;
      const kept: [number, number][] = [];
      for (const child of next) {
        const r = choose(at + 1, child);
        below += r.stability;
        kept.push(...r.kept);
      }
      return below > stability ? { stability: below, kept } : { stability, kept: [[l, k]] };
    }
  };
  const keptAt = levels.map(() => new Map<number, number>());
  const order: [number, number][] = [];
  levels[0].sizes.forEach((_, k) => order.push(...choose(0, k).kept));
  order.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  order.forEach(([l, k], i) => keptAt[l].set(k, i));

  const out: number[][] = order.map(() => []);
  const taken = new Uint8Array(n);
  levels.forEach((lv, l) => {
    if (!keptAt[l].size) return;
    for (let f = 0; f < n; f++) {
      const i = lv.label[f] >= 0 ? keptAt[l].get(lv.label[f]) : undefined;
      if (i === undefined || taken[f]) continue;
      taken[f] = 1;
      out[i].push(f);
    }
  });
  return out.filter((c) => c.length >= minClusterSize);
}
