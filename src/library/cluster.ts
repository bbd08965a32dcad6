// People from clusters: the faces of a photo library grouped into candidate people by
// density (DBSCAN from npm `density-clustering`, at a ladder of epsilons), over cosine
// distance between unit descriptors, with the people a user has already named kept apart.
// Platform-neutral: the neighbour search goes through the gallery's IndexProvider (exact
// FlatIndex by default; Node callers pass USearch's HNSW for large libraries). README.md
// ("Clustering") gives the measurements behind the defaults and the costs.
//
// Steps:
// 1. Neighbour graph: each face's nearest faces (at most `maxNeighbours`) closer than
//    `epsilon`. Capping the list bounds the work of dense clusters (a person with thousands of
//    faces) and makes an approximate index usable; a face's core status is unchanged as long
//    as maxNeighbours >= minSamples.
// 2. DBSCAN over that graph at every epsilon from `epsilon` down to `minEpsilon`, and the
//    clusters that hold over the widest range of them kept (stable-clusters.ts: HDBSCAN's
//    choice by stability). One epsilon chains people together once a library is large (the
//    strangers within any epsilon grow with the library); a ladder of one level (minEpsilon =
//    epsilon) is plain DBSCAN. Clusters smaller than `minClusterSize` are noise.
// 3. Named people are never merged: a cluster holding faces named as two or more people is
//    split, each named face to its person and each unnamed face to the person whose named
//    faces in that cluster it is most similar to (their mean direction). A person's pieces
//    (and their named faces left as noise) become one cluster carrying the name; clusters
//    nobody named are the candidates.
// 4. Faces left as noise join the cluster whose mean direction they are most similar to, when
//    that similarity reaches `attachSimilarity` (a face against a template, as identification
//    compares): the density steps leave out a person's outlying photos, and this recovers
//    most of them while people seen once stay noise.
// 5. Ids: clusters ordered by size (largest first), then by their lowest row; ids 1, 2, ...
//    The same input and options give the same ids.

import { flatIndexProvider } from '../gallery/flat-index.ts';
import { dot } from '../gallery/pair-scores.ts';
import type { IndexProvider, VectorIndex } from '../gallery/vector-index.ts';
import { epsilonLadder, stableClusters } from './stable-clusters.ts';
import { strangerBound } from './stranger-bound.ts';

export interface ClusterOptions {
  /** Two faces are neighbours when their cosine distance (1 - cosine similarity) is below this: the loosest level of the ladder. */
  epsilon?: number;
  /** The tightest level of the ladder (<= epsilon; equal: plain DBSCAN at epsilon). */
  minEpsilon?: number;
  /** The ladder's step from epsilon down to minEpsilon. */
  epsilonStep?: number;
  /** A face is the core of a cluster when at least this many faces (itself included) are its neighbours. */
  minSamples?: number;
  /** Smaller clusters are dissolved into noise. */
  minClusterSize?: number;
  /** Neighbours kept per face (>= minSamples). */
  maxNeighbours?: number;
  /** A noise face joins the most similar cluster (cosine to its mean direction) at or above this; null: never. */
  attachSimilarity?: number | null;
  /**
   * And only above the similarity a stranger's face reaches against the best of the clusters,
   * estimated from the library, at this chance (stranger-bound.ts); null: attachSimilarity alone.
   */
  attachStrangerRate?: number | null;
  /**
   * Per face, the people it was taken off by hand: it never ends up in one of their
   * clusters, and is noise where such a cluster is all it would join.
   */
  notNamed?: readonly (readonly string[])[];
  /** The index neighbours are searched with (default: exact FlatIndex, O(n^2 dim)). */
  index?: IndexProvider;
  /** An index that already holds every row, used instead of building one (e.g. a photo library's search index); its owner closes it. */
  builtIndex?: BuiltIndex;
  /** Faces done of all, per step (a million faces take half an hour: src/library/README.md). */
  onProgress?: (step: NeighbourStep, done: number, total: number) => void;
}

/** An index holding every row under keys of its own: `rowOf` maps a key back to its row. */
export interface BuiltIndex {
  index: VectorIndex;
  rowOf: (key: number) => number;
}

/** The neighbour graph's two long steps: every face added to the index, then each searched. */
export type NeighbourStep = 'indexing' | 'searching';

