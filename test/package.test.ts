// The npm package as a user gets it: built, packed with `npm pack`, installed from the tarball
// into an empty folder (one `npm install`, its dependencies from the registry or npm's cache),
// and used there the three ways the README shows: the CLI through npx (the demo first, then
// embed), the Node library (the README's examples, run as they are written), a TypeScript
// program type-checked against the shipped .d.ts, and a page importing `facegpu/browser`
// built by Vite. Weights are converted on first use into FACEGPU_HOME, never into
// node_modules.
//
// Slow (a build, an install of tfjs, sharp, webgpu...): not part of `npm test`. Run it with
// `npm run test:package` (FACEGPU_PACKAGE_TEST=1); .ci/run does.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const RUN = process.env.FACEGPU_PACKAGE_TEST === '1';
const KEEP = process.env.FACEGPU_PACKAGE_TEST_KEEP === '1';

interface Ran {
  stdout: string;
  stderr: string;
}

/** Run a program; a failure carries its output. */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeout ?? 300_000, maxBuffer: 256 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ').slice(0, 300)} failed (${err.message.split('\n')[0]})\n--- stdout\n${stdout.slice(-4000)}\n--- stderr\n${stderr.slice(-4000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** The README's code block after `<!-- package-test: name -->`: the test runs what the README shows. */
function readmeBlock(name: string): string {
  const m = new RegExp(`<!-- package-test: ${name} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(README);
  if (!m) throw new Error(`README.md has no code block marked <!-- package-test: ${name} -->`);
  return m[1];
}

/** Every file under dir with its size and modification time (to see that nothing was written). */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const s = statSync(p);
        out.push(`${p} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

describe.skipIf(!RUN)('the npm package, installed from its tarball', () => {
  let tmp: string;
  let app: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let packed: { filename: string; files: { path: string }[] };
  let installedBefore: string[];
  let demoOut: Ran;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'facegpu-package-'));
    app = join(tmp, 'app');
    home = join(tmp, 'home');
    mkdirSync(app);
    await run('npm', ['run', 'build'], { cwd: ROOT });
    const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: ROOT });
    packed = JSON.parse(pack.stdout)[0];
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'facegpu-package-test', private: true, type: 'module' }, null, 2));
    // The user's environment: no variable of this checkout; facegpu's folder in the temp folder.
    env = { ...process.env, FACEGPU_HOME: home };
    delete env.FACEGPU_WEIGHTS;
    for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
    await run('npm', ['install', join(tmp, packed.filename), '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: app, env, timeout: 1_500_000 });
    installedBefore = snapshot(join(app, 'node_modules', 'facegpu'));
  }, 1_800_000);

  afterAll(() => {
    if (tmp && !KEEP) rmSync(tmp, { recursive: true, force: true });
    else if (tmp) console.log(`kept ${tmp}`);
  });

  it('the tarball holds dist/ (the HEIC decoder thread\'s script too), bin/, shaders, calibration, the USearch patch and its build script, README, LICENSE, CHANGELOG and package.json only', () => {
    const files = packed.files.map((f) => f.path);
    const allowed = /^(dist\/.+\.(js|d\.ts|js\.map)|dist\/image\/heic-worker\.cjs|bin\/facegpu\.js|shaders\/[\w-]+\.wgsl|calibration\/[\w-]+\.json|patches\/usearch-[\d.]+\.patch|scripts\/build-usearch\.mjs|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('dist/web/'))).toEqual([]);
    for (const f of ['dist/node.js', 'dist/node.d.ts', 'dist/cli/main.js', 'dist/browser/facegpu.js', 'dist/browser/index.d.ts', 'dist/image/heic-worker.cjs', 'calibration/face.json', 'shaders/pointwise.wgsl', 'scripts/build-usearch.mjs', 'LICENSE', 'CHANGELOG.md', 'README.md']) {
      expect(files).toContain(f);
    }
  });

  it('`npx facegpu demo` (the README\'s first command) converts the backbone into FACEGPU_HOME once and finds the enrolled faces', async () => {
    expect(readmeBlock('first-run')).toContain('npx facegpu demo');
    demoOut = await run('npx', ['facegpu', 'demo'], { cwd: app, env, timeout: 300_000 });
    expect(demoOut.stderr.match(/first run: converting the default face backbone/g)).toHaveLength(1);
    expect(existsSync(join(home, 'weights', 'face', 'manifest.json'))).toBe(true);
    expect(demoOut.stdout).toMatch(/named right: (\d+)\/\1 of the enrolled/);
    expect(demoOut.stdout).toMatch(/called unknown: (\d+)\/\1 of the strangers/);
    expect(existsSync(join(app, 'facegpu-demo', 'demo.jpg'))).toBe(true);
    // Photos for the examples below: a face, two photos of one person and a third of her.
    const photos = join(app, 'facegpu-demo', 'photos');
    copyFileSync(join(photos, 'enrolled', 'person-A', 'original.jpg'), join(app, 'photo.jpg'));
    copyFileSync(join(photos, 'enrolled', 'person-B', 'original.jpg'), join(app, 'ana1.jpg'));
    copyFileSync(join(photos, 'enrolled', 'person-B', 'crop.jpg'), join(app, 'ana2.jpg'));
    copyFileSync(join(photos, 'probes', 'person-B-flip.jpg'), join(app, 'party.jpg'));
  });

  it('`npx facegpu embed photo.jpg --json` prints a 1024-number descriptor, with no conversion message', async () => {
    expect(readmeBlock('cli')).toContain('npx facegpu embed photo.jpg --json');
    const { stdout, stderr } = await run('npx', ['facegpu', 'embed', 'photo.jpg', '--json'], { cwd: app, env });
    const out = JSON.parse(stdout);
    expect(out).toHaveLength(1);
    expect(out[0].file).toBe('photo.jpg');
    expect(out[0].embedding).toHaveLength(1024);
    expect(stderr).not.toMatch(/first run/);
  });

  it('the README\'s Node example embeds a photo (node --input-type=module)', async () => {
    const code = readmeBlock('node-embed');
    expect(code).toContain("from 'facegpu'");
    const { stdout } = await run('node', ['--input-type=module', '-e', code], { cwd: app, env });
    expect(stdout.trim().split('\n').pop()).toBe('1024');
  });

  it('a HEIC photo decodes through the installed package: its decoder thread\'s script ships beside the compiled code', async () => {
    // The demo's photo (the test before this one put it here), as a HEIC made by Debian's heif-enc.
    await run('heif-enc', ['-q', '90', 'photo.jpg', '-o', 'photo.heic'], { cwd: app });
    const code = "import { loadImageRaw } from 'facegpu'; const [a, b] = await Promise.all(['photo.jpg', 'photo.heic'].map((f) => loadImageRaw(f))); console.log(a.width === b.width && a.height === b.height && b.width > 0);";
    const { stdout } = await run('node', ['--input-type=module', '-e', code], { cwd: app, env });
    expect(stdout.trim().split('\n').pop()).toBe('true');
  });

  it('a photo library\'s name goes into an XMP sidecar through the installed package (ExifTool ships with it)', async () => {
    const photo = join(app, 'facegpu-demo', 'photos', 'enrolled', 'person-B', 'original.jpg');
    await run('npx', ['facegpu', 'index', join(app, 'facegpu-demo', 'photos', 'enrolled', 'person-B'), '--gallery', 'library'], { cwd: app, env });
    const [{ faces }] = JSON.parse((await run('npx', ['facegpu', 'gallery', 'faces', 'library', photo, '--json'], { cwd: app, env })).stdout);
    await run('npx', ['facegpu', 'gallery', 'name-faces', 'library', 'Ana', String(faces[0].id)], { cwd: app, env });
    const out = JSON.parse((await run('npx', ['facegpu', 'gallery', 'export-xmp', 'library', '--json'], { cwd: app, env })).stdout);
    expect(out).toMatchObject({ photos: 1, written: 1, regions: 1, failed: [] });
    expect(readFileSync(`${photo}.xmp`, 'utf8')).toContain('<mwg-rs:Name>Ana</mwg-rs:Name>');
  });

  it('the README\'s Gallery example enrols Ana and finds her in another photo', async () => {
    const code = readmeBlock('node-gallery');
    const { stdout } = await run('node', ['--input-type=module', '-e', code], { cwd: app, env });
    expect(stdout).toContain("[ 'Ana' ]");
    expect(existsSync(join(app, 'people', 'gallery.json'))).toBe(true);
  });

  it("the README's photo library example indexes, clusters and searches through the installed package", async () => {
    // The demo's photos as the user's Pictures/, and a library of its own (the XMP test has one).
    const code = readmeBlock('node-library').replaceAll("'Pictures/'", JSON.stringify(join(app, 'facegpu-demo', 'photos'))).replaceAll("'library/'", "'api-library/'");
    const { stdout } = await run('node', ['--input-type=module', '-e', code], { cwd: app, env });
    const [faces, photos] = stdout.trim().split('\n')[0].split(' ').map(Number);
    expect(faces).toBeGreaterThan(0);
    expect(photos).toBeGreaterThan(0);
    expect(existsSync(join(app, 'api-library', 'gallery.json'))).toBe(true);
  });

  it("require('facegpu') works from CommonJS (no top-level await in the package's module graph; Node >= 20.19 requires ES modules)", async () => {
    const code = "const f = require('facegpu'); console.log(typeof f.openEngine, typeof f.Gallery, typeof f.loadImageRGB);";
    const { stdout } = await run('node', ['-e', code], { cwd: app, env });
    expect(stdout.trim().split('\n').pop()).toBe('function function function');
  });

  it('nothing was written inside node_modules', () => {
    expect(snapshot(join(app, 'node_modules', 'facegpu'))).toEqual(installedBefore);
  });

  it('a TypeScript program using the public API type-checks against the shipped .d.ts', async () => {
    const dir = join(app, 'ts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'], types: [], strict: true, noEmit: true, skipLibCheck: true }, include: ['*.ts'] }, null, 2),
    );
    writeFileSync(
      join(dir, 'use.ts'),
      `import { openEngine, loadImageRGB, Gallery, train, load, predict, evaluate, referenceFor, openFaceDescriber as openDescriber, type IdentifiedFile, type MobileNetEngine } from 'facegpu';
// The types the functions above take and give, each importable by name.
import type { FaceGallery, DefaultCalibration, OpenDescriberOptions, SkippedFile, SplitOptions, EvaluationResult, IndexSummary, ClusterReport, PhotoSearchResult } from 'facegpu';
import { indexLibrary, clusterLibrary, searchLibraryByPhoto } from 'facegpu';
import { openEngine as openPageEngine, imagesToRGB, createGallery, openFaceDescriber, fetchReference } from 'facegpu/browser';

export async function node(): Promise<number> {
  const { gpu, engine } = await openEngine({ home: '/tmp/facegpu-home' });
  const e: MobileNetEngine = engine;
  const descriptors: Float32Array = await e.embed(await loadImageRGB('photo.jpg', engine.inputSize), 1);
  const gallery = await Gallery.load('people/', { gpu, engine, create: true });
  await gallery.enroll('Ana', ['ana1.jpg']);
  const found: IdentifiedFile[] = await gallery.identify(['party.jpg'], { far: 0.01 });
  const names: (string | null)[] = found.flatMap((f) => ('faces' in f ? f.faces.map((x) => x.label) : []));
  const result = await train('photos/', { gpu, engine }, { out: 'model/', epochs: 1, seed: 1 });
  const classifier = await load('model/', { gpu, engine });
  const { predictions } = await predict(classifier, ['party.jpg']);
  // @ts-expect-error: a backbone is a name or a folder, not a number
  await openEngine({ backbone: 3 });
  const indexed: IndexSummary = await indexLibrary('Pictures/', 'library/', { minFace: 40 });
  const grouped: ClusterReport = await clusterLibrary('library/');
  const hits: PhotoSearchResult = await searchLibraryByPhoto('library/', 'party.jpg', { gpu, engine, top: 5 });
  const faces: FaceGallery = gallery.faces;
  const reference: DefaultCalibration | null = await referenceFor(engine);
  const look: OpenDescriberOptions = { minFace: 40 };
  (await openDescriber(gpu, engine, undefined, look)).destroy();
  const split: SplitOptions = {};
  const scored: EvaluationResult = await evaluate(classifier, 'photos/', { ...split, onSkip: (skip: SkippedFile) => console.log(skip) });
  gallery.close(); engine.destroy(); gpu.destroy();
  return descriptors.length + names.length + predictions.length + result.meta.labels.length + faces.people().length + (reference ? 1 : 0) + (scored ? 1 : 0) + indexed.faces + grouped.clusters.length + hits.photos.length;
}

export async function page(files: File[]): Promise<number> {
  const { gpu, engine } = await openPageEngine({ weightsUrl: '/weights/face/' });
  const descriptors: Float32Array = await engine.embed(await imagesToRGB(files, engine.inputSize), files.length);
  const fg = createGallery(await openFaceDescriber(gpu, engine), await fetchReference('/calibration/face.json'), { name: 'team' });
  return descriptors.length + fg.people().length;
}
`,
    );
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, env });
  });

  it('a page importing facegpu/browser (the README\'s example) builds with Vite, shaders inlined', async () => {
    const dir = join(app, 'page');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html>\n<input type="file" multiple accept="image/*">\n<script type="module" src="./main.js"></script>\n');
    const code = readmeBlock('browser');
    expect(code).toContain("from 'facegpu/browser'");
    writeFileSync(join(dir, 'main.js'), code);
    await run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: dir, env });
    const assets = join(dir, 'dist', 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(assets, f), 'utf8')).join('\n');
    expect(js).toContain('@compute');
  });

  it('the README\'s USearch build (`npm explore facegpu -- npm run build:usearch`) puts the patched addon where the application\'s usearch loads it; a second run builds nothing', async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.usearch;
    expect(packed.files.map((f) => f.path)).toContain(`patches/usearch-${version}.patch`);
    const line = readmeBlock('usearch-build').trim();
    expect(line).toBe('npm explore facegpu -- npm run build:usearch');
    const [cmd, ...args] = line.split(/\s+/);
    const first = await run(cmd, args, { cwd: app, env, timeout: 900_000 });
    expect(first.stdout).toContain(`build-usearch: usearch ${version} built with patches/usearch-${version}.patch`);
    // Its build folder (and gyp's makefiles beside it) are gone.
    const cache = join(app, 'node_modules', '.cache');
    expect((existsSync(cache) ? readdirSync(cache) : []).filter((f) => f === 'facegpu-usearch' || f === 'node-addon-api')).toEqual([]);
    // What the application's `import 'usearch'` loads, and that it searches.
    const probe = [
      "const { Index, MetricKind } = require('usearch');",
      "const index = new Index({ dimensions: 16, metric: MetricKind.L2sq, connectivity: 16 });",
      'const v = new Float32Array(16 * 200).map((_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);',
      'index.add(BigUint64Array.from({ length: 200 }, (_, i) => BigInt(i)), v);',
      'const hit = index.search(v.subarray(16 * 77, 16 * 78), 1, 1);',
      "const addons = Object.keys(require.cache).filter((f) => f.endsWith('.node'));",
      'console.log(JSON.stringify({ addons, patched: addons.map((f) => require(f).facegpuNeighbourPrefetch === true), hit: Number(hit.keys[0]) }));',
    ].join('\n');
    const loaded = JSON.parse((await run('node', ['-e', probe], { cwd: app, env })).stdout);
    expect(loaded.addons).toEqual([join(app, 'node_modules', 'usearch', 'build', 'Release', 'usearch.node')]);
    expect(loaded.patched).toEqual([true]);
    expect(loaded.hit).toBe(77);
    const again = await run(cmd, args, { cwd: app, env });
    expect(again.stdout).toContain(`build-usearch: usearch ${version} is already the patched build`);
  }, 1_000_000);
});
