// Tunings in a page: IndexedDB through idb-keyval, a database of their own (idb-keyval
// creates a store only together with its database), one record per key id. Same records as
// the Node files (src/tune/store-node.ts).
import { createStore, get, set, type UseStore } from 'idb-keyval';
import type { TuningRecord, TuningStore } from '../tune/tuner.ts';

const DB = 'facegpu-tuning';
const STORE = 'tunings';

export function browserTuningStore(): TuningStore {
  let db: UseStore | null = null;
  const use = () => (db ??= createStore(DB, STORE));
  return {
    where: (id) => `IndexedDB ${DB}/${STORE}/${id}`,
    // No IndexedDB (a private window, an old browser): no saved tuning, the hand-picked kernels.
    get: async (id) => {
      try {
        return await get<TuningRecord>(id, use());
      } catch {
        return undefined;
      }
    },
    set: (id, record) => set(id, record, use()),
  };
}
