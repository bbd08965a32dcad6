// How clusterFaces (src/library/cluster.ts) does at library scale: on the drawn faces of
// `facegpu bench gallery` (identities known, bench/README.md "How the vectors are made"), the
// clusters against the drawn identities, for several settings over one neighbour graph. The
// tables of src/library/README.md, "Clustering at library scale", are its output. Run:
//   npx tsx src/cli/main.ts bench gallery --faces 100000 --cache /tmp/fgb/cache   # draws the faces once
//   npx tsx scripts/cluster-drawn.ts --faces 100000 --cache /tmp/fgb/cache [--graph /tmp/fgb/graph-100000.bin]
//     [--settings 0.5:0.5,0.5:0.3,0.5:0.2] [--radius 0.6]
//
// - The graph: neighbourGraph at --radius (the widest epsilon tried) with the library's
//   neighbour index (USearch int8, searched at NEIGHBOUR_EXPANSION), as `facegpu cluster` finds
//   it above EXACT_NEIGHBOURS_UP_TO faces; kept in --graph, so that settings can be tried again
//   without the search (half an hour at a million faces).
// - Each setting (epsilon:minEpsilon[:attachSimilarity|off]) through clusterGraph: the
//   ladder, the named-people rule (nobody is named here) and the noise attached.
// - Quality: clusterQuality against the drawn identities; the largest clusters (a chained one
//   shows there); people seen once (one face in the library) put in a cluster.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { CLUSTER_DEFAULTS, clusterGraph, neighbourGraph } from '../src/library/cluster.ts';
import { clusterQuality } from '../src/library/cluster-quality.ts';
import { neighbourIndexProvider } from '../src/library/library-index-node.ts';
import { unitRows } from '../src/gallery/synthetic.ts';
import { modelFromJson } from '../bench/descriptor-model.ts';
import { drawnCacheFile, readDrawn } from '../bench/drawn-cache.ts';

const { values: args } = parseArgs({
  options: {
    faces: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    cache: { type: 'string' },
    model: { type: 'string', default: 'calibration/face.faces-model.json' },
    graph: { type: 'string' },
    radius: { type: 'string', default: '0.6' },
    settings: { type: 'string', default: `0.5:0.5,0.5:0.35,0.5:0.3,0.5:0.25,${CLUSTER_DEFAULTS.epsilon}:${CLUSTER_DEFAULTS.minEpsilon}:off,0.6:0.2` },
  },
});
const faces = Number(args.faces);
const radius = Number(args.radius);
if (!args.cache) throw new Error('cluster-drawn: --cache <dir> (as given to `facegpu bench gallery --cache`) is needed');
const settings = args.settings!.split(',').map((s) => {
  const [e, m, a] = s.split(':');
  const epsilon = Number(e);
  const minEpsilon = Number(m);
  if (!(epsilon > 0 && epsilon <= radius && minEpsilon > 0 && minEpsilon <= epsilon)) throw new Error(`--settings: "${s}" is not epsilon:minEpsilon[:attach] with minEpsilon <= epsilon <= --radius ${radius}`);
  return { epsilon, minEpsilon, attachSimilarity: a === undefined ? undefined : a === 'off' ? null : Number(a) };
});
const say = (s: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)} load ${loadavg()[0].toFixed(2)}] ${s}\n`);

const modelText = readFileSync(args.model!, 'utf8');
const dim = modelFromJson(JSON.parse(modelText), args.model!).dim;
const file = drawnCacheFile(args.cache, modelText, Number(args.seed), faces, Number(args.queries));
const drawn = readDrawn(file, dim, faces, Number(args.queries));
if (!drawn) throw new Error(`${file}: no drawn faces: run \`facegpu bench gallery --faces ${faces} --queries ${args.queries} --seed ${args.seed} --cache ${args.cache}\` first`);
// Unit rows, as a library with plain L2 normalisation stores them (in place: 4 GB at a million).
const x = unitRows(drawn.vectors, dim);

