// Vector index benchmark for the gallery (src/gallery): embedded indexes from npm against our
// exact FlatIndex, on random-but-clustered unit vectors (clusters of 10: "people" with 10
// faces each), queries being new faces of known clusters.
//
//   npx tsx bench/index-bench.ts [--sizes 10000,100000] [--dim 1024] [--libs flat,usearch,hnswlib,lancedb]
//                                [--limit hnswlib=10000,lancedb=10000] [--queries 100] [--timeout 240] [--json out.json]
//
// hnswlib-node and @lancedb/lancedb are not dependencies of facegpu (USearch was chosen): to
// compare them again, `npm i --no-save hnswlib-node@3.0.0 @lancedb/lancedb@0.31.0` first; a
// library that is not installed is reported as such.
//
// Per library and size, in a fresh child process (so memory is its own): build time, memory
// (resident set growth over the loaded data), single-query search latency (k = 10), recall@10
// against the exact result (FlatIndex, run first), save and load time and file size, removal
// of 1% of the keys (removed keys must not come back) and growth after load (1% new vectors,
// each must find itself). Results in src/gallery/README.md.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlatIndex } from '../src/gallery/flat-index.ts';
import { syntheticFaces, unitRows } from '../src/gallery/synthetic.ts';
import { UsearchIndex } from '../src/gallery/usearch-index-node.ts';
import { arrowTableOf } from './lancedb-table.ts';

interface Result {
  lib: string;
  n: number;
  dim: number;
  buildS: number;
  memMiB: number;
  searchMsMedian: number;
  searchMsP95: number;
  recallAt10: number | null;
  saveS: number;
  loadS: number;
  fileMiB: number;
  removeMsPerKey: number;
  removedFound: number;
  growS: number;
  grownSelfFound: number;
  keys?: number[][];
  /** usearch only: the same index searched with USearch's default expansion (64). */
  defaultExpansion?: { searchMsMedian: number; recallAt10: number | null; keys?: number[][] };
  error?: string;
}

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const now = () => performance.now() / 1000;
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const p95 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.95)];
const dirMiB = (p: string): number => {
  const s = statSync(p);
  if (!s.isDirectory()) return s.size / 2 ** 20;
  return readdirSync(p).reduce((t, n) => t + dirMiB(join(p, n)), 0);
};

/** What each library must do, in the form the benchmark drives it. */
interface Driver {
  build(keys: number[], x: Float32Array): Promise<void>;
  search(q: Float32Array): Promise<number[]>;
  save(path: string): Promise<void>;
  load(path: string): Promise<void>;
  remove(keys: number[]): Promise<void>;
  add(keys: number[], x: Float32Array): Promise<void>;
}

/** A package that is only here for comparisons. */
async function optional(name: string, spec: string): Promise<unknown> {
  try {
    return await import(name);
  } catch {
    throw new Error(`${name} is not installed (npm i --no-save ${spec})`);
  }
}

