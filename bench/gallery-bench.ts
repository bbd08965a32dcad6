// `facegpu bench gallery`: an index of a photo library's faces (a million and more) built and
// searched like the library will be, on synthetic descriptors drawn from a model fitted to
// real ones (bench/descriptor-model.ts, calibration/<backbone>.faces-model.json), or to the
// faces of a user's gallery (bench/gallery-fit.ts).
//
// Measured, in one process: the time to draw the vectors (not the index's), the build (every face
// added, on one thread as the library adds them: src/gallery/README.md), the memory the index holds
// (resident set growth over the drawn vectors), single queries one at a time (p50, p99; a user's
// search), and recall@1 and @10 of the index against exact search (inner product) of the same
// queries over the same stored float32 vectors. Queries are new faces of stored identities, never
// stored vectors. Exact search is USearch's brute force (SIMD, exactSearch), batched for the
// recall; exactP50Ms times it one query at a time on one thread, as the index searches run.
import { loadavg, cpus } from 'node:os';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tmpdir } from 'node:os';
import { exactSearch, Index, MetricKind, type BatchMatches, type Matches, type ScalarKind } from 'usearch';
import { dot } from '../src/gallery/pair-scores.ts';
import { deriveSeed, Prng } from '../src/train/prng.ts';
import { UsearchIndex, usearchAddon, type UsearchSettings } from '../src/gallery/usearch-index-node.ts';
import { MIN_CANDIDATES } from '../src/library/search-node.ts';
import { DescriptorSampler, type DescriptorModel } from './descriptor-model.ts';
import type { GalleryFitSource } from './gallery-fit.ts';
import { openLanceTable } from './lancedb-table.ts';
import { drawnCacheFile, readDrawn, writeDrawn } from './drawn-cache.ts';

export type IndexChoice =
  | ({ kind: 'usearch' } & UsearchSettings)
  | {
      kind: 'lancedb';
      /** IVF_PQ: partitions, sub-vectors per vector (8 bits each), partitions probed, refine factor (re-ranked exactly from the stored float32 vectors). */
      partitions: number;
      subVectors: number;
      nprobes: number;
      refine: number;
    };

export type InsertOrder = 'shuffled' | 'identity';
export const INSERT_ORDERS: readonly InsertOrder[] = ['shuffled', 'identity'];

