// The native index for Node: USearch's HNSW graph (npm `usearch`, prebuilt binaries shipped
// inside the package, so installing needs no compiler and no download; a checkout's set-up
// rebuilds the addon with patches/ so that searches prefetch, which `usearchAddon` reports).
// Inner-product metric over our unit vectors. Why this one: src/gallery/README.md (measured
// against hnswlib-node, LanceDB and the exact FlatIndex). Removal is real (the key's slot is
// freed), a loaded index grows like a new one, and a viewed one (a file searched in place,
// memory-mapped: for a process that only searches) is read-only. Vectors are stored as
// float32 (a gallery's people), or float16 / int8 for big indexes (a photo library's faces:
// LIBRARY_INDEX); a saved file says which, so any of them loads with the same provider.
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BatchMatches, Index, Matches } from 'usearch';
import { checkKeys, checkQueries, type IndexProvider, type SearchHits, type VectorIndex } from './vector-index.ts';

/**
 * Which USearch addon this process searches with: `prefetch`, facegpu's build of the installed
 * version with patches/usearch-<version>.patch (a search prefetches the vectors of a node's
 * unvisited neighbours: a million faces searched ~30% faster, the same answers; made by
 * `npm run build:usearch`, which the set-up script runs), or USearch's own `prebuilt` one.
 * USearch's loader (node-gyp-build) takes `build/Release/usearch.node` before its prebuilt
 * addons, so that file, when it is there, is the addon in use; the patch marks it.
 */
export function usearchAddon(): 'prefetch' | 'prebuilt' {
  const built = join(usearchPackageDir(), 'build', 'Release', 'usearch.node');
  if (!existsSync(built)) return 'prebuilt';
  return (createRequire(import.meta.url)(built) as { facegpuNeighbourPrefetch?: boolean }).facegpuNeighbourPrefetch === true ? 'prefetch' : 'prebuilt';
}

/**
 * The folder of the `usearch` package this module imports (its exports hide package.json):
 * the first folder above its entry whose package.json is named `usearch`, found the same way
 * as scripts/build-usearch.mjs finds the package it builds.
 */
export function usearchPackageDir(): string {
  const start = dirname(createRequire(import.meta.url).resolve('usearch'));
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'usearch') return dir;
  }
  throw new Error(`usearch: no package folder above ${start}`);
}

/** How vectors are stored: float32, float16 (half the memory) or int8 (a quarter). */
export type UsearchQuantization = 'f32' | 'f16' | 'i8';

export interface UsearchSettings {
  quantization: UsearchQuantization;
  /** Links per node of the graph (M). */
  connectivity: number;
  /** Candidates kept while inserting (efConstruction): build time against graph quality. */
  expansionAdd: number;
  /** Candidates kept while searching (ef): search time against recall. */
  expansionSearch: number;
}

/**
 * A gallery's people: 16 links per node and an insertion expansion of 128 (USearch's
 * defaults), float32, and a wider search than its default (64 -> 128), which took recall@10 on
 * 100k clustered 1024-d vectors from 0.980 to 1.000 for 1.1 ms more per search
 * (bench/index-bench.ts).
 */
export const USEARCH_SETTINGS: UsearchSettings = { quantization: 'f32', connectivity: 16, expansionAdd: 128, expansionSearch: 128 };

/**
 * A photo library's faces (a million and more), chosen with `facegpu bench gallery` (figures
 * and reasons in bench/README.md, "A million faces"): int8 storage, a quarter of float32's
 * memory, and the cheapest distance, which buys the wide search a million faces need: the
 * faces a search misses are those of people whose new face is hardly nearer to their own
 * faces than to a million strangers', and only a wider beam finds them (more links did not).
 * int8 orders its candidates roughly and reports similarities about a fifth low, so callers
 * take at least MIN_CANDIDATES (src/library/search-node.ts) and re-score them exactly on the
 * stored float32 descriptors, as search and clustering do. Search expansion 1408: the first
 * measured above recall@1 0.99 with a query to spare on both million-face graphs measured
 * (0.991 and 0.992; 1280 gave 0.990 and 0.991), p99 6.4-7.3 ms with USearch's addon rebuilt
 * with neighbour prefetch (patches/README.md).
 */
