// The demo page (web/) and the browser build of the library.
//   npm run web          dev server on http://localhost:5173
//   npm run web:build    static site in dist/web (weights included), `npx vite preview` serves it
//   npm run build:browser  the library alone as an ES module: dist/browser/facegpu.js
// The backbone is served from this project's weights/ folder, its reference calibration (mean
// descriptor and default thresholds, for open-set identity) from calibration/ and the BlazeFace
// face detector from node_modules/@vladmandic/human/models by the plugin below (all copied
// into the static build), so the page never fetches anything from another host.
import { existsSync, readdirSync, readFileSync, statSync, createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Connect, type Plugin } from 'vite';
import type { OutputBundle } from 'rolldown';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const WEIGHTS_DIR = process.env.FACEGPU_WEIGHTS ?? join(ROOT, 'weights');
const PAGE_BACKBONE = 'face';
/** Backbones the page offers for training besides the face one (web/backbones.ts), built in when installed. */
const OPTIONAL_BACKBONES = ['imagenet'];
const WEIGHT_FILES = /^\/weights\/([A-Za-z0-9._-]+)\/(manifest\.json|weights\.bin)$/;
/** BlazeFace's graph model and its weights, served at /detect/ (src/browser/detect.ts DEFAULT_DETECTOR_URL). */
const DETECTOR_FILES = ['blazeface.json', 'blazeface.bin'];
const DETECTOR_URL = /^\/detect\/(blazeface\.json|blazeface\.bin)$/;
/** A backbone's reference, served at /calibration/<backbone>.json (src/browser/identity.ts DEFAULT_REFERENCE_URL). */
const CALIBRATION_DIR = join(ROOT, 'calibration');
const CALIBRATION_URL = /^\/calibration\/([A-Za-z0-9_-]+\.json)$/;

/** models/ of @vladmandic/human (its "exports" hide package.json: walk up from its main file). */
function humanModelsDir(): string {
  let dir = dirname(createRequire(import.meta.url).resolve('@vladmandic/human'));
  while (!existsSync(join(dir, 'models', DETECTOR_FILES[0]))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('@vladmandic/human is installed without models/blazeface.json; run `npm ci`');
    dir = up;
  }
  return join(dir, 'models');
}

/** Backbones converted under weights/ (folders with a manifest.json). */
function backbones(): string[] {
  if (!existsSync(WEIGHTS_DIR)) return [];
  return readdirSync(WEIGHTS_DIR).filter((d) => existsSync(join(WEIGHTS_DIR, d, 'manifest.json')));
}

/** The files of a dynamically imported module's chunk and all it loads (chunks, and .wasm assets: only ORT has any). */
function onDemandFiles(bundle: OutputBundle, module: string): Set<string> {
  const out = new Set<string>();
  const root = Object.values(bundle).find((c) => c.type === 'chunk' && c.facadeModuleId === join(ROOT, module));
  const walk = (file: string) => {
    const c = bundle[file];
    if (!c || out.has(file) || c.type !== 'chunk') return;
    out.add(file);
    [...c.imports, ...c.dynamicImports].forEach(walk);
  };
  if (root) walk(root.fileName);
  if (out.size) for (const f of Object.keys(bundle)) if (f.endsWith('.wasm')) out.add(f);
  return out;
}

