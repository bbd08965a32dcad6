// npm run build:usearch (setup.sh runs it): USearch's Node addon built from the installed
// package's own sources with patches/usearch-<version>.patch applied, installed as
// node_modules/usearch/build/Release/usearch.node, which USearch's loader (node-gyp-build)
// takes before its prebuilt addons. The patch makes a search prefetch the vectors of a node's
// unvisited neighbours (patches/README.md: a million faces searched ~30% faster, same answers).
//
// Idempotent: nothing is done when that addon is already the build of this patch (the patch's
// sha256 is kept beside it). The build runs in .cache/facegpu-usearch of the node_modules
// folder that holds usearch (so that node-addon-api resolves), and the addon is renamed into
// place only once it loads and says it is patched; a failed build leaves USearch's prebuilt
// addon in use and exits 1 with the log's path. No patch for the installed version: says so and
// exits 0 (the prebuilt addon serves). Needs a C++ compiler, make, python3 (node-gyp) and git
// or patch; Node's headers come from the Node installation when it has them (offline), else
// node-gyp fetches them.
//
// The npm package ships this script and patches/, so that an application that installed
// facegpu can do the same: `npm explore facegpu -- npm run build:usearch` (ROOT is then the
// installed package, and usearch the copy facegpu resolves).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const fail = (message) => {
  console.error(`build-usearch: ${message}`);
  process.exit(1);
};
// A file step that fails (a read-only node_modules, a full disk) is one line too, not a stack,
// saying which addon serves now; a half-copied addon is removed.
let installed = false;
let partial = null;
process.on('uncaughtException', (err) => {
  if (partial) rmSync(partial, { force: true });
  fail(`${err.message}; ${installed ? 'the patched addon is in place, but without its stamp the next run builds it again' : "USearch's prebuilt addon stays in use"}`);
});

/**
 * The folder of the `usearch` package that `import 'usearch'` gets (its exports hide
 * package.json); usearchPackageDir (src/gallery/usearch-index-node.ts) finds it the same way.
 */
function packageRoot() {
  for (let dir = dirname(require.resolve('usearch')); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).name === 'usearch') return dir;
  }
  fail('the usearch package was not found (run npm ci first)');
}
const usearch = process.env.FACEGPU_USEARCH_DIR ?? packageRoot();
const version = JSON.parse(readFileSync(join(usearch, 'package.json'), 'utf8')).version;
const patch = join(ROOT, 'patches', `usearch-${version}.patch`);
if (!existsSync(patch)) {
  console.log(`build-usearch: no patch for usearch ${version} in patches/; its prebuilt addon stays in use`);
  process.exit(0);
}
const target = join(usearch, 'build', 'Release', 'usearch.node');
// Beside the addon: the sha256 of the patch it was built with, so that a changed patch rebuilds.
const stamp = `${target}.facegpu-patch`;
const patchHash = createHash('sha256').update(readFileSync(patch)).digest('hex');

/** Does the addon at `file` load here and carry the patch's marker? (In a child: a failed load must not take this process.) */
function patched(file) {
  if (!existsSync(file)) return false;
  const r = spawnSync(process.execPath, ['-e', `process.exit(require(${JSON.stringify(file)}).facegpuNeighbourPrefetch === true ? 0 : 3)`]);
  return r.status === 0;
}
if (patched(target) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === patchHash) {
  console.log(`build-usearch: usearch ${version} is already the patched build (${target})`);
  process.exit(0);
}

// A build of another patch (or a broken one) goes first, so that USearch's prebuilt addon is
// what runs until the new build is in place, as the failure messages below say.
rmSync(target, { force: true });
rmSync(stamp, { force: true });

const work = join(dirname(usearch), '.cache', 'facegpu-usearch');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
for (const part of ['binding.gyp', 'package.json', 'include', 'javascript', 'numkong']) {
  if (!existsSync(join(usearch, part))) fail(`usearch ${version} has no ${part} in ${usearch}; cannot build it. USearch's prebuilt addon stays in use`);
  cpSync(join(usearch, part), join(work, part), { recursive: true });
}
const log = join(work, 'build.log');
const run = (cmd, args, what) => {
  const r = spawnSync(cmd, args, { cwd: work, encoding: 'utf8' });
  writeFileSync(log, `${existsSync(log) ? readFileSync(log, 'utf8') : ''}$ ${cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) fail(`${what} failed (${r.error?.message ?? `exit ${r.status}`}); log: ${log}. USearch's prebuilt addon stays in use`);
};

// `git apply` patches files outside a repository too, and refuses a patch that does not fit;
// without git (an application's machine may lack it), `patch`, which refuses one too.
const has = (cmd) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
if (has('git')) run('git', ['apply', '-p1', patch], `applying ${patch}`);
else if (has('patch')) run('patch', ['-p1', '--forward', '--batch', '-i', patch], `applying ${patch}`);
else fail("neither git nor patch was found, to apply the patch; USearch's prebuilt addon stays in use");

// node-gyp: npm's own copy (npm sets npm_config_node_gyp when it runs a script), else the one
// beside this Node's npm.
const nodeGyp = [process.env.npm_config_node_gyp, resolve(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')].find((f) => f && existsSync(f));
if (!nodeGyp) fail("node-gyp not found (it comes with npm); USearch's prebuilt addon stays in use");
const prefix = resolve(dirname(process.execPath), '..');
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
const started = Date.now();
run(process.execPath, [nodeGyp, 'rebuild', `-j`, String(availableParallelism()), ...nodedir], 'node-gyp rebuild');

const built = join(work, 'build', 'Release', 'usearch.node');
if (!patched(built)) fail(`the built addon ${built} does not load or lacks the patch's marker; log: ${log}`);
mkdirSync(dirname(target), { recursive: true });
partial = `${target}.tmp-${process.pid}`;
cpSync(built, partial);
renameSync(partial, target);
installed = true;
partial = `${stamp}.tmp-${process.pid}`;
writeFileSync(partial, `${patchHash}\n`);
renameSync(partial, stamp);
partial = null;
try {
  rmSync(work, { recursive: true, force: true });
  // gyp writes the makefiles of node-addon-api's own target beside the build folder (its path
  // relative to the build); that folder goes too when it holds nothing else.
  const gypLeft = join(dirname(work), 'node-addon-api');
  if (readdirSync(gypLeft).every((f) => /\.(Makefile|target\.mk)$/.test(f))) rmSync(gypLeft, { recursive: true });
} catch {
  // Only build files left behind in a cache folder (the next build starts by removing its own).
}
console.log(`build-usearch: usearch ${version} built with ${patch.slice(ROOT.length)} in ${((Date.now() - started) / 1000).toFixed(0)} s -> ${target}`);