export const LIBRARY_INDEX: UsearchSettings = { quantization: 'i8', connectivity: 32, expansionAdd: 128, expansionSearch: 1408 };

type UsearchModule = typeof import('usearch');
let usearchLoaded: UsearchModule | null = null;

/**
 * USearch, loaded on first use rather than imported: its addon is native, and where it cannot
 * load, src/gallery/index-node.ts falls back to the exact index (asking this first). Loaded
 * with require, not a dynamic import at the top of that module: facegpu's module graph then
 * has no top-level await, so `require('facegpu')` works where Node requires ES modules
 * (Node >= 20.19).
 */
export function usearchModule(): UsearchModule {
  return (usearchLoaded ??= createRequire(import.meta.url)('usearch') as UsearchModule);
}

// ScalarKind's values (USearch's enum of strings).
const SCALAR: Record<UsearchQuantization, { kind: 'f32' | 'f16' | 'i8'; bytes: number; name: string }> = {
  f32: { kind: 'f32', bytes: 4, name: 'float32' },
  f16: { kind: 'f16', bytes: 2, name: 'float16' },
  i8: { kind: 'i8', bytes: 1, name: 'int8' },
};

type ScalarKindOf<E> = E[keyof E];

function newIndex(dim: number, settings: UsearchSettings): Index {
  const { Index, MetricKind, ScalarKind } = usearchModule();
  return new Index({
    dimensions: dim,
    metric: MetricKind.IP,
    quantization: SCALAR[settings.quantization].kind as ScalarKindOf<typeof ScalarKind>,
    connectivity: settings.connectivity,
    expansion_add: settings.expansionAdd,
    expansion_search: settings.expansionSearch,
    multi: false,
  });
}

function checkSettings(s: UsearchSettings): void {
  if (!(s.quantization in SCALAR)) throw new Error(`usearch index: quantization must be ${Object.keys(SCALAR).join(', ')}, got "${s.quantization}"`);
  for (const k of ['connectivity', 'expansionAdd', 'expansionSearch'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < (k === 'connectivity' ? 2 : 1)) throw new Error(`usearch index: ${k} must be a positive integer${k === 'connectivity' ? ' >= 2' : ''}, got ${s[k]}`);
  }
}

/**
 * Look at a file before USearch does: it trusts its header, and took over a minute to fail on
 * a 12-byte text file. A saved index starts with its vectors (uint32 rows, uint32 bytes per
 * row, then the rows) followed by the graph, which opens with the magic "usearch". The row
 * size says how the vectors are stored.
 */
