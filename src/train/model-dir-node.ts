// Model directories on disk (Node): model.json + weights.bin (the head, tfjs layers format)
// and facegpu.json. A directory is only ever replaced whole: the new one is written beside it
// under a hidden temporary name and renamed into place. The one moment without a directory at
// the target (between moving the old one aside and the new one in) is recovered from: the
// set-aside copy is complete, and loading or training again puts it back.
import { readdir, readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { HEAD_FILE, HEAD_WEIGHTS_FILE, headFromFiles, headToFiles, META_FILE, validateMeta, type FaceModelMeta } from './model-format.ts';

const TMP = 'tmp';
const OLD = 'old';
let counter = 0;

const sideName = (target: string, kind: string) => join(dirname(target), `.${basename(target)}.${kind}-${process.pid}-${Date.now()}-${counter++}`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Side folders of `target` left by a process that died mid-write: (kind, pid, path). */
async function leftovers(target: string): Promise<{ kind: string; pid: number; stamp: number; path: string }[]> {
  const prefix = `.${basename(target)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(target));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix))
    .map((n) => {
      const m = /^(tmp|old)-(\d+)-(\d+)-\d+$/.exec(n.slice(prefix.length));
      return m ? { kind: m[1], pid: Number(m[2]), stamp: Number(m[3]), path: join(dirname(target), n) } : null;
    })
    .filter((x): x is NonNullable<typeof x> => x !== null && !alive(x.pid));
}

/**
 * Tidy up after a writer killed mid-write: a missing target gets back its complete set-aside
 * copy, and half-written temporary folders are removed. Only folders of dead processes are
 * touched.
 */
export async function recoverModelDir(dir: string): Promise<void> {
  const target = resolve(dir);
  const left = await leftovers(target);
  const olds = left.filter((l) => l.kind === OLD).sort((a, b) => b.stamp - a.stamp);
  let exists = true;
  try {
    await readdir(target);
  } catch {
    exists = false;
  }
  if (!exists && olds.length) {
    await rename(olds[0].path, target);
    olds.shift();
  }
  for (const l of [...olds, ...left.filter((x) => x.kind === TMP)]) await rm(l.path, { recursive: true, force: true });
}

/**
 * Refuse to replace a folder that is not a facegpu model (say, a data folder passed as --out
 * by mistake): saving replaces the whole directory.
 */
export async function checkReplaceable(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(resolve(dir));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new Error(`${dir}: cannot be used as a model directory (${code === 'ENOTDIR' ? 'it is a file' : code})`);
  }
  if (names.length && !names.includes(META_FILE)) {
    throw new Error(`${dir}: exists and is not a facegpu model directory (no ${META_FILE}); refusing to replace it`);
  }
}

/** Replace `dir` by a complete new model directory in one rename. */
export async function saveModelDir(dir: string, head: tfl.LayersModel, meta: FaceModelMeta): Promise<void> {
  await checkReplaceable(dir);
  const target = resolve(dir);
  const files = await headToFiles(head);
  await mkdir(dirname(target), { recursive: true });
  const tmp = sideName(target, TMP);
  await mkdir(tmp);
  try {
    await writeFile(join(tmp, HEAD_WEIGHTS_FILE), files.weights);
    await writeFile(join(tmp, HEAD_FILE), JSON.stringify(files.modelJson) + '\n');
    await writeFile(join(tmp, META_FILE), JSON.stringify(meta, null, 1) + '\n');
    const old = sideName(target, OLD);
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

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}

/** Read only a model directory's facegpu.json (no tfjs needed: which backbone to open, which split). */
export async function readModelMeta(dir: string): Promise<FaceModelMeta> {
  await recoverModelDir(dir);
  try {
    await readdir(resolve(dir));
  } catch {
    throw new Error(`${dir}: model directory does not exist (train one with \`facegpu train <data> --out ${dir}\`)`);
  }
  const metaFile = join(resolve(dir), META_FILE);
  const meta = await readJson(metaFile, 'the model description');
  validateMeta(meta, metaFile);
  return meta;
}

/** Read a model directory: its metadata and the head (tfjs must have its backend set). */
export async function loadModelDir(dir: string): Promise<{ head: tfl.LayersModel; meta: FaceModelMeta }> {
  const meta = await readModelMeta(dir);
  const target = resolve(dir);
  const modelJson = (await readJson(join(target, HEAD_FILE), 'the head')) as object;
  let weights: Buffer;
  try {
    weights = await readFile(join(target, HEAD_WEIGHTS_FILE));
  } catch {
    throw new Error(`${join(target, HEAD_WEIGHTS_FILE)}: the head's weights are missing`);
  }
  const head = await headFromFiles({ modelJson, weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength) }, join(target, HEAD_FILE));
  return { head, meta };
}
