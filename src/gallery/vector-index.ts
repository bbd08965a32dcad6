// The vector index behind identification: nearest neighbours by inner product over
// L2-normalised vectors (= cosine similarity), keyed by non-negative integers. Platform-
// neutral interface; implementations: flat-index.ts (exact, TypeScript, anywhere) and
// usearch-index-node.ts (HNSW, native, Node). An index is derived data: a gallery can always
// rebuild it from its stored descriptors, so a gallery opened where its index kind is not
// available rebuilds with one that is (and says so).

export interface SearchHits {
  /** Keys, best first (fewer than k when the index holds fewer). */
  keys: number[];
  /** Inner products, same order. */
  similarities: number[];
}

export interface VectorIndex {
  /** The implementation, as recorded in a gallery: 'flat', 'usearch'. */
  readonly kind: string;
  readonly dim: number;
  readonly size: number;
  /** Add vectors [keys.length, dim]; a key already present is an error. */
  add(keys: number[], vectors: Float32Array): void;
  /** Remove one key; removing an absent key is an error. */
  remove(key: number): void;
  has(key: number): boolean;
  /** The k best keys for each query of queries [q, dim]. */
  search(queries: Float32Array, k: number): SearchHits[];
  /** The index as bytes (read back by its provider's deserialize). */
  serialize(): Uint8Array;
  /** Write the index to a file directly (Node implementations; cheaper than serialize). */
  save?(path: string): void;
  /** Release native memory, if any. */
  close?(): void;
}

export interface IndexProvider {
  readonly kind: string;
  create(dim: number): VectorIndex;
  deserialize(bytes: Uint8Array, dim: number): VectorIndex;
  /** Read a file written by VectorIndex.save (Node implementations). */
  load?(path: string, dim: number): VectorIndex;
  /**
   * Open such a file read-only, searched where it lies (memory-mapped) rather than read
   * whole: for callers that only search a file already up to date (implementations that can).
   */
  view?(path: string, dim: number): VectorIndex;
}

/** Refuse keys the native indexes cannot hold exactly (they store unsigned 64-bit keys). */
export function checkKeys(keys: number[], vectors: Float32Array, dim: number, kind: string): void {
  if (vectors.length !== keys.length * dim) throw new Error(`${kind} index: ${keys.length} keys but ${vectors.length / dim} vectors of ${dim} values`);
  for (const k of keys) if (!Number.isSafeInteger(k) || k < 0) throw new Error(`${kind} index: key ${k} is not a non-negative integer`);
}

export function checkQueries(queries: Float32Array, dim: number, k: number, kind: string): number {
  if (queries.length % dim !== 0) throw new Error(`${kind} index: queries have ${queries.length} values, not a whole number of ${dim}-d vectors`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`${kind} index: k must be a positive integer, got ${k}`);
  return queries.length / dim;
}

/**
 * The index a stored gallery names (its kind and file), opened by `open` with the provider
 * of that kind; or, when there is no such provider here or the file cannot be used, why not
 * (the gallery then rebuilds its index from the stored descriptors and says so). `provider`
 * is the one to build with: the stored kind's, else the first available.
 */
export function openStoredIndex(
  stored: { kind: string; file: string },
  dim: number,
  providers: readonly IndexProvider[],
  open: (provider: IndexProvider, file: string) => VectorIndex,
): { provider: IndexProvider; index: VectorIndex | null; problem: string | null } {
  if (!providers.length) throw new Error('no index providers given');
  const provider = providers.find((p) => p.kind === stored.kind);
  if (!provider) return { provider: providers[0], index: null, problem: `written with a "${stored.kind}" index, which is not available here (${providers.map((p) => p.kind).join(', ')})` };
  if (!stored.file) return { provider, index: null, problem: null };
  try {
    return { provider, index: open(provider, stored.file), problem: null };
  } catch (err) {
    return { provider, index: null, problem: `its index file ${stored.file} cannot be used (${(err as Error).message})` };
  }
}
