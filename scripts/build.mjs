// npm run build: the package's dist/ (the page's own build, dist/web, is left alone).
//   dist/**/*.js, *.d.ts, *.js.map   src/ compiled by tsc (tsconfig.build.json): the Node entry
//                                    dist/node.js, the CLI dist/cli/main.js
//   dist/browser/facegpu.js (+ .map) the browser entry bundled by Vite, shaders inlined
//                                    (vite.config.ts, mode lib)
//   dist/browser/*.d.ts              its types (tsconfig.build-browser.json, declarations only)
//   dist/image/heic-worker.cjs       the HEIC decoder thread, plain JavaScript, copied as it is
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
    process.exit(1);
  }
}

if (existsSync(DIST)) for (const e of readdirSync(DIST)) if (e !== 'web') rmSync(join(DIST, e), { recursive: true, force: true });
run('npx', ['vite', 'build', '--mode', 'lib', '--logLevel', 'warn']);
run('npx', ['tsc', '-p', 'tsconfig.build.json']);
run('npx', ['tsc', '-p', 'tsconfig.build-browser.json']);
// Worker threads' scripts, which Node runs as they are (heic.ts starts it beside itself).
copyFileSync(join(ROOT, 'src', 'image', 'heic-worker.cjs'), join(DIST, 'image', 'heic-worker.cjs'));

// Declarations keep the sources' `.ts` specifiers (tsc rewrites them in .js only): point them
// at the shipped .js/.d.ts pair, which every TypeScript version resolves.
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'web' && dir === DIST ? [] : walk(join(dir, e.name))) : [join(dir, e.name)]));
const TS_SPECIFIER = /((?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g;
for (const f of walk(DIST).filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(f, 'utf8');
  const fixed = text.replace(TS_SPECIFIER, '$1$2.js$3');
  if (fixed !== text) writeFileSync(f, fixed);
}

// The public types use WebGPU's (GPUDevice, GPUBuffer): the entries pull in @webgpu/types (a
// dependency), so a program type-checks without naming it in its tsconfig.
for (const f of ['node.d.ts', 'browser/index.d.ts']) {
  const file = join(DIST, f);
  if (existsSync(file)) writeFileSync(file, `/// <reference types="@webgpu/types" />\n${readFileSync(file, 'utf8')}`);
}

// What the package promises must be there, and no compiled module may still import a .ts file.
for (const f of ['node.js', 'node.d.ts', 'cli/main.js', 'browser/facegpu.js', 'browser/index.d.ts', 'image/heic-worker.cjs']) {
  if (!existsSync(join(DIST, f))) {
    console.error(`build: dist/${f} is missing`);
    process.exit(1);
  }
}
const stale = walk(DIST).filter((f) => /\.(d\.ts|js)$/.test(f) && new RegExp(TS_SPECIFIER.source).test(readFileSync(f, 'utf8')));
if (stale.length) {
  console.error(`build: compiled modules import .ts files: ${stale.join(', ')}`);
  process.exit(1);
}
console.log(`build: dist/ ready (${walk(DIST).length} files)`);