async function driverFor(lib: string, dim: number, n: number): Promise<Driver> {
  if (lib === 'flat') {
    let index = new FlatIndex(dim, n);
    return {
      build: async (keys, x) => index.add(keys, x),
      search: async (q) => index.search(q, 10)[0].keys,
      save: async (p) => writeFileSync(p, index.serialize()),
      load: async (p) => void (index = FlatIndex.deserialize(new Uint8Array(readFileSync(p)), dim)),
      remove: async (keys) => keys.forEach((k) => index.remove(k)),
      add: async (keys, x) => index.add(keys, x),
    };
  }
  if (lib === 'usearch') {
    let index = new UsearchIndex(dim);
    return {
      build: async (keys, x) => index.add(keys, x),
      search: async (q) => index.search(q, 10)[0].keys,
      save: async (p) => index.save(p),
      load: async (p) => void (index = UsearchIndex.load(p, dim)),
      remove: async (keys) => keys.forEach((k) => index.remove(k)),
      add: async (keys, x) => index.add(keys, x),
    };
  }
  if (lib === 'hnswlib') {
    // Typed loosely: these packages are optional, their types may be absent.
    const mod = (await optional('hnswlib-node', 'hnswlib-node@3.0.0')) as any;
    const { HierarchicalNSW } = mod.default ?? mod;
    let index = new HierarchicalNSW('ip', dim);
    index.initIndex({ maxElements: n, m: 16, efConstruction: 128, randomSeed: 100, allowReplaceDeleted: true });
    index.setEf(128);
    const row = (x: Float32Array, i: number) => Array.from(x.subarray(i * dim, (i + 1) * dim));
    return {
      build: async (keys, x) => keys.forEach((k, i) => index.addPoint(row(x, i), k)),
      search: async (q) => index.searchKnn(Array.from(q), 10).neighbors,
      save: async (p) => void (await index.writeIndex(p)),
      load: async (p) => {
        index = new HierarchicalNSW('ip', dim);
        await index.readIndex(p, true);
        index.setEf(128);
      },
      remove: async (keys) => keys.forEach((k) => index.markDelete(k)),
      add: async (keys, x) => {
        index.resizeIndex(index.getMaxElements() + keys.length);
        keys.forEach((k, i) => index.addPoint(row(x, i), k));
      },
    };
  }
  if (lib === 'lancedb') {
    const lancedb = (await optional('@lancedb/lancedb', '@lancedb/lancedb@0.31.0')) as any;
    const tableOf = (keys: number[], x: Float32Array) => arrowTableOf(keys, x, dim);
    let db: any;
    let table: any;
    let where = '';
    return {
      build: async (keys, x) => {
        where = mkdtempSync(join(tmpdir(), 'lancedb-'));
        db = await lancedb.connect(where);
        table = await db.createTable('faces', tableOf(keys, x) as never);
        // HNSW over scalar-quantised vectors inside IVF partitions. Cosine, not 'dot': in 0.31.0
        // an hnswSq index with distanceType 'dot' returns unrelated rows (refine or not); on
        // unit vectors cosine ranks the same.
        await table.createIndex('vector', { config: lancedb.Index.hnswSq({ distanceType: 'cosine' }) });
      },
      search: async (q) => (await table.vectorSearch(Array.from(q)).distanceType('cosine').limit(10).select(['id', '_distance']).toArray()).map((r: { id: number }) => r.id),
      save: async () => {}, // it lives on disk already
      load: async () => {
        db = await lancedb.connect(where);
        table = await db.openTable('faces');
      },
      remove: async (keys) => void (await table.delete(`id IN (${keys.join(',')})`)),
      add: async (keys, x) => void (await table.add(tableOf(keys, x) as never)),
      get path() {
        return where;
      },
    } as Driver & { path: string };
  }
  throw new Error(`unknown library ${lib}`);
}