/** The settings a clustering runs with (ClusterOptions less the index and the progress callback). */
export interface ClusterSettings {
  epsilon: number;
  minEpsilon: number;
  epsilonStep: number;
  minSamples: number;
  minClusterSize: number;
  maxNeighbours: number;
  attachSimilarity: number | null;
  attachStrangerRate: number | null;
}

/**
 * Defaults measured on ORL and 5-celebrity-faces and on drawn libraries of 100 000 and a
 * million faces (README.md, "Clustering"). A minEpsilon not given is min(this one, epsilon).
 */
export const CLUSTER_DEFAULTS: ClusterSettings = {
  epsilon: 0.5,
  minEpsilon: 0.2,
  epsilonStep: 0.025,
  minSamples: 4,
  minClusterSize: 4,
  maxNeighbours: 32,
  attachSimilarity: 0.4,
  attachStrangerRate: 0.05,
};

export interface FaceCluster {
  /** 1, 2, ... in order of size (largest first), then of lowest row. */
  id: number;
  /** Rows of the descriptors, ascending. */
  faces: number[];
  /** The named person the cluster belongs to; null for a candidate person (nobody named any of its faces). */
  person: string | null;
  /** How many of `faces` are named (as `person`); 0 for a candidate. */
  named: number;
  /**
   * For a candidate, when anybody is named: the named person most like it (cosine between the
   * mean directions of the cluster and of that person's named faces). A hint, never applied.
   */
  nearest: { person: string; similarity: number } | null;
}

export interface FaceClustering {
  /** Every cluster, named or candidate, by size (largest first) then lowest row: ids 1, 2, ... in this order. */
  clusters: FaceCluster[];
  /** Unnamed faces in no cluster, ascending. (A named face is always in its person's cluster.) */
  noise: number[];
  /** The options the clustering ran with (index: its kind). */
  options: ClusterSettings & { attachThreshold: number | null; index: string };
}

/** Rows whose squared norm is further than this from 1 are refused: the clustering needs unit vectors. */
const UNIT_TOLERANCE = 1e-3;
/** Queries per index search call. */
const SEARCH_BATCH = 256;
/** Faces added to the neighbours' index per call (progress between calls; the index adds each batch on every core). */
const ADD_BATCH = 10_000;
/**
 * The index only proposes candidates; every similarity that decides anything (epsilon, the
 * attach threshold, which cluster is nearest) is computed exactly on the float32 rows. A
 * quantized index (the library's int8) orders its candidates roughly and reports similarities
 * low by about a fifth, so it is asked for this many more than are kept.
 */
const EXTRA_CANDIDATES = 16;


function checkInput(descriptors: Float32Array, dim: number, named: readonly (string | null)[]): number {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`clusterFaces: dimension must be a positive integer, got ${dim}`);
  if (descriptors.length % dim !== 0) throw new Error(`clusterFaces: ${descriptors.length} values are not a whole number of ${dim}-d descriptors`);
  const n = descriptors.length / dim;
  if (named.length !== n) throw new Error(`clusterFaces: ${n} descriptors but ${named.length} names (one per face, null for none)`);
  named.forEach((p, i) => {
    if (p !== null && (typeof p !== 'string' || p === '')) throw new Error(`clusterFaces: the name of face ${i} is not a non-empty string or null`);
  });
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) ss += descriptors[j] * descriptors[j];
    if (!(Math.abs(ss - 1) <= UNIT_TOLERANCE)) throw new Error(`clusterFaces: descriptor ${i} is not a unit vector (norm ${Math.sqrt(ss)}): give normalised descriptors`);
  }
  return n;
}

