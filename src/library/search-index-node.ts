// The library's search index (Node): every face's normalised descriptor in a vector index
// keyed by face id, saved as `library.usearch` beside the store. It is derived data, kept up
// to date incrementally: faces with ids above the last one indexed are added, faces deleted
// since (the store's deleted_faces, filled by a trigger) are removed. Both steps skip what is
// already done, so an index saved just before a crash that left the store's bookkeeping
// behind is caught up, never doubled. A missing or unreadable file is rebuilt from the store.
// A caller that only searches (`facegpu search`) maps an up-to-date file instead of reading it.
import { renameSync, rmSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { removeDeadTemps, tempPathFor } from '../atomic-fs.ts';
import { normalise, type NormalisationRecord } from '../gallery/normalise.ts';
import { LIBRARY_FILES_PREFIX } from '../gallery/gallery-format.ts';
import type { LibraryStore } from './store-node.ts';
import type { IndexProvider, VectorIndex } from '../gallery/vector-index.ts';
import { libraryIndexProvider } from './library-index-node.ts';

export const SEARCH_INDEX_FILE = `${LIBRARY_FILES_PREFIX}usearch`;
const MAX_ID_KEY = 'index_max_id';

export interface SearchIndexOptions {
  /** Write the caught-up index back (the owner of the gallery's lock only). */
  save?: boolean;
  /**
   * The caller only searches: a file already up to date is opened read-only and searched in
   * place (IndexProvider.view, memory-mapped) instead of read whole: a million faces open in
   * 0.08 s against 1.2-2.6 s (UsearchIndex.view). A file behind the store is read and caught
   * up in memory, as without.
   */
  readOnly?: boolean;
  provider?: IndexProvider;
  onNotice?: (message: string) => void;
}

/** The library's search index, caught up with the store. */
export function openSearchIndex(store: LibraryStore, galleryDir: string, normalisation: NormalisationRecord, opts: SearchIndexOptions = {}): VectorIndex {
  if (opts.readOnly && opts.save) throw new Error('openSearchIndex: readOnly and save exclude each other (a read-only index is never written back)');
  const provider = opts.provider ?? libraryIndexProvider();
  const file = join(galleryDir, SEARCH_INDEX_FILE);
  let index: VectorIndex | null = null;
  let after = Number(store.getMeta(MAX_ID_KEY) ?? -1);
  const deletedSince = store.deletedFaceIds();
  if (opts.readOnly && provider.view && after >= 0 && store.maxFaceId() <= after && !deletedSince.length) {
    try {
      return provider.view(file, store.dim);
    } catch {
      // Read below, where a file that cannot be used is reported and rebuilt.
    }
  }
  if (after >= 0) {
    try {
      index = provider.load ? provider.load(file, store.dim) : null;
    } catch (err) {
      opts.onNotice?.(`${file}: the search index cannot be used (${(err as Error).message}): rebuilding it from the library`);
    }
  }
  if (!index) {
    index = provider.create(store.dim);
    after = -1;
  }
  const deleted = index.size ? deletedSince : [];
  for (const id of deleted) if (index.has(id)) index.remove(id);
  let changed = deleted.length > 0 || after < 0;
  for (const { ids, raw } of store.descriptors(after)) {
    const x = normalise(raw, store.dim, normalisation);
    const fresh = ids.map((id, i) => [id, i] as const).filter(([id]) => !index!.has(id));
    if (fresh.length === ids.length) index.add(ids, x);
    else if (fresh.length) {
      const sub = new Float32Array(fresh.length * store.dim);
      fresh.forEach(([, i], k) => sub.set(x.subarray(i * store.dim, (i + 1) * store.dim), k * store.dim));
      index.add(fresh.map(([id]) => id), sub);
    }
    changed = true;
  }
  // An index kind without files (the exact FlatIndex, where USearch cannot load) is rebuilt each time.
  if (opts.save && changed && index.save) saveCaughtUp(store, file, index);
  return index;
}

/** Write the index atomically, then record that it holds every face the store has (and none it deleted). */
function saveCaughtUp(store: LibraryStore, file: string, index: VectorIndex): void {
  removeDeadTemps(file);
  const tmp = tempPathFor(file);
  try {
    index.save!(tmp);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`${file}: cannot save the search index (${(err as Error).message}${roomLeft(file)})`);
  }
  // A crash before these two lines is harmless: the next open skips what the file already has.
  store.setMeta(MAX_ID_KEY, String(store.maxFaceId()));
  store.clearDeleted(store.deletedFaceIds());
}

