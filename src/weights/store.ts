// Reading and writing backbones on disk (Node). A conversion is written to a temporary
// folder beside the target and renamed into place, so a crash never leaves half a model.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { checkWeightsData, validateManifest, type Backbone, type BackboneManifest } from './format.ts';
import { packBackbone } from './pack.ts';
import type { BackboneSpec } from './spec.ts';

export const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** Replace `dir` atomically with what `fill(tmp)` writes into a fresh temporary folder. */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const target = resolve(dir);
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  const old = join(dirname(target), `.${basename(target)}.old-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    let moved = false;
    try {
      await rename(target, old);
      moved = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rename(tmp, target);
    if (moved) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Write one file atomically (temp file + rename). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function saveBackbone(spec: BackboneSpec, dir: string, id = basename(resolve(dir))): Promise<BackboneManifest> {
  const { manifest, data } = packBackbone(spec, id);
  const full: BackboneManifest = { ...manifest, weightsSha256: sha256(data) };
  await writeDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, full.weightsFile), data);
    await writeFile(join(tmp, 'manifest.json'), JSON.stringify(full, null, 1) + '\n');
  });
  return full;
}

export async function loadBackbone(dir: string, opts: { verifyHash?: boolean } = {}): Promise<Backbone> {
  const file = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(`${file}: no converted backbone here; run \`npm run weights\` (default face backbone) or \`facegpu weights convert <model.json> --out ${dir}\``);
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
