// How well clusterFaces (src/library/cluster.ts) finds the people of real photos with the
// labels hidden, and how fast it runs; the tables of src/library/README.md ("Clustering")
// are this script's output. Run:
//   npx tsx scripts/cluster-quality.ts [--shared ../shared] [--backbone face] [--cache file]
//     [--no-sweep] [--no-hdbscan] [--scale 2000,10000] [--index flat|usearch]
//
// - Descriptors: scripts/cluster-descriptors.ts (every photo's largest face, default pipeline,
//   normalised as galleries store them). --cache keeps the pipeline's answers between runs
//   (minutes of GPU work; scripts/dataset-faces.ts, the same cache as fit-descriptor-model.ts).
// - Quality: clusterQuality (src/library/cluster-quality.ts) of the clusters against the true
//   people, on ORL, on 5-celebrity-faces (train + val) and on both together.
// - Sweep: epsilon x minEpsilon, minSamples, attachSimilarity on the three sets; the library
//   comparison: hdbscan-ts.
// - Names: a few faces per person named, the rest hidden: the never-merge rule at work.
// - --scale: time on seeded synthetic descriptors (clusters of 20 faces) of the sizes given.
import { resolve, join } from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { dbscanOnGraph } from '../src/library/dbscan-graph.ts';
import { clusterFaces, neighbourGraph, CLUSTER_DEFAULTS, type ClusterOptions } from '../src/library/cluster.ts';
import { clusterQuality, type ClusterQuality } from '../src/library/cluster-quality.ts';
import { syntheticFaces, unitRows } from '../src/gallery/synthetic.ts';
import { flatIndexProvider } from '../src/gallery/flat-index.ts';
import type { IndexProvider } from '../src/gallery/vector-index.ts';
import { labelledDescriptors, type LabelledDescriptors } from './cluster-descriptors.ts';

const { values: args } = parseArgs({
  options: {
    shared: { type: 'string', default: resolve(import.meta.dirname, '../../shared') },
    backbone: { type: 'string', default: 'face' },
    cache: { type: 'string' },
    'no-sweep': { type: 'boolean', default: false },
    'no-hdbscan': { type: 'boolean', default: false },
    scale: { type: 'string' },
    index: { type: 'string', default: 'flat' },
  },
});
if (!['flat', 'usearch'].includes(args.index!)) throw new Error(`--index must be flat or usearch, got "${args.index}"`);
const scaleSizes = args.scale ? args.scale.split(',').map(Number) : [];
if (scaleSizes.some((s) => !Number.isInteger(s) || s < 20)) throw new Error(`--scale takes sizes (integers >= 20) separated by commas, got "${args.scale}"`);
const provider: IndexProvider = args.index === 'usearch' ? (await import('../src/gallery/usearch-index-node.ts')).usearchIndexProvider : flatIndexProvider;

const load = () => `load ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`;
const f3 = (v: number) => v.toFixed(3);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const header = '| set | faces | people | clusters found | pairwise precision | pairwise recall | ARI | noise | ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|';
const row = (set: string, q: ClusterQuality, ms: number) => `| ${set} | ${q.faces} | ${q.people} | ${q.clusters} | ${f3(q.precision)} | ${f3(q.recall)} | ${f3(q.ari)} | ${pct(q.noiseFraction)} | ${ms.toFixed(0)} |`;

const data = await labelledDescriptors(join(args.shared!, 'datasets'), { backbone: args.backbone, cache: args.cache });
const dim = data.dim;
function rowsOf(x: Float32Array, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, k) => out.set(x.subarray(r * dim, (r + 1) * dim), k * dim));
  return out;
}
function subset(d: LabelledDescriptors, sets: string[]): { x: Float32Array; truth: string[] } {
  const rows = d.person.map((_, i) => i).filter((i) => sets.includes(d.dataset[i]));
  return { x: rowsOf(d.descriptors, rows), truth: rows.map((r) => d.person[r]) };
}
const sets = { ORL: subset(data, ['orl']), '5-celebrity-faces': subset(data, ['celeb']), both: subset(data, ['orl', 'celeb']) };
// People seen once, as a library has many (passers-by): ORL s1-s20 whole, s21-s40 one photo
// each, all of 5-celebrity-faces. A stranger's face should stay noise.
const strangerRows = data.person.map((_, i) => i).filter((i) => {
  const m = /^orl-s(\d+)$/.exec(data.person[i]);
  return !m || Number(m[1]) <= 20 || data.person.indexOf(data.person[i]) === i;
});
const strangers = {
  x: rowsOf(data.descriptors, strangerRows),
  truth: strangerRows.map((r) => data.person[r]),
  isStranger: strangerRows.map((r) => /^orl-s(\d+)$/.test(data.person[r]) && Number(data.person[r].slice(5)) > 20),
};