/** Row numbers 0..faces-1 in the order they are added to the index (GalleryBenchOptions.insertOrder). */
export function insertionOrder(faces: number, order: InsertOrder, seed: number): Uint32Array {
  const rows = Uint32Array.from({ length: faces }, (_, i) => i);
  if (order === 'identity') return rows;
  // Fisher-Yates on the typed array (Prng.shuffled copies a plain array: 8 bytes a row more).
  const rng = new Prng(deriveSeed(seed, 'insert-order'));
  for (let i = faces - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}

export interface GalleryBenchOptions {
  faces: number;
  queries: number;
  seed: number;
  model: DescriptorModel;
  /** Where the model came from, for the result: its file, or what it was fitted to. */
  modelFile: string;
  /** The model fitted to a gallery's faces (bench/gallery-fit.ts) rather than read from a file. */
  fittedFrom?: GalleryFitSource;
  /** The model file's text (a fitted model's modelToJson): with cacheDir, names the cache of drawn faces. */
  modelText?: string;
  /** Keep the drawn faces here and reuse them (bench/drawn-cache.ts). */
  cacheDir?: string;
  index: IndexChoice;
  /**
   * The order the faces are added in (default `shuffled`): `shuffled`, a seeded random order, as
   * a photo library meets its faces (each person's photos spread over years of folders);
   * `identity`, every person's faces one after the other, as they are drawn (and as a library
   * kept in a folder per person is walked). The graph comes out differently: bench/README.md.
   */
  insertOrder?: InsertOrder;
  /**
   * Re-rank each query's candidates by their exact inner product with the stored float32
   * vectors (timed with the search), as a gallery does (src/gallery/README.md, "The vector
   * index"): a quantized index then only has to find the best faces among its candidates, not
   * order them exactly.
   */
  rescore?: boolean;
  /**
   * Candidates asked of the index per query (default MIN_CANDIDATES, 64: what the library's
   * search asks for at least, src/library/search-node.ts); recall counts the best 10 of them.
   */
  candidates?: number;
  /** usearch: the same built index also searched with these expansions (saved once, memory-mapped). */
  sweep?: number[];
  /** Exact single-query searches timed for exactP50Ms (each is a pass over every vector). */
  exactTimed?: number;
  onProgress?: (line: string) => void;
}

export interface GalleryBenchResult {
  faces: number;
  dims: number;
  identities: number;
  queries: number;
  index: IndexChoice;
  /** With usearch: the addon it ran on (usearchAddon: facegpu's prefetching build or the prebuilt one). */
  addon?: 'prefetch' | 'prebuilt';
  insertOrder: InsertOrder;
  buildSeconds: number;
  /** Resident memory the index added (bytes); LanceDB also keeps diskBytes on disk. */
  memoryBytes: number;
  diskBytes?: number;
  recallAt1: number;
  recallAt10: number;
  /** Whether the candidates were re-ranked exactly (recallAt1 then counts that order). */
  rescored: boolean;
  /** Candidates asked of the index per query. */
  candidates: number;
  /** recall@1 of the index's own order, before any re-ranking. */
  indexOrderRecallAt1: number;
  /** Share of queries whose best match is a face of the query's own identity (the index's). */
  sameIdentityAt1: number;
  p50Ms: number;
  p99Ms: number;
  exactP50Ms: number;
  exactTimed: number;
  /** usearch with --sweep: recall and latency of the same graph at other search expansions. */
  sweep?: { expansionSearch: number; recallAt1: number; recallAt10: number; p50Ms: number; p99Ms: number }[];
  /** Seconds to draw the faces and queries (or to read them back: drawnFromCache). */
  generateSeconds: number;
  drawnFromCache: boolean;
  /** The descriptor model the faces were drawn from: its file, or `fitted to the gallery <dir>`. */
  model: string;
  /** With a model fitted to a gallery: which gallery, its people and faces, and those fitted. */
  fittedFrom?: GalleryFitSource;
  vectors: string;
  seed: number;
  cores: number;
  /** 1-minute load average at the start and at the end (the machine is shared). */
  load: [number, number];
}

const now = () => performance.now() / 1000;
const rss = () => process.memoryUsage().rss;
const quantile = (a: number[], q: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const dirBytes = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((t, n) => t + dirBytes(join(p, n)), 0) : statSync(p).size);
// A full collection before each memory reading: the garbage of drawing the faces, freed during
// a build, once made a 40 MB index read as 9 MB of growth. --expose-gc without a node flag.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** An index under test, driven the same way whatever it is. */
interface Built {
  search(q: Float32Array, k: number): Promise<number[]>;
  /** The same index searched with another expansion (usearch). */
  withExpansion?(expansionSearch: number): (q: Float32Array, k: number) => number[];
  diskBytes?: number;
  close(): void;
}

/** The most rows a build adds at once (openLanceTable's batches; USearch's are half). */
const MAX_BATCH = 100000;

/**
 * The keys and vectors of each batch of adds: rows `order[at..at+m)` of `vectors`. In identity
 * order a view of the drawn vectors; shuffled, gathered into one buffer made here, before the
 * memory baseline, and reused for every batch (both indexes copy what they are given before
 * the next batch: USearch's add is synchronous, LanceDB's is awaited). A fresh buffer per batch
 * left hundreds of MB of freed batches in the resident set that memoryBytes counted.
 */
export function batchGatherer(vectors: Float32Array, dim: number, order: Uint32Array): (at: number, m: number) => { keys: number[]; x: Float32Array } {
  const inOrder = order.every((row, i) => row === i);
  const scratch = inOrder ? null : new Float32Array(Math.min(MAX_BATCH, order.length) * dim);
  // Written once now, so that its pages are resident before the baseline (a new array's pages
  // are the kernel's shared zero page until first written).
  scratch?.fill(1);
  return (at, m) => {
    if (m > MAX_BATCH) throw new Error(`gallery bench: a batch of ${m} rows is more than ${MAX_BATCH}`);
    const keys = Array.from(order.subarray(at, at + m));
    if (!scratch) return { keys, x: vectors.subarray(at * dim, (at + m) * dim) };
    keys.forEach((row, i) => scratch.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim));
    return { keys, x: scratch.subarray(0, m * dim) };
  };
}

