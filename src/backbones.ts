// Where backbones live and how a --backbone argument resolves to one (Node).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WEIGHTS_DIR = process.env.FACEGPU_WEIGHTS ?? join(PROJECT_ROOT, 'weights');
export const DEFAULT_BACKBONE = 'face';

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

/** `face` (or any name) -> weights/<name>; a path to a folder with manifest.json -> itself. */
export function resolveBackboneDir(arg: string = DEFAULT_BACKBONE): string {
  if (arg.includes('/') || arg.startsWith('.')) return resolve(arg);
  const named = join(WEIGHTS_DIR, arg);
  if (existsSync(named) || !existsSync(resolve(arg, 'manifest.json'))) return named;
  return resolve(arg);
}