function resolveOptions(opts: ClusterOptions): ClusterSettings {
  const given = Object.fromEntries(Object.entries(opts).filter(([k, v]) => k !== 'index' && k !== 'builtIndex' && k !== 'onProgress' && v !== undefined));
  const o: ClusterSettings = { ...CLUSTER_DEFAULTS, ...given };
  if (!(o.epsilon > 0 && o.epsilon <= 2)) throw new Error(`clusterFaces: epsilon must be a cosine distance in (0, 2], got ${o.epsilon}`);
  if (opts.minEpsilon === undefined) o.minEpsilon = Math.min(CLUSTER_DEFAULTS.minEpsilon, o.epsilon);
  if (!(o.minEpsilon > 0 && o.minEpsilon <= o.epsilon)) throw new Error(`clusterFaces: minEpsilon must be in (0, epsilon = ${o.epsilon}], got ${o.minEpsilon}`);
  if (!(o.epsilonStep > 0)) throw new Error(`clusterFaces: epsilonStep must be positive, got ${o.epsilonStep}`);
  for (const k of ['minSamples', 'minClusterSize', 'maxNeighbours'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`clusterFaces: ${k} must be a positive integer, got ${o[k]}`);
  }
  if (o.attachSimilarity !== null && !(typeof o.attachSimilarity === 'number' && o.attachSimilarity >= -1 && o.attachSimilarity <= 1)) throw new Error(`clusterFaces: attachSimilarity must be a cosine similarity in [-1, 1] or null, got ${o.attachSimilarity}`);
  if (o.attachStrangerRate !== null && !(typeof o.attachStrangerRate === 'number' && o.attachStrangerRate > 0 && o.attachStrangerRate < 1)) throw new Error(`clusterFaces: attachStrangerRate must be a chance in (0, 1) or null, got ${o.attachStrangerRate}`);
  if (o.maxNeighbours < o.minSamples) throw new Error(`clusterFaces: maxNeighbours (${o.maxNeighbours}) must be at least minSamples (${o.minSamples})`);
  return o;
}

/**
 * Each row's neighbours closer than epsilon (at most maxNeighbours, nearest first, itself
 * excluded) and their exact distances (the index's candidates re-scored on the rows). The
 * index is built here with `source`, or is `source` itself when it already holds every row.
 */
export function neighbourGraph(
  x: Float32Array,
  dim: number,
  epsilon: number,
  maxNeighbours: number,
  source: IndexProvider | BuiltIndex = flatIndexProvider,
  onProgress?: ClusterOptions['onProgress'],
): { rows: Int32Array[]; distances: Float32Array[] } {
  const n = x.length / dim;
  const rows: Int32Array[] = [];
  const distances: Float32Array[] = [];
  if (n === 0) return { rows, distances };
  const built = 'index' in source ? source : null;
  if (built && built.index.size !== n) throw new Error(`clusterFaces: the index given holds ${built.index.size} vectors, not the ${n} rows`);
  const index = built ? built.index : (source as IndexProvider).create(dim);
  const rowOf = built ? built.rowOf : (k: number) => k;
  try {
    for (let at = 0; !built && at < n; at += ADD_BATCH) {
      const end = Math.min(n, at + ADD_BATCH);
      index.add(Array.from({ length: end - at }, (_, i) => at + i), x.subarray(at * dim, end * dim));
      onProgress?.('indexing', end, n);
    }
    for (let at = 0; at < n; at += SEARCH_BATCH) {
      onProgress?.('searching', at, n);
      const hits = index.search(x.subarray(at * dim, Math.min(n, at + SEARCH_BATCH) * dim), Math.min(n, maxNeighbours + 1 + EXTRA_CANDIDATES));
      hits.forEach((h, q) => {
        const self = at + q;
        const near = h.keys
          .map(rowOf)
          .filter((k) => k !== self)
          .map((k) => ({ k, d: 1 - dot(x, self * dim, x, k * dim, dim) }))
          .filter((c) => c.d < epsilon)
          .sort((a, b) => a.d - b.d || a.k - b.k)
          .slice(0, maxNeighbours);
        rows.push(Int32Array.from(near, (c) => c.k));
        distances.push(Float32Array.from(near, (c) => c.d));
      });
    }
    onProgress?.('searching', n, n);
  } finally {
    if (!built) index.close?.();
  }
  return { rows, distances };
}

/** The unit mean direction of some rows. */
function meanDirection(x: Float32Array, dim: number, rows: readonly number[]): Float64Array {
  const m = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < dim; j++) m[j] += x[r * dim + j];
  let ss = 0;
  for (let j = 0; j < dim; j++) ss += m[j] * m[j];
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let j = 0; j < dim; j++) m[j] *= inv;
  return m;
}

/** The mean directions of groups of rows, as rows [groups, dim]. */
function directions(x: Float32Array, dim: number, groups: readonly (readonly number[])[]): Float32Array {
  const out = new Float32Array(groups.length * dim);
  groups.forEach((rows, g) => out.set(meanDirection(x, dim, rows), g * dim));
  return out;
}

function rowsOf(x: Float32Array, dim: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, k) => out.set(x.subarray(r * dim, (r + 1) * dim), k * dim));
  return out;
}

