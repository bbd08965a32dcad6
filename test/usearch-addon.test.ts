// USearch's addon as the set-up script builds it (scripts/build-usearch.mjs with patches/): that
// it is the addon in use wherever a patch for the installed version exists, and that it answers exactly as USearch's own
// prebuilt addon on the same saved graph (the patch only prefetches memory; patches/README.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Index, MetricKind, ScalarKind } from 'usearch';
import { Prng } from '../src/train/prng.ts';
import { LIBRARY_INDEX, usearchAddon, usearchPackageDir } from '../src/gallery/usearch-index-node.ts';

type Compiled = new (...args: unknown[]) => { view(path: string): void; search(q: Float32Array, k: number, threads: number): [BigUint64Array, Float32Array, BigUint64Array] };
const require = createRequire(import.meta.url);
const dir = usearchPackageDir();
const built = join(dir, 'build', 'Release', 'usearch.node');
const prebuilt = join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'usearch.node');
const addon = usearchAddon();
const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
// patches/ holds a patch for the installed usearch: the set-up script builds it.
const hasPatch = existsSync(join(import.meta.dirname, '..', 'patches', `usearch-${version}.patch`));

describe("USearch's addon", () => {
  const tmp = mkdtempSync(join(tmpdir(), 'facegpu-usearch-addon-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  // Wherever patches/ has a patch for the installed usearch, the set-up script builds it: a
  // checkout set up by it (CI's included) runs the patched addon, or `npm run build:usearch` is due.
  it.runIf(hasPatch)('the set-up script built the prefetching addon, and it is the addon in use', () => {
    expect(addon, 'run `npm run build:usearch` (scripts/setup.sh does)').toBe('prefetch');
  });

  it.skipIf(addon !== 'prefetch' || !existsSync(prebuilt))('the prefetching build answers exactly as the prebuilt addon on the same graph', () => {
    // A library-shaped index (LIBRARY_INDEX's int8 graph) of 4000 faces of 400 people.
    const dim = 1024, people = 400, faces = 4000, queries = 300;
    const rng = new Prng(7);
    const unit = (v: Float32Array) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
    const centres = Array.from({ length: people }, () => unit(Float32Array.from({ length: dim }, () => rng.uniform(-1, 1))));
    const face = () => unit(centres[rng.int(people)].map((c) => c + 0.04 * rng.uniform(-1, 1)));
    const index = new Index({ dimensions: dim, metric: MetricKind.IP, quantization: ScalarKind.I8, connectivity: LIBRARY_INDEX.connectivity, expansion_add: LIBRARY_INDEX.expansionAdd, expansion_search: LIBRARY_INDEX.expansionSearch, multi: false });
    const vectors = new Float32Array(faces * dim);
    for (let i = 0; i < faces; i++) vectors.set(face(), i * dim);
    index.add(BigUint64Array.from({ length: faces }, (_, i) => BigInt(i)), vectors, 1);
    const file = join(tmp, 'faces.usearch');
    index.save(file);

    const open = (addonFile: string) => {
      const { CompiledIndex } = require(addonFile) as { CompiledIndex: Compiled };
      const c = new CompiledIndex(dim, 'ip', 'i8', LIBRARY_INDEX.connectivity, LIBRARY_INDEX.expansionAdd, LIBRARY_INDEX.expansionSearch, false);
      c.view(file);
      return c;
    };
    const ours = open(built), theirs = open(prebuilt);
    expect((require(prebuilt) as { facegpuNeighbourPrefetch?: boolean }).facegpuNeighbourPrefetch).toBeUndefined();
    let found = 0;
    for (let q = 0; q < queries; q++) {
      const query = face();
      const [keys, distances, counts] = ours.search(query, 64, 1);
      const [keys2, distances2, counts2] = theirs.search(query, 64, 1);
      expect(counts).toEqual(counts2);
      expect(keys).toEqual(keys2);
      expect(distances).toEqual(distances2);
      found += Number(counts[0]);
    }
    expect(found).toBe(queries * 64);
  });

  it('the build script leaves a usearch version it has no patch for to its prebuilt addon', () => {
    const fake = join(tmp, 'usearch-0.0.0');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'package.json'), JSON.stringify({ name: 'usearch', version: '0.0.0' }));
    const r = spawnSync(process.execPath, ['scripts/build-usearch.mjs'], { encoding: 'utf8', env: { ...process.env, FACEGPU_USEARCH_DIR: fake } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('no patch for usearch 0.0.0');
    expect(existsSync(join(fake, 'build'))).toBe(false);
  });

  it.runIf(hasPatch)('the build script says in one line where a file step failed, exits 1 and builds nothing', () => {
    // A usearch it has a patch for, in a node_modules whose .cache is a file: its work folder cannot be made.
    const modules = join(tmp, 'blocked', 'node_modules');
    const fake = join(modules, 'usearch');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'package.json'), JSON.stringify({ name: 'usearch', version }));
    writeFileSync(join(modules, '.cache'), '');
    const r = spawnSync(process.execPath, ['scripts/build-usearch.mjs'], { encoding: 'utf8', env: { ...process.env, FACEGPU_USEARCH_DIR: fake } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^build-usearch: ENOTDIR: .*blocked\/node_modules\/\.cache\/facegpu-usearch'; USearch's prebuilt addon stays in use$/)]);
    expect(existsSync(join(fake, 'build'))).toBe(false);
  });
});
