// The library's search index (Node): every face's normalised descriptor in a vector index
// keyed by face id, saved as `library.usearch` beside the store. It is derived data, kept up
// to date incrementally: faces with ids above the last one indexed are added, faces deleted
// since (the store's deleted_faces, filled by a trigger) are removed. Both steps skip what is
// already done, so an index saved just before a crash that left the store's bookkeeping
// behind is caught up, never doubled. A missing or unreadable file is rebuilt from the store.
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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
  provider?: IndexProvider;
  onNotice?: (message: string) => void;
}

/** The library's search index, caught up with the store. */
export function openSearchIndex(store: LibraryStore, galleryDir: string, normalisation: NormalisationRecord, opts: SearchIndexOptions = {}): VectorIndex {
  const provider = opts.provider ?? libraryIndexProvider();
  const file = join(galleryDir, SEARCH_INDEX_FILE);
  let index: VectorIndex | null = null;
  let after = Number(store.getMeta(MAX_ID_KEY) ?? -1);
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
  const deleted = index.size ? store.deletedFaceIds() : [];
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
  if (opts.save && changed && index.save) {
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      index.save(tmp);
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new Error(`${file}: cannot save the search index (${(err as Error).message})`);
    }
    store.setMeta(MAX_ID_KEY, String(store.maxFaceId()));
    store.clearDeleted(store.deletedFaceIds());
  }
  return index;
}