/**
 * For each query row, the most similar target row (its number and exact cosine), among the
 * candidates of an index of the targets.
 */
function bestMatches(provider: IndexProvider, dim: number, targets: Float32Array, queries: Float32Array): { key: number; similarity: number }[] {
  const index = provider.create(dim);
  try {
    const t = targets.length / dim;
    index.add(Array.from({ length: t }, (_, i) => i), targets);
    const out: { key: number; similarity: number }[] = [];
    for (let at = 0; at < queries.length / dim; at += SEARCH_BATCH) {
      const hits = index.search(queries.subarray(at * dim, (at + SEARCH_BATCH) * dim), Math.min(t, 1 + EXTRA_CANDIDATES));
      hits.forEach((h, q) => {
        let best = { key: h.keys[0], similarity: -Infinity };
        for (const k of h.keys) {
          const s = dot(queries, (at + q) * dim, targets, k * dim, dim);
          if (s > best.similarity || (s === best.similarity && k < best.key)) best = { key: k, similarity: s };
        }
        out.push(best);
      });
    }
    return out;
  } finally {
    index.close?.();
  }
}

function similarity(x: Float32Array, dim: number, row: number, dir: Float64Array): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += x[row * dim + j] * dir[j];
  return s;
}

/**
 * A cluster holding faces named as several people, split: named faces to their person, each
 * unnamed face to the person whose named faces here it is most similar to (ties: the first
 * name in sorted order, so the split is deterministic).
 */
export function splitByNames(x: Float32Array, dim: number, faces: readonly number[], named: readonly (string | null)[]): Map<string, number[]> {
  const people = [...new Set(faces.map((f) => named[f]).filter((p): p is string => p !== null))].sort();
  const dirs = people.map((p) => meanDirection(x, dim, faces.filter((f) => named[f] === p)));
  const parts = new Map<string, number[]>(people.map((p) => [p, []]));
  for (const f of faces) {
    const own = named[f];
    if (own !== null) {
      parts.get(own)!.push(f);
      continue;
    }
    let best = 0;
    let bestS = -Infinity;
    dirs.forEach((d, k) => {
      const s = similarity(x, dim, f, d);
      if (s > bestS) {
        bestS = s;
        best = k;
      }
    });
    parts.get(people[best])!.push(f);
  }
  return parts;
}

/**
 * Group faces into people. `descriptors` are unit rows [n, dim] (as galleries store them);
 * `named[i]` is the person face i was named as, or null. See FaceClustering for the answer.
 */
export function clusterFaces(descriptors: Float32Array, dim: number, named: readonly (string | null)[], opts: ClusterOptions = {}): FaceClustering {
  const o = resolveOptions(opts);
  const n = checkInput(descriptors, dim, named);
  checkNotNamed(opts.notNamed, n);
  const graph = neighbourGraph(descriptors, dim, o.epsilon, o.maxNeighbours, opts.builtIndex ?? opts.index ?? flatIndexProvider, opts.onProgress);
  return clusterChecked(descriptors, dim, n, named, opts.notNamed ?? null, graph, o, opts.index ?? flatIndexProvider);
}

/**
 * Steps 2-5 of clusterFaces over a neighbour graph already found (neighbourGraph of the same
 * rows at the same epsilon and maxNeighbours, or wider): one graph, many settings tried on it.
 */
export function clusterGraph(
  descriptors: Float32Array,
  dim: number,
  named: readonly (string | null)[],
  graph: { rows: Int32Array[]; distances: Float32Array[] },
  opts: Omit<ClusterOptions, 'builtIndex' | 'onProgress'> = {},
): FaceClustering {
  const o = resolveOptions(opts);
  const n = checkInput(descriptors, dim, named);
  if (graph.rows.length !== n) throw new Error(`clusterGraph: the graph has ${graph.rows.length} rows for ${n} faces`);
  checkNotNamed(opts.notNamed, n);
  return clusterChecked(descriptors, dim, n, named, opts.notNamed ?? null, graph, o, opts.index ?? flatIndexProvider);
}

function checkNotNamed(notNamed: readonly (readonly string[])[] | undefined, n: number): void {
  if (notNamed && notNamed.length !== n) throw new Error(`clusterFaces: ${n} descriptors but ${notNamed.length} notNamed entries (one list per face)`);
}