/** The graph kept as a header (cap, faces: int32; radius: float32), [faces, cap] rows (-1 padded), then [faces, cap] distances. */
const HEADER = 12;
function readGraph(path: string): { rows: Int32Array[]; distances: Float32Array[] } {
  const b = readFileSync(path);
  const cap = b.readInt32LE(0);
  const kept = { faces: b.readInt32LE(4), radius: b.readFloatLE(8) };
  if (kept.faces !== faces || Math.abs(kept.radius - radius) > 1e-6 || b.length !== HEADER + faces * cap * 8) throw new Error(`${path}: a graph of ${kept.faces} faces at ${kept.radius.toFixed(3)}, not of ${faces} at ${radius} (--faces, --radius): give another --graph file`);
  const r = new Int32Array(b.buffer, b.byteOffset + HEADER, faces * cap);
  const d = new Float32Array(b.buffer, b.byteOffset + HEADER + faces * cap * 4, faces * cap);
  const rows: Int32Array[] = [];
  const distances: Float32Array[] = [];
  for (let i = 0; i < faces; i++) {
    let m = 0;
    while (m < cap && r[i * cap + m] >= 0) m++;
    rows.push(r.slice(i * cap, i * cap + m));
    distances.push(d.slice(i * cap, i * cap + m));
  }
  return { rows, distances };
}
function writeGraph(path: string, g: { rows: Int32Array[]; distances: Float32Array[] }, cap: number): void {
  const r = new Int32Array(faces * cap).fill(-1);
  const d = new Float32Array(faces * cap);
  g.rows.forEach((row, i) => {
    r.set(row, i * cap);
    d.set(g.distances[i], i * cap);
  });
  const header = Buffer.alloc(HEADER);
  header.writeInt32LE(cap, 0);
  header.writeInt32LE(faces, 4);
  header.writeFloatLE(radius, 8);
  writeFileSync(`${path}.tmp`, Buffer.concat([header, Buffer.from(r.buffer), Buffer.from(d.buffer)]));
  renameSync(`${path}.tmp`, path);
}

let graph;
if (args.graph && existsSync(args.graph)) {
  graph = readGraph(args.graph);
  say(`graph read from ${args.graph}`);
} else {
  const t = performance.now();
  let last = 0;
  graph = neighbourGraph(x, dim, radius, CLUSTER_DEFAULTS.maxNeighbours, neighbourIndexProvider(), (step, done, total) => {
    if (performance.now() - last < 60_000) return;
    last = performance.now();
    say(`${step} ${done}/${total}`);
  });
  say(`graph of ${faces} faces at ${radius} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  if (args.graph) writeGraph(args.graph, graph, CLUSTER_DEFAULTS.maxNeighbours);
}

const perPerson = new Map<number, number>();
for (const p of drawn.person) perPerson.set(p, (perPerson.get(p) ?? 0) + 1);
const seenOnce = Array.from(drawn.person, (p) => perPerson.get(p) === 1);
const people4 = [...perPerson.values()].filter((c) => c >= 4).length;
console.log(`${faces} drawn faces of ${perPerson.size} identities (${people4} with 4 faces or more, ${seenOnce.filter(Boolean).length} seen once); graph at ${radius}, ${CLUSTER_DEFAULTS.maxNeighbours} neighbours at most; load ${loadavg()[0].toFixed(1)}\n`);
console.log('| epsilon | minEpsilon | attach at | clusters | largest three | pairwise precision | pairwise recall | ARI | noise | seen once, in a cluster | s |');
console.log('|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|');
for (const s of settings) {
  const t = performance.now();
  const r = clusterGraph(x, dim, new Array<string | null>(faces).fill(null), graph, { ...s, index: neighbourIndexProvider() });
  const seconds = (performance.now() - t) / 1000;
  const label = new Int32Array(faces).fill(-1);
  for (const c of r.clusters) for (const f of c.faces) label[f] = c.id;
  const q = clusterQuality(label, drawn.person);
  const once = seenOnce.filter((o, i) => o && label[i] >= 0).length;
  const attach = r.options.attachThreshold === null ? 'off' : r.options.attachThreshold.toFixed(3);
  console.log(`| ${s.epsilon} | ${s.minEpsilon} | ${attach} | ${r.clusters.length} | ${r.clusters.slice(0, 3).map((c) => c.faces.length).join(' / ')} | ${q.precision.toFixed(3)} | ${q.recall.toFixed(3)} | ${q.ari.toFixed(3)} | ${(q.noiseFraction * 100).toFixed(1)}% | ${once} of ${seenOnce.filter(Boolean).length} | ${seconds.toFixed(1)} |`);
}
