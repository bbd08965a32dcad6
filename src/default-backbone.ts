// The default backbone, converted from the installed @vladmandic/human (models/faceres.json)
// into the weights folder (src/backbones.ts weightsDir): ahead of time by `facegpu weights
// install`, or on first use by openEngine. Never written inside node_modules.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { recoverDir } from './atomic-fs.ts';
import { DEFAULT_BACKBONE, defaultBackboneSource, weightsDir } from './backbones.ts';
import { convertTfjsModel } from './weights/convert.ts';
import type { BackboneManifest } from './weights/format.ts';
import { PREPROCESS_RAW } from './weights/spec.ts';
import { loadBackbone, saveBackbone } from './weights/store.ts';
import { readTfjsModel } from './weights/tfjs-artifacts.ts';

/** Where the default backbone is kept: <weightsDir(home)>/face. */
export const defaultBackboneDir = (home?: string): string => join(weightsDir(home), DEFAULT_BACKBONE);

/** Is the default backbone at `dir` converted from the very faceres.json installed now? */
export async function defaultBackboneUpToDate(dir: string = defaultBackboneDir()): Promise<boolean> {
  try {
    const have = await loadBackbone(dir);
    const source = await readTfjsModel(defaultBackboneSource());
    return have.manifest.source.sha256 === source.sha256;
  } catch {
    return false;
  }
}

/** Convert the default backbone into `dir` (written whole and renamed in: safe against a concurrent first run). */
export async function convertDefaultBackbone(dir: string = defaultBackboneDir()): Promise<BackboneManifest> {
  const spec = await convertTfjsModel(defaultBackboneSource(), { preprocess: PREPROCESS_RAW });
  return saveBackbone(spec, dir, DEFAULT_BACKBONE);
}

/**
 * The default backbone's folder, converted first if it is not there yet, with `notice`
 * told once, before the conversion (about a second).
 */
export async function ensureDefaultBackbone(dir: string = defaultBackboneDir(), notice: (line: string) => void = (l) => console.error(l)): Promise<string> {
  await recoverDir(dir);
  if (!existsSync(join(dir, 'manifest.json'))) {
    notice(`facegpu: first run: converting the default face backbone from @vladmandic/human into ${dir} (once; openEngine's home option, or FACEGPU_HOME, chooses the folder)`);
    await convertDefaultBackbone(dir);
  }
  return dir;
}
