// Galleries on disk (Node): a folder with gallery.json, descriptors.bin, calibration.json and
// the index file (gallery-format.ts), and the photo library's files when it has one. The folder is only ever replaced whole (writeDirAtomic),
// so a writer killed or failing mid-save leaves the last good gallery, put back by the next
// load (recoverDir). Writers that may run at the same time wrap load + change + save in
// withGalleryLock (lock-node.ts). The calibration and the index are derived data: when they
// cannot be used they are rebuilt from the descriptors and onNotice says so. A save keeps
// whatever else is in the folder (carry); a gallery folder that is a link is written through
// it, and locked beside the folder it points to (lockedDir).
import { readFileSync } from 'node:fs';
import { copyFile, link, lstat, mkdir, readdir, readFile, readlink, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { dirTarget, folderIdentity, keepModeAndOwner, realDir, recoverDir, whyNotAFolder, writeDirAtomic } from '../atomic-fs.ts';
import { readReplacedDir } from '../lock-node.ts';
import { compactJson, parseDefaultCalibration, validateCalibration, type Calibration, type CalibrationOptions, type DefaultCalibration } from './calibration-record.ts';
import { Gallery, type IndexProblem } from './gallery.ts';
import { CALIBRATION_FILE, DESCRIPTORS_FILE, descriptorsFromBytes, descriptorsToBytes, GALLERY_FILE, indexFileName, validateGalleryJson, type GalleryJson } from './gallery-format.ts';
import { nodeIndexProviders } from './index-node.ts';
import { withGalleryLock as withGalleryLockOn, type GalleryLock, type GalleryLockOptions } from './lock-node.ts';
import { openStoredIndex, type IndexProvider, type VectorIndex } from './vector-index.ts';
import { fsReason } from '../fs-reason.ts';

export { assertBackbone } from './gallery.ts';
export { lockPathOf, type GalleryLock, type GalleryLockOptions } from './lock-node.ts';

export interface LoadGalleryOptions {
  /** Index kinds available (default: nodeIndexProviders, USearch first). */
  providers?: readonly IndexProvider[];
  defaultCalibration?: DefaultCalibration | null;
  calibration?: CalibrationOptions;
  /** Told when the stored index or calibration is rebuilt (default: console.warn). */
  onNotice?: (message: string) => void;
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

async function listDir(dir: string): Promise<string[] | null> {
  try {
    return await readdir(resolve(dir));
  } catch (err) {
    if (code(err) === 'ENOENT') return null;
    throw new Error(`${dir}: cannot be used as a gallery (${code(err) === 'ENOTDIR' ? await whyNotAFolder(dir) : fsReason(err)})`);
  }
}

/**
 * The path a gallery's lock is taken beside and its leftovers are tidied at: `dir`, or the
 * folder it points to when it is a link. Saves write through such a link (writeDirAtomic),
 * and a lock is beside the path it is given: locked beside the link, a writer through it and
 * one through the folder's own path would each hold a lock and save over the other's work.
 * (A link higher up needs nothing: both paths reach the same lock.) Not resolved otherwise,
 * so that lock messages name the gallery as it was given.
 */
async function lockedDir(dir: string): Promise<string> {
  if (!(await lstat(resolve(dir)).then((st) => st.isSymbolicLink(), () => false))) return dir;
  return (await realDir(dir).catch(() => null))?.path ?? dir;
}

/**
 * Run `fn` holding the gallery's lock (lock-node.ts's withGalleryLock), taken beside the
 * folder a link to it points to (lockedDir): its messages then name that folder.
 */
export async function withGalleryLock<T>(dir: string, fn: (lock: GalleryLock) => Promise<T>, opts: GalleryLockOptions = {}): Promise<T> {
  return withGalleryLockOn(await lockedDir(dir), fn, opts);
}

/** Is there a gallery (or a recoverable one) at dir? */
export async function galleryExists(dir: string): Promise<boolean> {
  await recoverDir(dir);
  return (await listDir(dir))?.includes(GALLERY_FILE) ?? false;
}

/**
 * Saving replaces the whole folder: refuse one that is not a gallery (a photo folder by
 * mistake, or the data folder itself). Writers call it before their work as well as at the
 * save, so that the refusal does not come after an enrolment's work, which it then throws away.
 */
export async function checkGalleryFolder(dir: string): Promise<void> {
  // A writer killed mid-save through a link leaves the link dangling until this recovers it.
  await recoverDir(dir);
  await dirTarget(dir);
  const names = await listDir(dir);
  if (names && names.length && !names.includes(GALLERY_FILE)) throw new Error(`${dir}: exists and is not a facegpu gallery (no ${GALLERY_FILE}); refusing to replace it`);
}

/** A hard link, or a copy on a file system without them (FAT, some network shares). */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK'].includes(code(err))) throw err;
    await copyFile(from, to);
  }
}

