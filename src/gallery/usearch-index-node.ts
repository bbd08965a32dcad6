// The native index for Node: USearch's HNSW graph (npm `usearch`, prebuilt binaries shipped
// inside the package, so installing needs no compiler and no download). Inner-product metric
// over our unit vectors, float32 storage. Why this one: src/gallery/README.md (measured
// against hnswlib-node, LanceDB and the exact FlatIndex). Removal is real (the key's slot is
// freed), and a loaded index grows like a new one.
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchMatches, Index, MetricKind, ScalarKind, type Matches } from 'usearch';
import { checkKeys, checkQueries, type IndexProvider, type SearchHits, type VectorIndex } from './vector-index.ts';

/**
 * Graph settings: 16 links per node and an insertion expansion of 128 (USearch's defaults),
 * and a wider search than its default (64 -> 128), which took recall@10 on 100k clustered
 * 1024-d vectors from 0.980 to 1.000 for 1.1 ms more per search (bench/index-bench.ts).
 */
export const USEARCH_SETTINGS = { connectivity: 16, expansionAdd: 128, expansionSearch: 128 };

function newIndex(dim: number): Index {
  return new Index({
    dimensions: dim,
    metric: MetricKind.IP,
    quantization: ScalarKind.F32,
    connectivity: USEARCH_SETTINGS.connectivity,
    expansion_add: USEARCH_SETTINGS.expansionAdd,
    expansion_search: USEARCH_SETTINGS.expansionSearch,
    multi: false,
  });
}

/**
 * Look at a file before USearch does: it trusts its header, and took over a minute to fail on
 * a 12-byte text file. A saved index starts with its vectors (uint32 rows, uint32 bytes per
 * row, then the rows) followed by the graph, which opens with the magic "usearch".
 */
function checkFile(path: string, dim: number): void {
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
    if (rowBytes !== dim * 4) throw new Error(`${path}: not a readable usearch index of ${dim}-d float32 vectors (rows of ${rowBytes} bytes)`);
    const at = 8 + rows * rowBytes;
    const magic = Buffer.alloc(7);
    if (at + 64 > size || readSync(fd, magic, 0, 7, at) < 7 || magic.toString('latin1') !== 'usearch') {
      throw new Error(`${path}: not a readable usearch index (truncated or damaged: ${size} bytes for ${rows} vectors)`);
    }
  } finally {
    closeSync(fd);
  }
}

export class UsearchIndex implements VectorIndex {
  readonly kind = 'usearch';
  private index: Index;

  constructor(
    readonly dim: number,
    index?: Index,
  ) {
    if (!Number.isInteger(dim) || dim <= 0) throw new Error(`usearch index: dimension must be a positive integer, got ${dim}`);
    this.index = index ?? newIndex(dim);
  }

  get size(): number {
    return this.index.size();
  }

  has(key: number): boolean {
    return this.index.contains(BigInt(key)) as boolean;
  }

  add(keys: number[], vectors: Float32Array): void {
    checkKeys(keys, vectors, this.dim, this.kind);
    if (!keys.length) return;
    const big = BigUint64Array.from(keys, BigInt);
    const present = keys.filter((k) => this.has(k));
    if (present.length || new Set(keys).size !== keys.length) throw new Error(`usearch index: key ${present[0] ?? keys.find((k, i) => keys.indexOf(k) !== i)} is already present`);
    this.index.add(big, vectors, 0);
  }

  remove(key: number): void {
    if ((this.index.remove(BigInt(key)) as number) !== 1) throw new Error(`usearch index: key ${key} is not present`);
  }

  search(queries: Float32Array, k: number): SearchHits[] {
    const q = checkQueries(queries, this.dim, k, this.kind);
    if (q === 0) return [];
    if (this.size === 0) return Array.from({ length: q }, () => ({ keys: [], similarities: [] }));
    const kk = Math.min(k, this.size);
    const r = this.index.search(queries, kk, 0) as unknown as Matches | BatchMatches;
    const one = (m: Matches): SearchHits => ({ keys: Array.from(m.keys, Number), similarities: Array.from(m.distances, (d) => Math.fround(1 - d)) });
    if (r instanceof BatchMatches) return Array.from({ length: q }, (_, i) => one(r.get(i)));
    return [one(r)];
  }

  save(path: string): void {
    this.index.save(path);
  }

  /** Through a temporary file: USearch's JavaScript binding reads and writes files only. */
  serialize(): Uint8Array {
    const dir = mkdtempSync(join(tmpdir(), 'facegpu-usearch-'));
    try {
      this.index.save(join(dir, 'index'));
      return new Uint8Array(readFileSync(join(dir, 'index')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  static load(path: string, dim: number): UsearchIndex {
    checkFile(path, dim);
    const index = newIndex(dim);
    try {
      index.load(path);
    } catch (err) {
      throw new Error(`${path}: not a readable usearch index (${(err as Error).message})`);
    }
    if (index.dimensions() !== dim) throw new Error(`${path}: usearch index of ${index.dimensions()}-d vectors, expected ${dim}`);
    return new UsearchIndex(dim, index);
  }

  static deserialize(bytes: Uint8Array, dim: number): UsearchIndex {
    const dir = mkdtempSync(join(tmpdir(), 'facegpu-usearch-'));
    try {
      writeFileSync(join(dir, 'index'), bytes);
      return UsearchIndex.load(join(dir, 'index'), dim);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

export const usearchIndexProvider: IndexProvider = {
  kind: 'usearch',
  create: (dim) => new UsearchIndex(dim),
  deserialize: (bytes, dim) => UsearchIndex.deserialize(bytes, dim),
  load: (path, dim) => UsearchIndex.load(path, dim),
};
