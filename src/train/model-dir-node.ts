// Model directories on disk (Node): model.json + weights.bin (the head, tfjs layers format)
// and facegpu.json. A directory is only ever replaced whole (writeDirAtomic), and a writer
// killed mid-replace is recovered from on the next load or train (recoverDir).
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { entriesToReplace, writeDirAtomic } from '../atomic-fs.ts';
import { readReplacedDir } from '../lock-node.ts';
import type * as tfl from '@tensorflow/tfjs-layers';
import { HEAD_FILE, HEAD_WEIGHTS_FILE, headFromFiles, headToFiles, META_FILE, validateMeta, type FaceModelMeta, type HeadFiles } from './model-format.ts';
import { RemedyError } from '../remedy.ts';
import { GALLERY_FILE } from '../gallery/gallery-format.ts';
import { fsReason } from '../fs-reason.ts';

/**
 * Refuse to replace a folder that is not a facegpu model (say, a data folder passed as --out
 * by mistake): saving replaces the whole directory.
 */
export async function checkReplaceable(dir: string): Promise<void> {
  const names = await entriesToReplace(dir, (why) => `${dir}: cannot be used as a model directory (${why})`);
  if (names.length && !names.includes(META_FILE)) {
    throw new Error(`${dir}: exists and is not a facegpu model directory (no ${META_FILE}); refusing to replace it`);
  }
}

/** Replace `dir` by a complete new model directory in one rename. */
export async function saveModelDir(dir: string, head: tfl.LayersModel, meta: FaceModelMeta): Promise<void> {
  await checkReplaceable(dir);
  await writeModelFiles(dir, await headToFiles(head), meta);
}

async function writeModelFiles(dir: string, files: HeadFiles, meta: FaceModelMeta): Promise<void> {
  // The weights' hash recorded beside them: a damaged file is refused when loaded.
  const recorded: FaceModelMeta = { ...meta, head: { ...meta.head, weightsSha256: sha256Hex(files.weights) } };
  await writeDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, HEAD_WEIGHTS_FILE), files.weights);
    await writeFile(join(tmp, HEAD_FILE), JSON.stringify(files.modelJson) + '\n');
    await writeFile(join(tmp, META_FILE), JSON.stringify(recorded, null, 1) + '\n');
  });
}

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Checkpoints written while training goes on: `save` takes the head's weights as they are
 * now (read back from the GPU before it returns) and leaves writing the directory to the
 * background, one write at a time in order, each replacing the directory whole as
 * saveModelDir does. On lavapipe the writes took ~12% of the head's training time when the
 * training loop waited for them. A failed write is reported by the next `save` or `flush`.
 */
export class CheckpointWriter {
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  /** `onWritten`: a checkpoint is on disk (a caller stopped at once can say which one the folder holds). */
  constructor(
    readonly dir: string,
    private readonly onWritten?: (meta: FaceModelMeta) => void,
  ) {}

  async save(head: tfl.LayersModel, meta: FaceModelMeta): Promise<void> {
    if (this.failure) throw this.failure;
    const files = await headToFiles(head);
    this.pending = this.pending
      .then(async () => {
        await writeModelFiles(this.dir, files, meta);
        this.onWritten?.(meta);
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      });
  }

  /** Wait until every checkpoint is on disk; throws the first write's error, if any. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.failure) throw this.failure;
  }
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read ${what} (${fsReason(err)})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}

/** Read only a model directory's facegpu.json (no tfjs needed: which backbone to open, which split). */
export async function readModelMeta(dir: string): Promise<FaceModelMeta> {
  // Training may be replacing the folder with a checkpoint this moment.
  return readReplacedDir(dir, () => readModelMetaNow(dir));
}

async function readModelMetaNow(dir: string): Promise<FaceModelMeta> {
  let names: string[];
  try {
    names = await readdir(resolve(dir));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new RemedyError(`${dir}: a file, not a model folder`, ' (train(data, engine, { out }) writes one)', { case: 'not-a-model', dir, holds: 'file' });
    if (code !== 'ENOENT') throw new Error(`${dir}: cannot read the model folder (${fsReason(err)})`);
    throw new RemedyError(`${dir}: model directory does not exist`, ' (train one with train(data, engine, { out }))', { case: 'no-model', dir });
  }
  // Told before anything is read: a gallery or a data folder given where a model was meant.
  if (!names.includes(META_FILE)) {
    if (names.includes(GALLERY_FILE)) throw new RemedyError(`${dir}: a gallery, not a model folder`, ': identify photos against it (openFaceGallery)', { case: 'not-a-model', dir, holds: 'gallery' });
    throw new RemedyError(`${dir}: not a model folder (no ${META_FILE}`, '; train(data, engine, { out }) writes one)', { case: 'not-a-model', dir, holds: 'folder' });
  }
  const metaFile = join(resolve(dir), META_FILE);
  const meta = await readJson(metaFile, 'the model description');
  validateMeta(meta, metaFile);
  return meta;
}

/** Read a model directory: its metadata and the head (tfjs must have its backend set). */
export async function loadModelDir(dir: string): Promise<{ head: tfl.LayersModel; meta: FaceModelMeta }> {
  const target = resolve(dir);
  // The three files of one checkpoint, even while training writes the next.
  const { meta, modelJson, weights } = await readReplacedDir(dir, async () => {
    const meta = await readModelMetaNow(dir);
    const modelJson = (await readJson(join(target, HEAD_FILE), 'the head')) as object;
    let weights: Buffer;
    try {
      weights = await readFile(join(target, HEAD_WEIGHTS_FILE));
    } catch {
      throw new Error(`${join(target, HEAD_WEIGHTS_FILE)}: the head's weights are missing`);
    }
    const sha = meta.head.weightsSha256;
    if (sha !== undefined && sha256Hex(weights) !== sha) {
      throw new Error(`${join(target, HEAD_WEIGHTS_FILE)}: sha256 does not match the one ${META_FILE} records: the head's weights are damaged; train the model again, or restore its folder`);
    }
    return { meta, modelJson, weights };
  });
  const head = await headFromFiles({ modelJson, weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength) }, join(target, HEAD_FILE));
  return { head, meta };
}