/**
 * What is free beside `file`, for a failed save's message: USearch says only "Failed to
 * serialize into stream" where the disk is full.
 */
function roomLeft(file: string): string {
  try {
    const fs = statfsSync(dirname(file));
    return `; ${((fs.bavail * fs.bsize) / 2 ** 20).toFixed(1)} MiB free there`;
  } catch {
    return '';
  }
}

/** Rows added to the index per call while rebuilding (a batch of 1024-d float32 rows is 40 MiB). */
const REBUILD_BATCH = 10_000;

/**
 * Rebuild the search index from scratch with the faces added in `order`, replacing its file
 * atomically (the gallery's one writer only, holding its lock). Why: USearch's HNSW keeps
 * nodes and vectors in the order they are added, and a search walks among the faces nearest
 * the query, which are mostly one person's. `index` adds faces as the folders are walked, so a
 * person's faces lie all over memory; added group by group (`cluster` passes its clusters),
 * they lie together, and the walk touches fewer pages, as far as the groups are person-sized
 * (at a million drawn faces clustering's were not, and search was no faster: bench/README.md,
 * "The order faces are added in"). Rebuilding also drops the space of removed faces.
 * `ids[r]` is the face of row r of `vectors` (normalised as the gallery says); `order` must
 * list every row once, and the rows every face the store holds.
 */
export function rebuildSearchIndex(
  store: LibraryStore,
  galleryDir: string,
  faces: { ids: readonly number[]; vectors: Float32Array },
  order: ArrayLike<number>,
  opts: { provider?: IndexProvider; onProgress?: (done: number, total: number) => void } = {},
): VectorIndex | null {
  const { ids, vectors } = faces;
  const dim = store.dim;
  const n = ids.length;
  if (vectors.length !== n * dim) throw new Error(`rebuildSearchIndex: ${n} faces but ${vectors.length / dim} vectors of ${dim} values`);
  if (order.length !== n) throw new Error(`rebuildSearchIndex: the order lists ${order.length} rows, not the ${n} faces`);
  const seen = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const r = order[k];
    if (!Number.isInteger(r) || r < 0 || r >= n || seen[r]) throw new Error(`rebuildSearchIndex: the order is not a permutation of the ${n} rows (row ${r} at ${k})`);
    seen[r] = 1;
  }
  const stored = store.counts().faces;
  if (stored !== n) throw new Error(`rebuildSearchIndex: given ${n} faces, but the library holds ${stored}`);
  const index = (opts.provider ?? libraryIndexProvider()).create(dim);
  // An index kind without files is rebuilt on every open anyway: nothing to gain.
  if (!index.save) {
    index.close?.();
    return null;
  }
  const batch = new Float32Array(Math.min(REBUILD_BATCH, n) * dim);
  for (let a = 0; a < n; a += REBUILD_BATCH) {
    const m = Math.min(REBUILD_BATCH, n - a);
    const keys: number[] = new Array(m);
    for (let k = 0; k < m; k++) {
      const r = order[a + k];
      keys[k] = ids[r];
      batch.set(vectors.subarray(r * dim, (r + 1) * dim), k * dim);
    }
    index.add(keys, m === REBUILD_BATCH ? batch : batch.subarray(0, m * dim));
    opts.onProgress?.(a + m, n);
  }
  saveCaughtUp(store, join(galleryDir, SEARCH_INDEX_FILE), index);
  return index;
}