/** Labels per face (-1 noise) from a clustering, and its time. */
function run(x: Float32Array, named: (string | null)[], opts: ClusterOptions) {
  const t = performance.now();
  const r = clusterFaces(x, dim, named, opts);
  const ms = performance.now() - t;
  const labels = new Array<number>(named.length).fill(-1);
  for (const c of r.clusters) for (const f of c.faces) labels[f] = c.id;
  return { r, labels, ms };
}
const nobody = (n: number) => new Array<string | null>(n).fill(null);

console.log(`${data.person.length} faces (${data.noFace.length} photos without a face: ${data.noFace.join(', ') || 'none'}), descriptors ${data.normalisation}\n`);
console.log(`## Defaults (epsilon ${CLUSTER_DEFAULTS.epsilon} down to minEpsilon ${CLUSTER_DEFAULTS.minEpsilon} by ${CLUSTER_DEFAULTS.epsilonStep}, minSamples ${CLUSTER_DEFAULTS.minSamples}, minClusterSize ${CLUSTER_DEFAULTS.minClusterSize}, maxNeighbours ${CLUSTER_DEFAULTS.maxNeighbours}, attachSimilarity ${CLUSTER_DEFAULTS.attachSimilarity}, attachStrangerRate ${CLUSTER_DEFAULTS.attachStrangerRate}, ${provider.kind} index), nobody named; ${load()}\n`);
console.log(header);
for (const [name, s] of Object.entries(sets)) {
  const { labels, ms } = run(s.x, nobody(s.truth.length), { index: provider });
  console.log(row(name, clusterQuality(labels, s.truth), ms));
}

if (!args['no-sweep']) {
  console.log(`\n## Sweep of epsilon and minEpsilon (the ladder's loosest and tightest levels; minSamples = minClusterSize = ${CLUSTER_DEFAULTS.minSamples}), nobody named: ARI (clusters found / people, noise)\n`);
  console.log(`| epsilon | minEpsilon | ${Object.keys(sets).join(' | ')} | both: precision / recall |\n|---:|---:|---|---|---|---|`);
  for (const epsilon of [0.45, 0.5, 0.55, 0.6]) {
    for (const minEpsilon of [epsilon, 0.35, 0.3, 0.25, 0.2]) {
      const cells = Object.values(sets).map((s) => clusterQuality(run(s.x, nobody(s.truth.length), { epsilon, minEpsilon, index: provider }).labels, s.truth));
      const both = cells[cells.length - 1];
      console.log(`| ${epsilon} | ${minEpsilon === epsilon ? `${minEpsilon} (one level: DBSCAN)` : minEpsilon} | ${cells.map((q) => `${f3(q.ari)} (${q.clusters}/${q.people}, ${pct(q.noiseFraction)})`).join(' | ')} | ${f3(both.precision)} / ${f3(both.recall)} |`);
    }
  }
  console.log(`\n## Sweep of minSamples (minClusterSize = minSamples, other options default), nobody named: ARI (clusters found / people, noise)\n`);
  console.log(`| minSamples | ${Object.keys(sets).join(' | ')} | both: precision / recall |\n|---:|---|---|---|---|`);
  for (const minSamples of [2, 3, 4, 5]) {
    const cells = Object.values(sets).map((s) => clusterQuality(run(s.x, nobody(s.truth.length), { minSamples, minClusterSize: minSamples, index: provider }).labels, s.truth));
    const both = cells[cells.length - 1];
    console.log(`| ${minSamples} | ${cells.map((q) => `${f3(q.ari)} (${q.clusters}/${q.people}, ${pct(q.noiseFraction)})`).join(' | ')} | ${f3(both.precision)} / ${f3(both.recall)} |`);
  }
}

if (!args['no-sweep']) {
  console.log(`\n## Sweep of attachSimilarity (other options default), nobody named: ARI (noise); strangers: ORL s1-s20, one photo of each of s21-s40, 5-celebrity-faces\n`);
  console.log(`| attachSimilarity | ${Object.keys(sets).join(' | ')} | with strangers: ARI (noise) | strangers put in a cluster | with strangers: precision / recall |\n|---|---|---|---|---|---|---|`);
  for (const attachSimilarity of [null, 0.5, 0.45, 0.4, 0.35, 0.3]) {
    const cells = Object.values(sets).map((s) => clusterQuality(run(s.x, nobody(s.truth.length), { attachSimilarity, index: provider }).labels, s.truth));
    const { labels } = run(strangers.x, nobody(strangers.truth.length), { attachSimilarity, index: provider });
    const q = clusterQuality(labels, strangers.truth);
    const alone = strangers.isStranger.filter((s, i) => s && labels[i] === -1).length;
    const total = strangers.isStranger.filter(Boolean).length;
    console.log(`| ${attachSimilarity ?? 'off'} | ${cells.map((c) => `${f3(c.ari)} (${pct(c.noiseFraction)})`).join(' | ')} | ${f3(q.ari)} (${pct(q.noiseFraction)}) | ${total - alone} of ${total} | ${f3(q.precision)} / ${f3(q.recall)} |`);
  }
}