function clusterChecked(
  descriptors: Float32Array,
  dim: number,
  n: number,
  named: readonly (string | null)[],
  notNamed: readonly (readonly string[])[] | null,
  graph: { rows: Int32Array[]; distances: Float32Array[] },
  o: ClusterSettings,
  provider: IndexProvider,
): FaceClustering {
  const found = stableClusters(graph, epsilonLadder(o.epsilon, o.minEpsilon, o.epsilonStep), o.minSamples, o.minClusterSize);

  const inCluster = new Uint8Array(n);
  const byPerson = new Map<string, number[]>();
  const candidates: number[][] = [];
  const addTo = (person: string, rows: readonly number[]) => {
    const list = byPerson.get(person) ?? [];
    for (const f of rows) list.push(f);
    byPerson.set(person, list);
  };
  for (const c of found) {
    for (const f of c) inCluster[f] = 1;
    const people = new Set(c.map((f) => named[f]).filter((p): p is string => p !== null));
    if (people.size === 0) candidates.push(c);
    else if (people.size === 1) addTo([...people][0], c);
    else for (const [p, rows] of splitByNames(descriptors, dim, c, named)) addTo(p, rows);
  }
  let noise: number[] = [];
  for (let i = 0; i < n; i++) {
    if (inCluster[i]) continue;
    const p = named[i];
    if (p === null) noise.push(i);
    else addTo(p, [i]);
  }
  // Faces taken off a person by hand leave that person's cluster (they are unnamed, so noise).
  const isNot = (f: number, person: string | null) => notNamed !== null && person !== null && notNamed[f].includes(person);
  if (notNamed) {
    for (const [person, rows] of byPerson) {
      const kept = rows.filter((f) => !isNot(f, person));
      if (kept.length === rows.length) continue;
      noise.push(...rows.filter((f) => isNot(f, person)));
      byPerson.set(person, kept);
    }
    noise.sort((a, b) => a - b);
  }

  const groups: { rows: number[]; person: string | null }[] = [...[...byPerson].map(([person, rows]) => ({ rows, person })), ...candidates.map((rows) => ({ rows, person: null }))];
  let attachThreshold: number | null = null;
  if (o.attachSimilarity !== null && noise.length && groups.length) {
    // Against the clusters as they were before any face joined: the order of the noise does not matter.
    const dirs = directions(descriptors, dim, groups.map((g) => g.rows));
    attachThreshold = o.attachSimilarity;
    if (o.attachStrangerRate !== null) {
      const owner = new Int32Array(n).fill(-1);
      groups.forEach((g, k) => g.rows.forEach((f) => (owner[f] = k)));
      const bound = strangerBound(descriptors, dim, owner, dirs, o.attachStrangerRate);
      if (bound) attachThreshold = Math.max(attachThreshold, bound.similarity);
    }
    const best = bestMatches(provider, dim, dirs, rowsOf(descriptors, dim, noise));
    const left: number[] = [];
    noise.forEach((f, k) => (best[k].similarity >= attachThreshold! && !isNot(f, groups[best[k].key].person) ? groups[best[k].key].rows.push(f) : left.push(f)));
    noise = left;
  }

  const people = [...byPerson.keys()].sort();
  const candidateAt = groups.flatMap((g, i) => (g.person === null ? [i] : []));
  const nearest =
    people.length && candidateAt.length
      ? bestMatches(provider, dim, directions(descriptors, dim, people.map((p) => byPerson.get(p)!.filter((f) => named[f] === p))), directions(descriptors, dim, candidateAt.map((i) => groups[i].rows)))
      : [];
  const clusters: Omit<FaceCluster, 'id'>[] = groups.map((g) => ({
    faces: g.rows.sort((a, b) => a - b),
    person: g.person,
    named: g.person === null ? 0 : g.rows.filter((f) => named[f] === g.person).length,
    nearest: null,
  }));
  nearest.forEach((m, k) => (clusters[candidateAt[k]].nearest = { person: people[m.key], similarity: m.similarity }));
  // Rows belong to one cluster each, so the lowest rows differ: the order is total.
  clusters.sort((a, b) => b.faces.length - a.faces.length || a.faces[0] - b.faces[0]);
  return {
    clusters: clusters.map((c, k) => ({ id: k + 1, ...c })),
    noise,
    options: { ...o, attachThreshold, index: provider.kind },
  };
}