async function child(lib: string, dataDir: string): Promise<Result> {
  const meta = JSON.parse(readFileSync(join(dataDir, 'meta.json'), 'utf8')) as { n: number; dim: number; q: number };
  const { n, dim } = meta;
  // Views of the read buffers, not copies: a copy leaves garbage that a GC during the build
  // frees, which once made a 400 MB index look like 32 MB of resident growth.
  const floats = (file: string) => {
    const b = readFileSync(join(dataDir, file));
    return b.byteOffset % 4 === 0 ? new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) : new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const x = floats('data.bin');
  const queries = floats('queries.bin');
  const extra = floats('extra.bin');
  const keys = Array.from({ length: n }, (_, i) => i);
  const d = await driverFor(lib, dim, n);
  global.gc?.();
  const rss0 = rssMiB();
  let t = now();
  await d.build(keys, x);
  const buildS = now() - t;
  global.gc?.();
  const memMiB = rssMiB() - rss0;

  const times: number[] = [];
  const found: number[][] = [];
  for (let i = 0; i < meta.q; i++) {
    const q = queries.subarray(i * dim, (i + 1) * dim);
    t = now();
    found.push(await d.search(q));
    times.push((now() - t) * 1000);
  }

  const work = mkdtempSync(join(tmpdir(), 'index-bench-'));
  const file = join(work, `index.${lib}`);
  t = now();
  await d.save(file);
  const saveS = now() - t;
  const fileMiB = lib === 'lancedb' ? dirMiB((d as Driver & { path: string }).path) : dirMiB(file);
  t = now();
  await d.load(file);
  const loadS = now() - t;

  let defaultExpansion: Result['defaultExpansion'];
  if (lib === 'usearch') {
    const { Index, MetricKind, ScalarKind } = await import('usearch');
    const alt = new Index({ dimensions: dim, metric: MetricKind.IP, quantization: ScalarKind.F32, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
    alt.load(file);
    const altTimes: number[] = [];
    const altKeys: number[][] = [];
    for (let i = 0; i < meta.q; i++) {
      t = now();
      altKeys.push(Array.from(alt.search(queries.subarray(i * dim, (i + 1) * dim), 10, 0).keys, Number));
      altTimes.push((now() - t) * 1000);
    }
    defaultExpansion = { searchMsMedian: median(altTimes), recallAt10: null, keys: altKeys };
  }

  // Growth after load: 1% new vectors, each must find itself first.
  const m = extra.length / dim;
  const newKeys = Array.from({ length: m }, (_, i) => n + i);
  t = now();
  await d.add(newKeys, extra);
  const growS = now() - t;
  let self = 0;
  for (let i = 0; i < Math.min(m, 100); i++) self += +((await d.search(extra.subarray(i * dim, (i + 1) * dim)))[0] === n + i);

  // Removal: 1% of the keys; none may come back when their own vector is searched.
  const gone = keys.filter((k) => k % 100 === 7);
  t = now();
  await d.remove(gone);
  const removeMsPerKey = ((now() - t) * 1000) / gone.length;
  let back = 0;
  for (const k of gone.slice(0, 100)) back += +(await d.search(x.subarray(k * dim, (k + 1) * dim))).includes(k);
  rmSync(work, { recursive: true, force: true });
  if (lib === 'lancedb') rmSync((d as Driver & { path: string }).path, { recursive: true, force: true });

  return {
    lib,
    n,
    dim,
    buildS,
    memMiB,
    searchMsMedian: median(times),
    searchMsP95: p95(times),
    recallAt10: null,
    saveS,
    loadS,
    fileMiB,
    removeMsPerKey,
    removedFound: back,
    growS,
    grownSelfFound: self / Math.min(m, 100),
    keys: found,
    defaultExpansion,
  };
}

function runChild(lib: string, dataDir: string, timeoutS: number): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, '--child', lib, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutS * 1000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(JSON.parse(line.slice(7)));
      else resolve({ lib, error: signal === 'SIGKILL' ? `not finished in ${timeoutS} s` : `exit ${code}: ${err.split('\n').find((l) => /^\s*(\[?\w*Error\b)/.test(l) && !/\bthrow\b/.test(l)) ?? err.trim().split('\n').at(-1)}` } as Result);
    });
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const i = process.argv.indexOf('--child');
    const r = await child(process.argv[i + 1], process.argv[i + 2]);
    console.log('RESULT ' + JSON.stringify(r));
    return;
  }
  const sizes = arg('sizes', '10000,100000').split(',').map(Number);
  const dim = Number(arg('dim', '1024'));
  const libs = arg('libs', 'flat,usearch,hnswlib,lancedb').split(',');
  // hnswlib-node builds on one thread, LanceDB's hnswSq trains partitions: at 100k 1024-d
  // vectors each takes minutes on a 2-core machine (LanceDB did not finish in 120 s).
  const limits = new Map(
    arg('limit', 'hnswlib=10000,lancedb=10000')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.split('=')[0], Number(kv.split('=')[1])] as [string, number]),
  );
  const q = Number(arg('queries', '100'));
  const timeoutS = Number(arg('timeout', '240'));
  const started = now();
  console.log(`# index benchmark: ${cpus().length} x ${cpus()[0]?.model}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}`);
  const all: Result[] = [];
  for (const n of sizes) {
    const dataDir = mkdtempSync(join(tmpdir(), 'index-bench-data-'));
    const t = now();
    const data = unitRows(syntheticFaces({ seed: 1, dim, people: n / 10, perPerson: 10, noise: 1.5 }).descriptors, dim);
    const queries = unitRows(syntheticFaces({ seed: 1, dim, people: q, perPerson: 1, noise: 1.5, faceSeed: 9, firstPerson: 0 }).descriptors, dim);
    const extra = unitRows(syntheticFaces({ seed: 1, dim, people: Math.max(1, n / 1000), perPerson: 10, noise: 1.5, firstPerson: n / 10 }).descriptors, dim);
    writeFileSync(join(dataDir, 'data.bin'), new Uint8Array(data.buffer));
    writeFileSync(join(dataDir, 'queries.bin'), new Uint8Array(queries.buffer));
    writeFileSync(join(dataDir, 'extra.bin'), new Uint8Array(extra.buffer));
    writeFileSync(join(dataDir, 'meta.json'), JSON.stringify({ n, dim, q }));
    console.error(`n=${n}: data in ${(now() - t).toFixed(1)} s`);
    let truth: number[][] | null = null;
    for (const lib of ['flat', ...libs.filter((l) => l !== 'flat')]) {
      const limit = limits.get(lib);
      if (limit !== undefined && n > limit) {
        const at = all.find((r) => r.lib === lib && r.n === limit && !r.error);
        const projected = at ? ` (its ${limit} build took ${at.buildS.toFixed(1)} s: ${((at.buildS * n * Math.log(n)) / (limit * Math.log(limit))).toFixed(0)} s projected as n log n)` : '';
        all.push({ lib, n, dim, error: `skipped above ${limit}${projected}` } as Result);
        continue;
      }
      const r = await runChild(lib, dataDir, timeoutS);
      if (lib === 'flat' && r.keys) truth = r.keys;
      const recall = (found: number[][]) => {
        let hit = 0;
        found.forEach((k, i) => (hit += k.filter((key) => truth![i].includes(key)).length));
        return hit / (truth!.length * 10);
      };
      if (r.keys && truth) r.recallAt10 = recall(r.keys);
      if (r.defaultExpansion?.keys && truth) r.defaultExpansion.recallAt10 = recall(r.defaultExpansion.keys);
      delete r.keys;
      delete r.defaultExpansion?.keys;
      r.n = n;
      r.dim = dim;
      all.push(r);
      console.error(`n=${n} ${lib}: ${r.error ?? `build ${r.buildS.toFixed(1)} s, search ${r.searchMsMedian.toFixed(2)} ms, recall ${r.recallAt10}`} (${(now() - started).toFixed(0)} s so far)`);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  const f = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? '–' : v.toFixed(d));
  console.log('\n| lib | n | build s | memory MiB | search ms median / p95 | recall@10 | save s | load s | file MiB | remove ms/key | removed found | grow 1% s | grown found self |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of all) {
    if (r.error) console.log(`| ${r.lib} | ${r.n} | ${r.error} |||||||||||`);
    else
      console.log(
        `| ${r.lib} | ${r.n} | ${f(r.buildS, 1)} | ${f(r.memMiB, 0)} | ${f(r.searchMsMedian)} / ${f(r.searchMsP95)} | ${f(r.recallAt10, 3)} | ${f(r.saveS)} | ${f(r.loadS)} | ${f(r.fileMiB, 1)} | ${f(r.removeMsPerKey, 3)} | ${r.removedFound} | ${f(r.growS, 2)} | ${f(r.grownSelfFound, 2)} |`,
      );
  }
  for (const r of all.filter((x) => x.defaultExpansion)) {
    console.log(`\nusearch n=${r.n} with USearch's default search expansion (64 instead of 128): search ${f(r.defaultExpansion!.searchMsMedian)} ms median, recall@10 ${f(r.defaultExpansion!.recallAt10, 3)}`);
  }
  console.log(`\ntotal ${(now() - started).toFixed(0)} s; load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const json = arg('json', '');
  if (json) writeFileSync(json, JSON.stringify({ loadavg: loadavg(), cpus: cpus().length, results: all }, null, 1));
}

await main();