async function build(choice: IndexChoice, n: number, dim: number, batch: ReturnType<typeof batchGatherer>, progress: (done: number) => void): Promise<Built> {
  if (choice.kind === 'usearch') {
    const { kind: _, ...settings } = choice;
    const index = new UsearchIndex(dim, undefined, settings);
    const step = 50000;
    for (let at = 0; at < n; at += step) {
      const { keys, x } = batch(at, Math.min(step, n - at));
      index.add(keys, x);
      progress(at + keys.length);
    }
    let file = '';
    return {
      search: async (q, k) => index.search(q, k, 1)[0].keys,
      withExpansion: (expansionSearch) => {
        if (!file) {
          file = join(mkdtempSync(join(tmpdir(), 'facegpu-usearch-')), 'index');
          index.save(file);
        }
        const alt = new Index({ dimensions: dim, metric: MetricKind.IP, quantization: choice.quantization as ScalarKind, connectivity: choice.connectivity, expansion_add: choice.expansionAdd, expansion_search: expansionSearch, multi: false });
        alt.view(file);
        return (q, k) => Array.from((alt.search(q, k, 1) as Matches).keys, Number);
      },
      close: () => file && rmSync(join(file, '..'), { recursive: true, force: true }),
    };
  }
  const where = mkdtempSync(join(tmpdir(), 'facegpu-lancedb-'));
  const table = await openLanceTable(where, n, batch, dim, progress);
  await table.createIndex('vector', { config: table.lancedb.Index.ivfPq({ distanceType: 'cosine', numPartitions: choice.partitions, numSubVectors: choice.subVectors }) });
  return {
    search: async (q, k) => (await table.vectorSearch(Array.from(q)).distanceType('cosine').nprobes(choice.nprobes).refineFactor(choice.refine).limit(k).select(['id', '_distance']).toArray()).map((r: { id: number }) => r.id),
    diskBytes: dirBytes(where),
    close: () => rmSync(where, { recursive: true, force: true }),
  };
}

/**
 * The exact 10 best rows for each query: USearch's brute force over slices of the stored
 * vectors, merged. In slices because it keeps every (row, query) distance of a call
 * (16 bytes each: a million rows x 1000 queries would be 16 GB); it streams each row once
 * against all the queries, so slicing costs nothing.
 */
export function exactTop10(vectors: Float32Array, queries: Float32Array, dim: number, progress: (done: number) => void): number[][] {
  const n = vectors.length / dim;
  const nq = queries.length / dim;
  const best = Array.from({ length: nq }, () => [] as { key: number; d: number }[]);
  const step = 100000;
  for (let at = 0; at < n; at += step) {
    const m = Math.min(step, n - at);
    // A copy, not a view: USearch 2.26.2's exactSearch reads a typed array from the start of
    // its buffer, ignoring a view's offset (a subarray of rows 100000.. searched rows 0..).
    const r = exactSearch(vectors.slice(at * dim, (at + m) * dim), queries.byteOffset ? queries.slice() : queries, dim, 10, MetricKind.IP, 0) as unknown as BatchMatches | Matches;
    for (let i = 0; i < nq; i++) {
      const one = 'get' in r ? r.get(i) : r;
      for (let j = 0; j < one.keys.length; j++) best[i].push({ key: at + Number(one.keys[j]), d: one.distances[j] });
      best[i].sort((a, b) => a.d - b.d).splice(10);
    }
    progress(at + m);
  }
  return best.map((b) => b.map((x) => x.key));
}

