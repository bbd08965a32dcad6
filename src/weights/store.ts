// Reading and writing backbones on disk (Node). A conversion is written to a temporary
// folder beside the target and renamed into place, so a crash never leaves half a model.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { entriesToReplace, recoverDir, writeDirAtomic } from '../atomic-fs.ts';
import { checkWeightsData, validateManifest, type Backbone, type BackboneManifest } from './format.ts';
import { packBackbone } from './pack.ts';
import type { BackboneSpec } from './spec.ts';
import { RemedyError } from '../remedy.ts';

export const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/**
 * Refuse, before any work, a folder a backbone would replace that holds something else: saving
 * replaces the folder whole, and whatever it held (a user's files, a gallery, the folder a
 * command runs in) would go with it. A missing or empty folder, or a converted backbone (its
 * manifest.json), may be replaced.
 */
export async function checkBackboneReplaceable(dir: string): Promise<void> {
  const names = await entriesToReplace(dir, (why) => `${dir}: cannot hold a converted backbone (${why})`);
  if (names.length && !names.includes('manifest.json')) throw new Error(`${dir}: exists and is not a converted backbone (no manifest.json); refusing to replace it (${names.length === 1 ? '1 entry' : `${names.length} entries`} in it, e.g. ${names.slice(0, 3).join(', ')})`);
}

export async function saveBackbone(spec: BackboneSpec, dir: string, id = basename(resolve(dir))): Promise<BackboneManifest> {
  await checkBackboneReplaceable(dir);
  const { manifest, data } = packBackbone(spec, id);
  const full: BackboneManifest = { ...manifest, weightsSha256: sha256(data) };
  await writeDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, full.weightsFile), data);
    await writeFile(join(tmp, 'manifest.json'), JSON.stringify(full, null, 1) + '\n');
  });
  return full;
}

export async function loadBackbone(dir: string, opts: { verifyHash?: boolean } = {}): Promise<Backbone> {
  await recoverDir(dir);
  const file = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new RemedyError(`${file}: no converted backbone here`, '; convert one into this folder (convertTfjsModel and saveBackbone; ensureDefaultBackbone for the default face backbone)', { case: 'no-backbone', dir });
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  validateManifest(m, file);
  const binFile = join(dir, m.weightsFile);
  let bytes: Buffer;
  try {
    bytes = await readFile(binFile);
  } catch {
    throw new Error(`${binFile}: weights file is missing`);
  }
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  checkWeightsData(m, data, binFile);
  if (opts.verifyHash !== false && sha256(bytes) !== m.weightsSha256) {
    throw new Error(`${binFile}: sha256 does not match the manifest (corrupt or replaced file)`);
  }
  return { manifest: m, data };
}

export { writeDirAtomic, writeFileAtomic } from '../atomic-fs.ts';
