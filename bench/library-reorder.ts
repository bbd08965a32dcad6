// What `facegpu cluster`'s rebuild of the search index buys a big library's search, measured
// through the library's own code (bench/README.md, "The order faces are added in"):
//   1. a library of the drawn faces, one per photo, stored in a seeded shuffled order (as a
//      folder walk meets a person's photos), and its search index as `index` leaves it: faces
//      added in store order; a copy of that file is kept;
//   2. `clusterLibrary`, as `facegpu cluster` runs it: the neighbours searched in that index,
//      DBSCAN, then the index rebuilt cluster by cluster; a copy of that file is kept;
//   3. both files loaded as `facegpu search` loads them and searched with the same queries,
//      interleaved, one query at a time, 64 candidates re-scored exactly (MIN_CANDIDATES),
//      recall@1 against exact search.
// Each step is skipped when its output exists, so an interrupted run resumes.
//   npx tsx src/cli/main.ts bench gallery --faces 1000000 --cache /tmp/fgb/cache   # draws (and caches) the faces
//   npx tsx bench/library-reorder.ts --faces 1000000 --cache /tmp/fgb/cache --dir /tmp/fgb/lib-1000000
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { flatIndexProvider } from '../src/gallery/flat-index.ts';
import { Gallery } from '../src/gallery/gallery.ts';
import { dot } from '../src/gallery/pair-scores.ts';
import { saveGallery } from '../src/gallery/store-node.ts';
import type { VectorIndex } from '../src/gallery/vector-index.ts';
import { clusterLibrary } from '../src/library/cluster-node.ts';
import { libraryIndexProvider } from '../src/library/library-index-node.ts';
import { openSearchIndex, SEARCH_INDEX_FILE } from '../src/library/search-index-node.ts';
import { MIN_CANDIDATES } from '../src/library/search-node.ts';
import { LibraryStore } from '../src/library/store-node.ts';
import { modelFromJson } from './descriptor-model.ts';
import { drawnCacheFile, readDrawn } from './drawn-cache.ts';
import { insertionOrder } from './gallery-bench.ts';

const { values: args } = parseArgs({
  options: {
    faces: { type: 'string', default: '1000000' },
    queries: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    cache: { type: 'string' },
    dir: { type: 'string' },
    model: { type: 'string', default: 'calibration/face.faces-model.json' },
    rounds: { type: 'string', default: '2' },
  },
});
const faces = Number(args.faces);
const queries = Number(args.queries);
const seed = Number(args.seed);
if (!args.cache || !args.dir) throw new Error('library-reorder: --cache <dir> (as given to `facegpu bench gallery`) and --dir <library dir> are needed');
const modelText = readFileSync(args.model, 'utf8');
const dim = modelFromJson(JSON.parse(modelText), args.model).dim;
const cacheFile = drawnCacheFile(args.cache, modelText, seed, faces, queries);
const drawn = readDrawn(cacheFile, dim, faces, queries);
if (!drawn || !existsSync(`${cacheFile}.exact10`)) throw new Error(`${cacheFile}: no drawn faces with their exact answers: run \`facegpu bench gallery --faces ${faces} --queries ${queries} --seed ${seed} --cache ${args.cache}\` first`);
const dir = args.dir;
const storeOrderFile = `${dir}-store-order.usearch`;
const clusterOrderFile = `${dir}-cluster-order.usearch`;
const say = (s: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)} load ${loadavg()[0].toFixed(2)} rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB] ${s}\n`);
const seconds = (t: number) => ((performance.now() - t) / 1000).toFixed(1);

if (!existsSync(storeOrderFile)) {
  mkdirSync(dir, { recursive: true });
  await saveGallery(dir, Gallery.create({ backbone: { id: 'drawn', sha256: '0'.repeat(64) }, preprocessing: {}, normalisation: { method: 'l2' }, dim, index: flatIndexProvider }));
  const store = LibraryStore.open(dir, { create: { dim, backbone: { id: 'drawn', sha256: '0'.repeat(64) } } });
  try {
    const order = insertionOrder(faces, 'shuffled', seed);
    let t = performance.now();
    for (let a = 0; a < faces; a += 5000) {
      store.storePhotos(
        Array.from({ length: Math.min(5000, faces - a) }, (_, k) => {
          const r = order[a + k];
          const descriptor = drawn.vectors.slice(r * dim, (r + 1) * dim);
          return { path: `/p/${r}.jpg`, size: 1, mtimeMs: 0, sha256: String(r), width: 100, height: 100, faces: [{ box: [0, 0, 10, 10] as [number, number, number, number], score: 0.9, descriptor }] };
        }),
      );
    }
    say(`library of ${faces} faces stored (shuffled) in ${seconds(t)} s`);
    t = performance.now();
    openSearchIndex(store, dir, { method: 'l2' }, { save: true }).close?.();
    say(`search index built in store order in ${seconds(t)} s`);
  } finally {
    store.close();
  }
  copyFileSync(`${dir}/${SEARCH_INDEX_FILE}`, storeOrderFile);
}

if (!existsSync(clusterOrderFile)) {
  const t = performance.now();
  const r = await clusterLibrary(dir, { onNotice: say });
  say(`clustered ${r.faces} faces in ${seconds(t)} s: ${r.clusters.length} clusters, ${r.noise} noise; search index rebuilt in ${r.searchIndex?.seconds.toFixed(1)} s; peak RSS ${(process.resourceUsage().maxRSS / 2 ** 10).toFixed(0)} MiB`);
  copyFileSync(`${dir}/${SEARCH_INDEX_FILE}`, clusterOrderFile);
}

// Face id -> drawn row, through the photo's path.
const rowOf = new Map<number, number>();
const store = LibraryStore.open(dir, { readonly: true });
for (const f of store.faceEntries()) rowOf.set(f.id, Number(f.path.slice(3, -4)));
store.close();
const truthBytes = readFileSync(`${cacheFile}.exact10`);
const truth = new Int32Array(truthBytes.buffer, truthBytes.byteOffset, truthBytes.byteLength / 4);
const sides: [string, VectorIndex][] = [
  ['store order', libraryIndexProvider().load!(storeOrderFile, dim)],
  ['cluster order', libraryIndexProvider().load!(clusterOrderFile, dim)],
];
const run = (index: VectorIndex) => {
  const times: number[] = [];
  let at1 = 0;
  for (let i = 0; i < queries; i++) {
    const q = drawn.queries.slice(i * dim, (i + 1) * dim);
    const t = performance.now();
    let best = -1;
    let bestS = -Infinity;
    for (const key of (index as VectorIndex & { search(q: Float32Array, k: number, threads: number): { keys: number[] }[] }).search(q, MIN_CANDIDATES, 1)[0].keys) {
      const r = rowOf.get(key)!;
      const s = dot(q, 0, drawn.vectors, r * dim, dim);
      if (s > bestS) [best, bestS] = [r, s];
    }
    times.push(performance.now() - t);
    at1 += +(best === truth[i * 10]);
  }
  times.sort((a, b) => a - b);
  return { recallAt1: at1 / queries, p50Ms: +times[Math.floor(queries * 0.5)].toFixed(2), p99Ms: +times[Math.floor(queries * 0.99)].toFixed(2) };
};
for (const [, index] of sides) run(index); // untimed: pages in
for (let k = 0; k < Number(args.rounds); k++) {
  for (const [name, index] of k % 2 ? [...sides].reverse() : sides) say(`${name}, round ${k + 1}: ${JSON.stringify(run(index))}`);
}
for (const [, index] of sides) index.close?.();