/**
 * Put the entry `from` of the old gallery folder at `to` in the new one without moving or
 * copying it: a file as a hard link (linkOrCopy), a symbolic link as the same link, a folder
 * as a new folder with its mode, owner and times whose entries are carried the same way.
 * The old folder keeps every name until the new one has replaced it, so a save killed at any
 * moment loses nothing: before the swap the new folder is a side folder that recoverDir
 * removes (links only), after it the new folder has it all. Moving a subfolder into the new
 * folder instead would, killed before the swap, leave it in that side folder, to be removed.
 */
async function carry(from: string, to: string): Promise<void> {
  const st = await lstat(from);
  if (st.isSymbolicLink()) await symlink(await readlink(from), to);
  else if (!st.isDirectory()) await linkOrCopy(from, to);
  else {
    await mkdir(to, 0o700);
    for (const name of await readdir(from)) await carry(join(from, name), join(to, name));
    // After its entries: a read-only folder (0500) would refuse them.
    await keepModeAndOwner(to, st);
    await utimes(to, st.atimeMs / 1000, st.mtimeMs / 1000); // seconds: finer than a Date's ms
  }
}

/**
 * Which save of the gallery at `dir` is there now: a new value after every save (each renames
 * a new folder in), null where there is no gallery. A program that loaded the gallery and
 * finds another value when it saves would undo a save made meanwhile.
 */
export async function galleryVersion(dir: string): Promise<string | null> {
  return (await galleryExists(dir)) ? folderIdentity(resolve(dir)) : null;
}

/** Files a save writes; an index file of another kind is the gallery's own too, stale. */
const isGalleryFile = (name: string) => [GALLERY_FILE, DESCRIPTORS_FILE, CALIBRATION_FILE].includes(name) || nodeIndexProviders.some((p) => indexFileName(p.kind) === name);

/**
 * Replace `dir` by the gallery in one rename. Pass the lock when saving under
 * withGalleryLock: a lock lost meanwhile refuses the save.
 */
export async function saveGallery(dir: string, gallery: Gallery, opts: { lock?: GalleryLock } = {}): Promise<void> {
  await recoverDir(dir);
  await checkGalleryFolder(dir);
  const files = gallery.toFiles();
  opts.lock?.assertHeld();
  await writeDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, GALLERY_FILE), JSON.stringify(files.json, null, 1) + '\n');
    await writeFile(join(tmp, DESCRIPTORS_FILE), descriptorsToBytes(files.descriptors));
    await writeFile(join(tmp, CALIBRATION_FILE), compactJson(files.calibration) + '\n');
    const index = files.index!;
    const file = join(tmp, files.json.index.file);
    if (index.save) index.save(file);
    else await writeFile(file, index.serialize());
    // Everything else in the folder goes along (carry), as hard links: the photo library's
    // files (library.*: no copy of a store that may hold a million faces; their only writer
    // holds this gallery's lock) and whatever the user keeps there (notes, a subfolder), which
    // a save would otherwise delete. Never a moment without them: the old folder keeps them
    // until the new one is in.
    const written = new Set(await readdir(tmp));
    for (const name of (await listDir(dir)) ?? []) if (!written.has(name) && !isGalleryFile(name)) await carry(join(resolve(dir), name), join(tmp, name));
  });
}

