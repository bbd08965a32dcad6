// `cluster`: the library's faces grouped into candidate people (Node), as the gallery's one
// writer. The gallery's enrolled faces that are not library faces join the clustering as
// named faces (anchors: a cluster of an enrolled person's photos carries that name and is
// never merged with another person), then are left out of what is stored and shown. The
// clusters are stored on the library's faces, so `gallery name <gallery> <id> <person>` names
// exactly what the user was shown; each run replaces the last one's clusters.
import { join } from 'node:path';
import { withGalleryLock } from '../gallery/store-node.ts';
import { normalise, type NormalisationRecord } from '../gallery/normalise.ts';
import { flatIndexProvider } from '../gallery/flat-index.ts';
import { loadStoredGallery } from '../identity/node.ts';
import { clusterFaces, type BuiltIndex, type ClusterOptions, type FaceClustering, type NeighbourStep } from './cluster.ts';
import { neighbourIndexProvider } from './library-index-node.ts';
import { LibraryStore } from './store-node.ts';
import { openSearchIndex, rebuildSearchIndex, SEARCH_INDEX_FILE } from './search-index-node.ts';

/** Up to this many faces the neighbour graph is exact; above, the library's approximate index (searched at NEIGHBOUR_EXPANSION) finds the neighbours (exact: 17 s for 2,000 faces, 114 s for 5,000; USearch: 2.7 s for 2,000; src/library/README.md). */
export const EXACT_NEIGHBOURS_UP_TO = 1500;

export interface LibraryCluster {
  id: number;
  faces: number;
  photos: number;
  /** The named person it belongs to; null: a candidate person nobody named. */
  person: string | null;
  /** The named person a candidate is most like, as a hint. */
  nearest: { person: string; similarity: number } | null;
  /** A few of its photos (those of its best-scored faces), to look at before naming it. */
  examples: string[];
}

export interface ClusterReport {
  clusters: LibraryCluster[];
  /** Library faces in no cluster (people seen too few times). */
  noise: number;
  faces: number;
  options: FaceClustering['options'];
  /** The search index rebuilt cluster by cluster (null: not asked for, or an index kind without files). */
  searchIndex: { faces: number; seconds: number } | null;
}

export interface ClusterLibraryOptions extends Omit<ClusterOptions, 'index' | 'onProgress'> {
  onNotice?: (m: string) => void;
  /** Faces done of all, per step: the neighbour graph's, then the search index's rebuild. */
  onProgress?: (step: NeighbourStep | 'reordering', done: number, total: number) => void;
  /** Photos shown per cluster (default 5). */
  examples?: number;
  /** Rebuild the search index with each cluster's faces together (default false: at a million drawn faces it bought nothing, see reorder). */
  reorderSearchIndex?: boolean;
}

/**
 * The library's search index, caught up with the store and opened to search at clustering's
 * narrower expansion, with the gallery's anchors (`anchors`, rows after the faces) added in
 * memory under keys after the last face's; null where the index kind has no files. Its graph
 * has the settings clustering would build (LIBRARY_INDEX), so building a second one for the
 * neighbours is saved (a million faces in walk order: a 1602 s build, beside about 2071 s for the
 * rest of clustering; src/library/README.md).
 */
function searchIndexForNeighbours(store: LibraryStore, dir: string, normalisation: NormalisationRecord, faces: readonly { id: number }[], anchors: Float32Array, onNotice?: (m: string) => void): BuiltIndex | null {
  const provider = neighbourIndexProvider();
  if (!provider.load) return null;
  const index = openSearchIndex(store, dir, normalisation, { save: true, provider, onNotice });
  const dim = store.dim;
  const first = store.maxFaceId() + 1;
  const rowOfFace = new Map(faces.map((f, r) => [f.id, r]));
  try {
    index.add(Array.from({ length: anchors.length / dim }, (_, k) => first + k), anchors);
  } catch (err) {
    index.close?.();
    throw err;
  }
  return {
    index,
    rowOf: (key) => {
      const r = key >= first ? faces.length + key - first : rowOfFace.get(key);
      if (r === undefined) throw new Error(`${join(dir, SEARCH_INDEX_FILE)}: face ${key} is in the search index but not in the library`);
      return r;
    },
  };
}