function readTruth(file: string, queries: number): number[][] | null {
  if (!existsSync(file)) return null;
  const b = readFileSync(file);
  const flat = new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  if (flat.length !== queries * 10) return null;
  return Array.from({ length: queries }, (_, i) => Array.from(flat.subarray(i * 10, i * 10 + 10)));
}

export async function runGalleryBench(opts: GalleryBenchOptions): Promise<GalleryBenchResult> {
  const say = opts.onProgress ?? (() => {});
  const load0 = loadavg()[0];
  const dim = opts.model.dim;
  const sampler = new DescriptorSampler(opts.model, opts.seed);
  let t = now();
  // The cache is keyed on the model's text: without it, faces of another model could be read back.
  if (opts.cacheDir && opts.modelText === undefined) throw new Error('gallery bench: a cache of drawn faces needs the model text (modelText) to key it');
  const cache = opts.cacheDir ? drawnCacheFile(opts.cacheDir, opts.modelText!, opts.seed, opts.faces, opts.queries) : null;
  let drawn = cache ? readDrawn(cache, dim, opts.faces, opts.queries) : null;
  const cached = drawn !== null;
  if (!drawn) {
    const l = sampler.library(opts.faces, (d) => say(`drawing faces: ${d}/${opts.faces}`));
    const qs = sampler.queries(opts.queries, l.identities);
    drawn = { vectors: l.vectors, person: l.person, identities: l.identities, queries: qs.vectors, queryPerson: qs.person };
  }
  const generateSeconds = now() - t;
  if (cache && !cached) writeDrawn(cache, drawn);
  const lib = { vectors: drawn.vectors, person: drawn.person, identities: drawn.identities };
  const q = { vectors: drawn.queries, person: drawn.queryPerson };
  say(`${cached ? `read from ${cache}` : 'drew'} ${opts.faces} faces of ${lib.identities} identities and ${opts.queries} queries in ${generateSeconds.toFixed(1)} s`);

  // Before the memory baseline: the order and its batch buffer are the benchmark's, not the index's.
  const insertOrder = opts.insertOrder ?? 'shuffled';
  const batch = batchGatherer(lib.vectors, dim, insertionOrder(opts.faces, insertOrder, opts.seed));
  gc();
  const rss0 = rss();
  t = now();
  const index = await build(opts.index, opts.faces, dim, batch, (d) => say(`building: ${d}/${opts.faces} (${(now() - t).toFixed(0)} s)`));
  const buildSeconds = now() - t;
  gc();
  let memoryBytes = rss() - rss0;
  say(`built in ${buildSeconds.toFixed(1)} s`);

  const rescore = opts.rescore ?? true;
  const candidates = opts.candidates ?? MIN_CANDIDATES;
  if (!Number.isInteger(candidates) || candidates < 10) throw new Error(`gallery bench: candidates must be an integer >= 10, got ${candidates}`);
  // The best 10 of the candidates: by exact inner product, or in the index's order.
  const rerank = (v: Float32Array, keys: number[]): number[] => {
    if (!rescore) return keys.slice(0, 10);
    const s = keys.map((k) => dot(v, 0, lib.vectors, k * dim, dim));
    return keys.map((k, i) => [k, s[i]] as const).sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k]) => k);
  };
  const times: number[] = [];
  const found: number[][] = [];
  const indexOrder: number[][] = [];
  for (let i = 0; i < opts.queries; i++) {
    const v = q.vectors.subarray(i * dim, (i + 1) * dim);
    const t0 = performance.now();
    const keys = await index.search(v, candidates);
    found.push(rerank(v, keys));
    times.push(performance.now() - t0);
    indexOrder.push(keys.slice(0, 10));
  }
  memoryBytes = Math.max(memoryBytes, rss() - rss0); // LanceDB reads its index at the first query
  say(`searched ${opts.queries} queries; exact search for recall`);
  t = now();

  // The exact answers depend only on the drawn faces: kept beside them when they are cached.
  const truthFile = cache ? `${cache}.exact10` : null;
  let truth = truthFile ? readTruth(truthFile, opts.queries) : null;
  if (!truth) {
    truth = exactTop10(lib.vectors, q.vectors, dim, (d) => say(`exact search: ${d}/${opts.faces} (${(now() - t).toFixed(0)} s)`));
    if (truthFile) {
      writeFileSync(`${truthFile}.${process.pid}.tmp`, Int32Array.from(truth.flat()));
      renameSync(`${truthFile}.${process.pid}.tmp`, truthFile);
    }
  }
  const score = (hits: number[][]) => {
    let at1 = 0;
    let at10 = 0;
    for (let i = 0; i < hits.length; i++) {
      at1 += +(hits[i][0] === truth[i][0]);
      at10 += hits[i].filter((k) => truth[i].includes(k)).length / truth[i].length;
    }
    return { recallAt1: at1 / hits.length, recallAt10: Number((at10 / hits.length).toFixed(3)) };
  };
  let same = 0;
  for (let i = 0; i < opts.queries; i++) same += +(lib.person[found[i][0]] === q.person[i]);

  const sweep: GalleryBenchResult['sweep'] = [];
  for (const ef of index.withExpansion ? (opts.sweep ?? []) : []) {
    const search = index.withExpansion!(ef);
    // The file is memory-mapped: one untimed pass first brings the pages these searches visit
    // in, as they are for the index built in memory (timed cold, a pass read 10x slower).
    for (let i = 0; i < opts.queries; i++) search(q.vectors.subarray(i * dim, (i + 1) * dim), candidates);
    const hits: number[][] = [];
    const ts: number[] = [];
    for (let i = 0; i < opts.queries; i++) {
      const v = q.vectors.subarray(i * dim, (i + 1) * dim);
      const t0 = performance.now();
      hits.push(rerank(v, search(v, candidates)));
      ts.push(performance.now() - t0);
    }
    sweep.push({ expansionSearch: ef, ...score(hits), p50Ms: Number(quantile(ts, 0.5).toFixed(3)), p99Ms: Number(quantile(ts, 0.99).toFixed(3)) });
    say(`expansion ${ef}: ${JSON.stringify(sweep[sweep.length - 1])}`);
  }
  index.close();
  const { recallAt1, recallAt10 } = score(found);
  const exactTimed = Math.min(opts.exactTimed ?? 20, opts.queries);
  const exactTimes: number[] = [];
  for (let i = 0; i < exactTimed; i++) {
    const t0 = performance.now();
    exactSearch(lib.vectors, q.vectors.slice(i * dim, (i + 1) * dim), dim, 10, MetricKind.IP, 1);
    exactTimes.push(performance.now() - t0);
  }
  const r3 = (v: number) => Number(v.toFixed(3));
  return {
    faces: opts.faces,
    dims: dim,
    identities: lib.identities,
    queries: opts.queries,
    index: opts.index,
    ...(opts.index.kind === 'usearch' ? { addon: usearchAddon() } : {}),
    insertOrder,
    buildSeconds: Number(buildSeconds.toFixed(1)),
    memoryBytes,
    ...(index.diskBytes !== undefined ? { diskBytes: index.diskBytes } : {}),
    recallAt1,
    recallAt10,
    rescored: rescore,
    candidates,
    indexOrderRecallAt1: score(indexOrder).recallAt1,
    sameIdentityAt1: r3(same / opts.queries),
    p50Ms: r3(quantile(times, 0.5)),
    p99Ms: r3(quantile(times, 0.99)),
    exactP50Ms: r3(quantile(exactTimes, 0.5)),
    exactTimed,
    ...(sweep.length ? { sweep } : {}),
    generateSeconds: Number(generateSeconds.toFixed(1)),
    drawnFromCache: cached,
    model: opts.modelFile,
    ...(opts.fittedFrom ? { fittedFrom: opts.fittedFrom } : {}),
    vectors: `drawn from ${opts.fittedFrom ? 'the model ' : ''}${opts.modelFile} (${opts.model.source})`,
    seed: opts.seed,
    cores: cpus().length,
    load: [Number(load0.toFixed(2)), Number(loadavg()[0].toFixed(2))],
  };
}