/** Serves /weights/<name>/{manifest.json,weights.bin} from weights/ and puts them in builds. */
function facegpuWeights(): Plugin {
  const serve: Connect.NextHandleFunction = (req, res, next) => {
    const path = (req.url ?? '').split('?')[0];
    const m = WEIGHT_FILES.exec(path);
    const d = DETECTOR_URL.exec(path);
    const c = CALIBRATION_URL.exec(path);
    if (!m && !d && !c) return next();
    const file = m ? join(WEIGHTS_DIR, m[1], m[2]) : d ? join(humanModelsDir(), d[1]) : join(CALIBRATION_DIR, c![1]);
    if (!existsSync(file)) {
      res.statusCode = 404;
      res.end(`${file} not found: run \`${m ? 'npm run weights' : d ? 'npm ci' : 'npx tsx scripts/calibrate-backbone.ts'}\` first`);
      return;
    }
    res.setHeader('Content-Type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    res.setHeader('Cache-Control', 'no-cache');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'facegpu-weights',
    configureServer: (server) => void server.middlewares.use(serve),
    configurePreviewServer: (server) => void server.middlewares.use(serve),
    generateBundle(_options, bundle) {
      if (this.environment.config.build.lib) return; // the library build ships no weights
      // The page loads the default backbone at start and ImageNet when a user picks it for
      // training (built in only if installed: the page says how to install it otherwise).
      const installed = backbones();
      if (!installed.includes(PAGE_BACKBONE)) {
        this.error(`${join(WEIGHTS_DIR, PAGE_BACKBONE)}: no converted backbone; run \`npm run weights\` before building the page`);
      }
      for (const name of [PAGE_BACKBONE, ...OPTIONAL_BACKBONES.filter((b) => installed.includes(b))]) {
        for (const f of ['manifest.json', 'weights.bin']) {
          this.emitFile({ type: 'asset', fileName: `weights/${name}/${f}`, source: readFileSync(join(WEIGHTS_DIR, name, f)) });
        }
      }
      const models = humanModelsDir();
      for (const f of DETECTOR_FILES) this.emitFile({ type: 'asset', fileName: `detect/${f}`, source: readFileSync(join(models, f)) });
      const reference = join(CALIBRATION_DIR, `${PAGE_BACKBONE}.json`);
      if (!existsSync(reference)) this.error(`${reference}: no reference calibration for the page's backbone; run \`npx tsx scripts/calibrate-backbone.ts\` before building the page`);
      this.emitFile({ type: 'asset', fileName: `calibration/${PAGE_BACKBONE}.json`, source: readFileSync(reference) });
      // The service worker precaches the page, the face detector and the backbone's reference
      // (not the backbone's weights.bin: the page caches that itself, checked by sha256).
      // Nor the benchmark's optional ONNX Runtime column (web/ort-column.ts, loaded when asked for: ORT's wasm alone is 27 MB).
      const onDemand = onDemandFiles(bundle, 'web/ort-column.ts');
      const files = ['./', ...Object.keys(bundle).filter((f) => !f.endsWith('.map') && !onDemand.has(f)), `weights/${PAGE_BACKBONE}/manifest.json`, ...DETECTOR_FILES.map((f) => `detect/${f}`), `calibration/${PAGE_BACKBONE}.json`].map((f) => (f === './' ? f : `./${f}`));
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12);
      const source = readFileSync(join(ROOT, 'web/service-worker.js'), 'utf8')
        .replace('__FACEGPU_VERSION__', version)
        .replace('__FACEGPU_PRECACHE__', JSON.stringify(files));
      this.emitFile({ type: 'asset', fileName: 'service-worker.js', source });
    },
  };
}

export default defineConfig(({ mode }) =>
  mode === 'lib'
    ? {
        // The library: one ES module with the shaders inlined; tfjs stays an import for the
        // host page's bundler to resolve (and share with its own tfjs, if any).
        build: {
          outDir: resolve(ROOT, 'dist/browser'),
          emptyOutDir: true,
          sourcemap: true,
          lib: { entry: resolve(ROOT, 'src/browser/index.ts'), formats: ['es'], fileName: () => 'facegpu.js' },
          rolldownOptions: { external: [/^@tensorflow\//, 'idb-keyval'] },
        },
      }
    : {
        root: resolve(ROOT, 'web'),
        publicDir: false,
        plugins: [facegpuWeights()],
        server: { host: 'localhost', port: 5173 },
        preview: { host: 'localhost', port: 4173 },
        build: { outDir: resolve(ROOT, 'dist/web'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
      },
);