if (!args['no-hdbscan']) {
  // hdbscan-ts works on number[][] with squared Euclidean distance, which on unit vectors is
  // 2 x the cosine distance: the same ordering and the same hierarchy.
  const { HDBSCAN } = createRequire(import.meta.url)('hdbscan-ts') as { HDBSCAN: new (o: { minClusterSize: number; minSamples: number }) => { fit(d: number[][]): number[] } };
  console.log(`\n## The other library: hdbscan-ts 1.0.17 (HDBSCAN), nobody named; ${load()}\n`);
  console.log(header.replace('| set |', '| library, set |').replace('|---|', '|---|'));
  for (const [name, s] of Object.entries(sets)) {
    const { labels, ms } = run(s.x, nobody(s.truth.length), { index: provider });
    console.log(row(`density-clustering DBSCAN (defaults), ${name}`, clusterQuality(labels, s.truth), ms));
    for (const [minClusterSize, minSamples] of [[3, 3], [4, 4], [5, 5], [5, 2]]) {
      const rows = Array.from({ length: s.truth.length }, (_, i) => Array.from(s.x.subarray(i * dim, (i + 1) * dim)));
      const t = performance.now();
      const l = new HDBSCAN({ minClusterSize, minSamples }).fit(rows);
      console.log(row(`hdbscan-ts minClusterSize ${minClusterSize} minSamples ${minSamples}, ${name}`, clusterQuality(l, s.truth), performance.now() - t));
    }
  }
}

// A few faces of each person named (the first ones of the set's order), the rest hidden: the
// quality over all faces, and a check of the rule (no cluster holds two names).
console.log(`\n## Some faces named (the first k of each person), defaults\n`);
console.log(header.replace('| set |', '| set, named per person |'));
for (const [name, s] of Object.entries(sets)) {
  for (const k of [1, 2]) {
    const seen = new Map<string, number>();
    const named = s.truth.map((p) => {
      const c = seen.get(p) ?? 0;
      seen.set(p, c + 1);
      return c < k ? p : null;
    });
    const { r, labels, ms } = run(s.x, named, { index: provider });
    for (const c of r.clusters) {
      const names = new Set(c.faces.map((f) => named[f]).filter((p) => p !== null));
      if (names.size > (c.person ? 1 : 0) || (c.person && !names.has(c.person))) throw new Error(`cluster ${c.id} holds names ${[...names].join(', ')} but carries ${c.person}`);
    }
    console.log(row(`${name}, ${k}`, clusterQuality(labels, s.truth), ms));
  }
}

if (scaleSizes.length) {
  console.log(`\n## Time on synthetic descriptors (${dim}-d: 80% of the faces in clusters of 20, 20% people seen once), ${provider.kind} index, defaults\n`);
  console.log('| faces | clusters found | noise | clusterFaces, s | a second run: neighbour search, s | then DBSCAN on its graph, s | load |\n|---:|---:|---:|---:|---:|---:|---|');
  for (const n of scaleSizes) {
    const people = Math.round((0.8 * n) / 20);
    const known = syntheticFaces({ seed: 7, dim, people, perPerson: 20, noise: 0.8 }).descriptors;
    const once = syntheticFaces({ seed: 7, dim, people: n - people * 20, perPerson: 1, noise: 0.8, firstPerson: people, faceSeed: 1 }).descriptors;
    const x = new Float32Array(n * dim);
    x.set(known);
    x.set(once, known.length);
    unitRows(x, dim);
    const { r, ms } = run(x, nobody(n), { index: provider });
    let t = performance.now();
    const graph = neighbourGraph(x, dim, CLUSTER_DEFAULTS.epsilon, CLUSTER_DEFAULTS.maxNeighbours, provider);
    const graphMs = performance.now() - t;
    t = performance.now();
    dbscanOnGraph(graph, CLUSTER_DEFAULTS.epsilon, CLUSTER_DEFAULTS.minSamples);
    const dbscanMs = performance.now() - t;
    const sec = (v: number) => (v / 1000).toFixed(1);
    console.log(`| ${n} | ${r.clusters.length} | ${r.noise.length} | ${sec(ms)} | ${sec(graphMs)} | ${sec(dbscanMs)} | ${load()} |`);
  }
}