function checkFile(path: string, dim: number): UsearchQuantization {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new Error(`${path}: cannot read the usearch index (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) < 8) throw new Error(`${path}: not a readable usearch index (${size} bytes)`);
    const rows = head.readUInt32LE(0);
    const rowBytes = head.readUInt32LE(4);
    const quantization = (Object.keys(SCALAR) as UsearchQuantization[]).find((q) => rowBytes === dim * SCALAR[q].bytes);
    if (!quantization) throw new Error(`${path}: not a readable usearch index of ${dim}-d float32, float16 or int8 vectors (rows of ${rowBytes} bytes)`);
    const at = 8 + rows * rowBytes;
    const magic = Buffer.alloc(7);
    if (at + 64 > size || readSync(fd, magic, 0, 7, at) < 7 || magic.toString('latin1') !== 'usearch') {
      throw new Error(`${path}: not a readable usearch index (truncated or damaged: ${size} bytes for ${rows} vectors)`);
    }
    return quantization;
  } finally {
    closeSync(fd);
  }
}

export class UsearchIndex implements VectorIndex {
  readonly kind = 'usearch';
  private index: Index | null;

  constructor(
    readonly dim: number,
    index?: Index,
    /** How it was built (a loaded index: its file's quantization, these graph settings for what is added). */
    readonly settings: UsearchSettings = USEARCH_SETTINGS,
    /** The file it searches in place (UsearchIndex.view): nothing can be added or removed. */
    readonly viewOf: string | null = null,
  ) {
    if (!Number.isInteger(dim) || dim <= 0) throw new Error(`usearch index: dimension must be a positive integer, got ${dim}`);
    checkSettings(settings);
    this.index = index ?? newIndex(dim, settings);
  }

  get size(): number {
    return this.live('size').size();
  }

  has(key: number): boolean {
    return this.live('has').contains(BigInt(key)) as boolean;
  }

  add(keys: number[], vectors: Float32Array): void {
    this.writable('add to');
    checkKeys(keys, vectors, this.dim, this.kind);
    if (!keys.length) return;
    const big = BigUint64Array.from(keys, BigInt);
    const present = keys.filter((k) => this.has(k));
    if (present.length || new Set(keys).size !== keys.length) throw new Error(`usearch index: key ${present[0] ?? keys.find((k, i) => keys.indexOf(k) !== i)} is already present`);
    // One insertion at a time: USearch 2.26.2's concurrent insertion strands nodes (stored,
    // never reached by a search: unum-cloud/USearch#735). Measured with LIBRARY_INDEX on two
    // cores: 1-4 of 1500 faces unreachable in each of 10 threaded builds, 0 in 10 one-threaded
    // ones; 2 of 10 000 sampled at 100 000 faces, for half the build time (20.4 s against
    // 40.2 s). A face that no search reaches is a photo a user never finds. One thread also
    // makes a build repeatable: the same faces in the same order give the same graph.
    //
    // But an `add` that grows the index also sets how many searches may run at once to its
    // thread count, and a batch search on all cores then fails ("Reserve capacity ahead of
    // searches!"). So the vector that grows it is added alone with all cores' contexts (one
    // task: nothing runs concurrently), and the rest on one thread, within the capacity.
    const dim = this.dim;
    const index = this.live('add');
    for (let at = 0; at < keys.length; ) {
      // The binding grows the index when size + batch >= capacity.
      const room = index.capacity() - index.size() - 1;
      const grows = room < 1;
      const m = grows ? 1 : Math.min(room, keys.length - at);
      index.add(big.subarray(at, at + m), vectors.subarray(at * dim, (at + m) * dim), grows ? 0 : 1);
      at += m;
    }
  }

  remove(key: number): void {
    this.writable('remove from');
    if ((this.live('remove').remove(BigInt(key)) as number) !== 1) throw new Error(`usearch index: key ${key} is not present`);
  }

  /** `threads`: 0 = USearch's choice (all cores, for batches); 1 for one query at a time. */
  search(queries: Float32Array, k: number, threads = 0): SearchHits[] {
    const index = this.live('search');
    const q = checkQueries(queries, this.dim, k, this.kind);
    if (q === 0) return [];
    if (index.size() === 0) return Array.from({ length: q }, () => ({ keys: [], similarities: [] }));
    const kk = Math.min(k, index.size());
    const r = index.search(queries, kk, threads) as unknown as Matches | BatchMatches;
    // USearch's int8 inner product is of the integer codes (each unit vector scaled to 127 and
    // truncated toward zero): scaled back, it approximates the inner product, low by ~18% for
    // 1024-d descriptors (a vector with itself: ~0.82). Callers that need exact similarities
    // (a gallery's thresholds) re-score the candidates on their stored float32 descriptors.
    const scale = this.settings.quantization === 'i8' ? 1 / 127 ** 2 : 1;
    const one = (m: Matches): SearchHits => ({ keys: Array.from(m.keys, Number), similarities: Array.from(m.distances, (d) => Math.fround((1 - d) * scale)) });
    if (r instanceof usearchModule().BatchMatches) return Array.from({ length: q }, (_, i) => one((r as BatchMatches).get(i)));
    return [one(r)];
  }

  save(path: string): void {
    this.live('save').save(path);
  }

  /** Through a temporary file: USearch's JavaScript binding reads and writes files only. */
  serialize(): Uint8Array {
    const dir = mkdtempSync(join(tmpdir(), 'facegpu-usearch-'));
    try {
      this.live('serialize').save(join(dir, 'index'));
      return new Uint8Array(readFileSync(join(dir, 'index')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Give the index's memory back now: its vectors and graph, or a viewed file's mapping. USearch's
   * binding has no method for it, and V8 does not count that memory, so an index left to the
   * garbage collector stays resident: five indexes of 100 000 256-d int8 vectors made and dropped
   * one after another grew the process by 65 MB each (measured: 256 -> 516 MB; with close it
   * stayed at 213-225 MB). USearch's `load` resets the index (returning its memory to the
   * system) before reading a file, so closing loads a saved empty index into it. Afterwards
   * every method but `close` throws.
   */
  close(): void {
    const index = this.index;
    if (!index) return;
    this.index = null;
    const dir = mkdtempSync(join(tmpdir(), 'facegpu-usearch-'));
    try {
      const empty = join(dir, 'empty');
      newIndex(1, USEARCH_SETTINGS).save(empty);
      index.load(empty);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The native index, for `what` (the method's name); an error once closed. */
  private live(what: string): Index {
    if (!this.index) throw new Error(`usearch index: ${what} after close`);
    return this.index;
  }

  /** USearch would say "Can't add to an immutable index"; say which file and why. */
  private writable(what: string): void {
    if (this.viewOf) throw new Error(`usearch index: cannot ${what} ${this.viewOf}: it was opened read-only, searched in place (UsearchIndex.view)`);
  }

  /** Graph settings for what is added later; the quantization is the file's. */
  static load(path: string, dim: number, settings: UsearchSettings = USEARCH_SETTINGS): UsearchIndex {
    return UsearchIndex.open(path, dim, settings, 'load');
  }

  /**
   * Search a saved file in place: USearch maps it into memory instead of copying it in. A
   * million int8 faces (1.3 GB, already in the page cache) open in 0.08 s against 1.2-2.6 s
   * for `load`; the first search then takes ~40 ms instead of ~12 (its pages are mapped as it
   * touches them). So a process that searches once (`facegpu search`) is seconds faster.
   * Read-only: add and remove throw. The file must not be rewritten in place while it is open
   * (facegpu replaces files by renaming, which leaves the mapped one intact).
   */
  static view(path: string, dim: number, settings: UsearchSettings = USEARCH_SETTINGS): UsearchIndex {
    return UsearchIndex.open(path, dim, settings, 'view');
  }

  private static open(path: string, dim: number, settings: UsearchSettings, how: 'load' | 'view'): UsearchIndex {
    const quantization = checkFile(path, dim);
    const own = { ...settings, quantization };
    const index = newIndex(dim, own);
    try {
      index[how](path);
    } catch (err) {
      throw new Error(`${path}: not a readable usearch index (${(err as Error).message})`);
    }
    if (index.dimensions() !== dim) throw new Error(`${path}: usearch index of ${index.dimensions()}-d vectors, expected ${dim}`);
    return new UsearchIndex(dim, index, own, how === 'view' ? path : null);
  }

  static deserialize(bytes: Uint8Array, dim: number, settings: UsearchSettings = USEARCH_SETTINGS): UsearchIndex {
    const dir = mkdtempSync(join(tmpdir(), 'facegpu-usearch-'));
    try {
      writeFileSync(join(dir, 'index'), bytes);
      return UsearchIndex.load(join(dir, 'index'), dim, settings);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/**
 * A provider whose new indexes have these settings. Its kind is 'usearch' whatever they are:
 * files of any quantization load with any of them (the file says how its vectors are stored).
 */
export function usearchProvider(settings: UsearchSettings): IndexProvider {
  checkSettings(settings);
  return {
    kind: 'usearch',
    create: (dim) => new UsearchIndex(dim, undefined, settings),
    deserialize: (bytes, dim) => UsearchIndex.deserialize(bytes, dim, settings),
    load: (path, dim) => UsearchIndex.load(path, dim, settings),
    // Not on Windows: there a mapped file cannot be replaced, so a search holding one would make
    // the gallery's writer fail to save its index (elsewhere the rename leaves the mapping be).
    view: process.platform === 'win32' ? undefined : (path, dim) => UsearchIndex.view(path, dim, settings),
  };
}

/** A gallery's people: float32 (USEARCH_SETTINGS). */
export const usearchIndexProvider: IndexProvider = usearchProvider(USEARCH_SETTINGS);

/** A photo library's faces: LIBRARY_INDEX. */
export const libraryIndexProvider: IndexProvider = usearchProvider(LIBRARY_INDEX);
