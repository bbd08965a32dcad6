// Where backbones live and how a --backbone argument resolves to one (Node).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemedyError } from './remedy.ts';

/** The package's folder: the repository in a checkout, node_modules/facegpu once installed. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_BACKBONE = 'face';

/** A source checkout keeps its backbones in weights/ (tracked README there; the package ships no weights/). */
const CHECKOUT_WEIGHTS = join(PROJECT_ROOT, 'weights');
const IN_CHECKOUT = existsSync(join(CHECKOUT_WEIGHTS, 'README.md'));

/**
 * facegpu's own folder for what it makes once and keeps (converted backbones under weights/):
 * `home` if given, else $FACEGPU_HOME, else the user's cache folder ($XDG_CACHE_HOME or
 * ~/.cache on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows) + /facegpu.
 * Never inside node_modules.
 */
export function facegpuHome(home?: string): string {
  if (home) return resolve(home);
  if (process.env.FACEGPU_HOME) return resolve(process.env.FACEGPU_HOME);
  const cache =
    process.env.XDG_CACHE_HOME ||
    (process.platform === 'darwin' ? join(homedir(), 'Library', 'Caches') : process.platform === 'win32' ? process.env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local') : join(homedir(), '.cache'));
  return join(cache, 'facegpu');
}

/**
 * The folder of converted backbones: $FACEGPU_WEIGHTS; else <home>/weights when a home is
 * given (option or $FACEGPU_HOME); else weights/ of a source checkout; else
 * facegpuHome()/weights. Read at each call, so a program may set the variables first.
 */
export function weightsDir(home?: string): string {
  if (process.env.FACEGPU_WEIGHTS) return resolve(process.env.FACEGPU_WEIGHTS);
  if (home || process.env.FACEGPU_HOME || !IN_CHECKOUT) return join(facegpuHome(home), 'weights');
  return CHECKOUT_WEIGHTS;
}

/** weightsDir() when this module was loaded (tests and scripts of the checkout). */
export const WEIGHTS_DIR = weightsDir();

/** The default backbone's source: faceres.json of the npm package @vladmandic/human. */
export function defaultBackboneSource(): string {
  // The package's "exports" hide package.json, so walk up from its main file.
  let dir = dirname(createRequire(import.meta.url).resolve('@vladmandic/human'));
  while (!existsSync(join(dir, 'models', 'faceres.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('@vladmandic/human is installed without models/faceres.json; run `npm ci`');
    dir = up;
  }
  return join(dir, 'models', 'faceres.json');
}

/** `face` (or any name) -> <weights>/<name>; a path, or a name that is a folder here and not under weights/ -> that folder. */
export function resolveBackboneDir(arg: string = DEFAULT_BACKBONE, weights: string = weightsDir()): string {
  if (arg.includes('/') || arg.startsWith('.')) return resolve(arg);
  const named = join(weights, arg);
  // A folder of that name here, where weights/ has none, is the one meant: its error (no
  // manifest.json there) names it, not weights/<arg>.
  if (existsSync(named) || !existsSync(resolve(arg))) return named;
  return resolve(arg);
}

/** The weights sha256 a backbone folder's manifest declares, or null (no readable manifest). */
function declaredSha256(dir: string): string | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { weightsSha256?: unknown };
    return typeof m.weightsSha256 === 'string' ? m.weightsSha256 : null;
  } catch {
    return null;
  }
}

/**
 * The folder of the backbone a model was trained on, matched by the sha256 of its weights:
 * weights/<id> first, then the folder it was trained from (recorded since models record
 * it), then every backbone under weights/ (weightsDir()). The id is a plain name (validated with the model).
 */
export function findBackbone(b: { id: string; weightsSha256: string; path?: string }, where: string): string {
  const WEIGHTS_DIR = weightsDir();
  const candidates = [join(WEIGHTS_DIR, b.id), ...(b.path && resolve(b.path) !== join(WEIGHTS_DIR, b.id) ? [b.path] : [])];
  try {
    for (const name of readdirSync(WEIGHTS_DIR).sort()) if (!name.startsWith('.')) candidates.push(join(WEIGHTS_DIR, name));
  } catch {
    // no weights/ folder: only the recorded path
  }
  for (const dir of candidates) if (declaredSha256(dir) === b.weightsSha256) return dir;
  throw new RemedyError(
    `${where}: the backbone this model was trained on ("${b.id}", weights sha256 ${b.weightsSha256.slice(0, 12)}…) is not in ${join(WEIGHTS_DIR, b.id)}` +
      `${candidates[1] === b.path ? ` nor at ${b.path}` : ''} nor anywhere under ${WEIGHTS_DIR}`,
    "; open the engine on its folder (openEngine's backbone)",
    { case: 'backbone-not-found' },
  );
}