/** About what one more face adds to a saved gallery: its float32 descriptor and its JSON record. */
const BYTES_PER_FACE = 4 * 1024 + 512;

/**
 * About how many bytes a save of the gallery at `dir` with `newFaces` more faces writes: the
 * gallery's files are written anew beside the old ones (everything else in the folder, such as
 * the photo library's files, goes along as links, not copies), for a check of free space
 * before the work (`checkOutputDir`'s needBytes). Descriptors are counted as 1024-d, the
 * widest backbone's.
 */
export async function gallerySaveBytes(dir: string, newFaces: number): Promise<number> {
  let bytes = newFaces * BYTES_PER_FACE;
  for (const name of (await listDir(dir)) ?? []) {
    if (!isGalleryFile(name)) continue;
    bytes += await stat(join(dir, name)).then((st) => (st.isFile() ? st.size : 0), () => 0);
  }
  return bytes;
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

/**
 * A gallery folder's gallery.json alone, checked (after tidying up a killed writer's leftovers):
 * what a caller needs to know before loading the rest, such as the backbone to open.
 */
export async function readGalleryJson(dir: string): Promise<GalleryJson> {
  // A writer may be replacing the folder this moment.
  return readReplacedDir(await lockedDir(dir), () => readGalleryJsonNow(dir));
}

async function readGalleryJsonNow(dir: string): Promise<GalleryJson> {
  const names = await listDir(dir);
  if (!names) throw new Error(`${dir}: no gallery here (the folder does not exist): enroll people first`);
  if (!names.includes(GALLERY_FILE)) throw new Error(`${dir}: not a facegpu gallery (no ${GALLERY_FILE})`);
  const jsonFile = join(resolve(dir), GALLERY_FILE);
  const json = await readJson(jsonFile, 'the gallery');
  validateGalleryJson(json, jsonFile);
  return json;
}

/** Read and check a gallery folder. */
export async function loadGallery(dir: string, opts: LoadGalleryOptions = {}): Promise<Gallery> {
  // Its files as one version of the folder, even while a writer replaces it.
  return readReplacedDir(await lockedDir(dir), (notice) => loadGalleryNow(dir, opts, notice), opts.onNotice ?? ((m: string) => console.warn(m)));
}

async function loadGalleryNow(dir: string, opts: LoadGalleryOptions, notice: (message: string) => void): Promise<Gallery> {
  const json = await readGalleryJsonNow(dir);
  const target = resolve(dir);

  const descFile = join(target, DESCRIPTORS_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(descFile);
  } catch (err) {
    throw new Error(`${descFile}: the gallery's descriptors are missing (${code(err)})`);
  }
  const descriptors = descriptorsFromBytes(bytes, json.faces.length, json.dim, descFile);

  let calibration: Calibration | null = null;
  const calFile = join(target, CALIBRATION_FILE);
  try {
    const c = await readJson(calFile, 'the calibration');
    validateCalibration(c, calFile);
    calibration = c;
  } catch (err) {
    notice(`${(err as Error).message}: re-calibrating`);
  }

  const { provider, index, problem: indexProblem } = openStoredIndex(json.index, json.dim, opts.providers ?? nodeIndexProviders, (p, file) =>
    p.load ? p.load(join(target, file), json.dim) : p.deserialize(new Uint8Array(readFileSync(join(target, file))), json.dim),
  );
  return Gallery.fromFiles(
    { json, descriptors, calibration, index, indexProblem },
    { name: dir, index: provider, defaultCalibration: opts.defaultCalibration, calibration: opts.calibration, onNotice: notice },
  );
}

/** Read a backbone's default calibration (JSON written with compactJson(defaultCalibrationFrom(...))). */
export async function readDefaultCalibration(file: string): Promise<DefaultCalibration> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the default calibration (${fsReason(err)})`);
  }
  return parseDefaultCalibration(text, file);
}