/**
 * The search index rebuilt with the faces added cluster by cluster, then the faces in no
 * cluster: a person's faces then lie together in the index's memory, meant to make searches
 * of a big library faster (rebuildSearchIndex says why; figures in bench/README.md). The
 * descriptors are those just clustered, so nothing is read twice. Not the default: on a
 * million drawn faces (bench/library-reorder.ts) DBSCAN chained 82% of them into one
 * cluster, so the order was still shuffled where it mattered, and search was no faster
 * (p50 25.5-26.6 ms against 23.5-26.2) for 24 more minutes of `cluster`. Person-sized
 * clusters would give what adding faces person by person gives (1.3-1.5x, bench/README.md).
 */
function reorder(store: LibraryStore, dir: string, faces: readonly { id: number }[], x: Float32Array, clusters: readonly { faces: readonly number[] }[], onProgress?: (done: number, total: number) => void): ClusterReport['searchIndex'] {
  const t = performance.now();
  const n = faces.length;
  const order = new Uint32Array(n);
  const placed = new Uint8Array(n);
  let k = 0;
  for (const c of clusters) for (const r of c.faces) if (!placed[r]) { placed[r] = 1; order[k++] = r; }
  for (let r = 0; r < n; r++) if (!placed[r]) order[k++] = r;
  const dim = store.dim;
  const index = rebuildSearchIndex(store, dir, { ids: faces.map((f) => f.id), vectors: x.subarray(0, n * dim) }, order, { onProgress });
  if (!index) return null;
  index.close?.();
  return { faces: n, seconds: (performance.now() - t) / 1000 };
}

export async function clusterLibrary(dir: string, opts: ClusterLibraryOptions = {}): Promise<ClusterReport> {
  return withGalleryLock(dir, async () => {
    const gallery = await loadStoredGallery(dir, opts.onNotice);
    const store = LibraryStore.open(dir);
    try {
      // Descriptors streamed into x, never held twice (a million 1024-d faces are 4 GB each time).
      const faces = store.faceEntries();
      const own = gallery.toFiles();
      const anchors = store.notInLibrary(own.json.faces.map((f, i) => ({ file: f.file, f, i })));
      const n = faces.length + anchors.length;
      const dim = gallery.dim;
      const x = new Float32Array(n * dim);
      store.descriptorsOf(faces, (i, d) => x.set(normalise(d, dim, gallery.normalisation), i * dim));
      anchors.forEach(({ i }, k) => x.set(own.descriptors.subarray(i * dim, (i + 1) * dim), (faces.length + k) * dim));
      const named = [...faces.map((f) => f.person), ...anchors.map(({ f }) => f.person)];
      const { examples = 5, onNotice: _, onProgress, reorderSearchIndex: __, ...options } = opts;
      const builtIndex = n > EXACT_NEIGHBOURS_UP_TO ? searchIndexForNeighbours(store, dir, gallery.normalisation, faces, x.subarray(faces.length * dim), opts.onNotice) : null;
      let result: FaceClustering;
      try {
        const notNamed = [...faces.map((f) => f.notPeople), ...anchors.map(() => [])];
        result = clusterFaces(x, dim, named, { ...options, notNamed, onProgress, builtIndex: builtIndex ?? undefined, index: n > EXACT_NEIGHBOURS_UP_TO ? neighbourIndexProvider() : flatIndexProvider });
      } finally {
        builtIndex?.index.close?.();
      }
      // Library faces only: anchors are the gallery's, and a cluster of anchors alone is not shown.
      const shown = result.clusters
        .map((c) => ({ ...c, faces: c.faces.filter((r) => r < faces.length) }))
        .filter((c) => c.faces.length > 0);
      store.setClusters(new Map(shown.map((c) => [c.id, c.faces.map((r) => faces[r].id)])));
      const searchIndex = !opts.reorderSearchIndex ? null : reorder(store, dir, faces, x, shown, opts.onProgress && ((done, total) => opts.onProgress!('reordering', done, total)));
      return {
        clusters: shown.map((c) => {
          const mine = c.faces.map((r) => faces[r]);
          const best = [...mine].sort((a, b) => b.score - a.score);
          return { id: c.id, faces: mine.length, photos: new Set(mine.map((f) => f.path)).size, person: c.person, nearest: c.nearest, examples: [...new Set(best.map((f) => f.path))].slice(0, examples) };
        }),
        noise: result.noise.filter((r) => r < faces.length).length,
        faces: faces.length,
        searchIndex,
        options: result.options,
      };
    } finally {
      store.close();
    }
  }, { onWait: opts.onNotice });
}
