// node scripts/device-kit.mjs: packs what `facegpu bench` needs on a machine that has a GPU
// but no Node, no npm and no network (this workplace's lent device machine: bench/README.md,
// "On a real GPU"), into one file, .devkit/kit.tar.xz (git-ignored, about 44 MiB):
//
//   node                 this Node's binary (Linux x64)
//   dist/bench.mjs       `facegpu bench` and `facegpu tune` bundled with esbuild (tfjs inside;
//                        usearch, which only `bench gallery` uses, replaced by a module that
//                        says it is absent)
//   node_modules/webgpu  Dawn's binding for Linux x64
//   lib/libvulkan.so.1   the Vulkan loader, used where the machine has none
//   node_modules/onnxruntime-web  its WebGPU build (bench --ort webgpu)
//   node_modules/...     the package.json of each package the results record, and the face
//                        backbone's original tfjs model (the tfjs side runs it)
//   weights/face         the converted backbone, its manifest pointing at that model
//   package.json         facegpu's, for the version the results record
//
// The bundle sits in .devkit/dist/ so that what it resolves from its own location lands where
// the checkout has it: the shaders at ../../shaders (the checkout's, which travel with it),
// the project root at .. (the kit). scripts/device-bench.sh unpacks it there and runs the
// benchmarks and the tuning. Run this after `npm run setup` (the weights and node_modules must
// be there).
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, '.devkit');
const STAGE = join(OUT, 'stage');
const fail = (message) => {
  console.error(`device-kit: ${message}`);
  process.exit(1);
};
if (process.platform !== 'linux' || process.arch !== 'x64') fail(`the device machine is Linux x64; this is ${process.platform} ${process.arch}, whose Node and Dawn would not run there`);
const backbone = join(ROOT, 'weights', 'face');
if (!existsSync(join(backbone, 'manifest.json'))) fail(`${backbone} has no converted backbone (run npm run setup first)`);
const manifest = JSON.parse(readFileSync(join(backbone, 'manifest.json'), 'utf8'));
// As bench/run.ts reads it: an absolute path, or one relative to the project.
const model = isAbsolute(manifest.source.file) ? manifest.source.file : resolve(ROOT, manifest.source.file);
if (!existsSync(model)) fail(`${model}: the backbone's original model is missing (run npm ci)`);
const relModel = model.startsWith(join(ROOT, 'node_modules')) ? model.slice(ROOT.length) : fail(`${model} is not under node_modules; the kit only carries the installed model`);

rmSync(OUT, { recursive: true, force: true });
mkdirSync(join(STAGE, 'dist'), { recursive: true });

// `bench gallery` is registered with `bench` and imports usearch (a native addon the kit does
// not carry): a stand-in that fails with a sentence if anything calls it.
const absent = {
  name: 'absent-usearch',
  setup(b) {
    b.onResolve({ filter: /^usearch$/ }, () => ({ path: 'usearch', namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, () => ({
      contents: "const no = () => { throw new Error('usearch is not in the device kit (bench gallery does not run there)'); };\nexport const Index = no, MetricKind = {}, ScalarKind = {}, BatchMatches = no, Matches = no, exactSearch = no;\n",
    }));
  },
};
await build({
  stdin: {
    // `bench` and `tune` wired as src/cli/main.ts wires them (src/cli/program.ts).
    contents: [
      "import { Command } from 'commander';",
      "import { registerBench } from './src/cli/bench.ts';",
      "import { registerTune } from './src/cli/tune.ts';",
      "import { runCommandLine, withAdapterOption } from './src/cli/program.ts';",
      "const program = withAdapterOption(new Command('facegpu'));",
      'registerBench(program);',
      'registerTune(program);',
      'runCommandLine(program);',
    ].join('\n'),
    resolveDir: ROOT,
    sourcefile: 'device-bench-entry.ts',
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  outfile: join(STAGE, 'dist', 'bench.mjs'),
  // Node's require for the CommonJS packages inside an ES module bundle.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  external: ['webgpu', 'onnxruntime-node', 'onnxruntime-web', 'onnxruntime-web/webgpu', '@lancedb/lancedb'],
  plugins: [absent],
  logLevel: 'warning',
});

const copy = (from, to = from) => {
  mkdirSync(dirname(join(STAGE, to)), { recursive: true });
  cpSync(join(ROOT, from), join(STAGE, to), { recursive: true });
};
copyFileSync(process.execPath, join(STAGE, 'node'));
// The Vulkan loader Dawn opens (libvulkan.so.1), for a machine whose image has none; the GPU's
// own driver (its ICD) is the machine's.
const loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/lib/x86_64-linux-gnu/libvulkan.so.1'].find((f) => existsSync(f)) ?? fail('no Vulkan loader (libvulkan.so.1) here to carry: install libvulkan1');
mkdirSync(join(STAGE, 'lib'));
copyFileSync(loader, join(STAGE, 'lib', 'libvulkan.so.1'));
for (const f of ['index.js', 'package.json', 'dist/linux-x64/dawn.node']) copy(join('node_modules', 'webgpu', f));
for (const pkg of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-converter']) copy(join('node_modules', pkg, 'package.json'));
// ONNX Runtime's WebGPU side (`--ort webgpu`): the bundle Node imports for onnxruntime-web/webgpu
// and the wasm it loads; the versions the results record. (Its wasm and node sides, CPU
// runtimes, are not the question on a GPU machine, and not in the kit.)
for (const f of ['package.json', 'dist/ort.webgpu.bundle.min.mjs', 'dist/ort-wasm-simd-threaded.asyncify.mjs', 'dist/ort-wasm-simd-threaded.asyncify.wasm']) copy(join('node_modules', 'onnxruntime-web', f));
copy(join('node_modules', 'onnxruntime-node', 'package.json'));
// The graph model and the weight files its manifest names.
copy(relModel);
for (const group of JSON.parse(readFileSync(model, 'utf8')).weightsManifest ?? []) for (const f of group.paths) copy(join(dirname(relModel), f));
copy('package.json');
copy(join('weights', 'face'));
writeFileSync(join(STAGE, 'weights', 'face', 'manifest.json'), JSON.stringify({ ...manifest, source: { ...manifest.source, file: relModel } }, null, 2));

const tar = spawnSync('tar', ['-C', STAGE, '-cJf', join(OUT, 'kit.tar.xz'), '.'], { env: { ...process.env, XZ_OPT: '-6 -T0' }, encoding: 'utf8' });
if (tar.status !== 0) fail(`tar failed: ${tar.stderr || tar.error?.message}`);
rmSync(STAGE, { recursive: true, force: true });
console.log(`device-kit: ${join(OUT, 'kit.tar.xz')} (${(statSync(join(OUT, 'kit.tar.xz')).size / 2 ** 20).toFixed(1)} MiB); on the device: bash scripts/device-bench.sh, carrying .devkit`);
