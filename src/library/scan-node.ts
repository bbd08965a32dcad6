// What an index run has to do (Node): the photo files under a folder tree against what the
// library already holds. A file whose size and modification time match its stored record is
// unchanged without being read; one whose size or time moved is hashed, and only new bytes
// count as changed (a touched file keeps its faces). A new path whose bytes the library
// already holds (a moved or copied photo) takes the stored faces without any GPU work.
// Stored photos under the tree that are gone are removed. Photos are found by extension: a
// library holds sidecars, videos and documents that are not worth decoding to skip.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { BLAZEFACE_INPUT } from '../detect/anchors.ts';
import { needsTiles } from '../detect/tiles.ts';
import { isDescribeFailure } from '../faces/describe.ts';
import { maxImagePixels } from '../image/decode.ts';
import { isPhotoFile, walkFiles } from '../fs-walk.ts';
import type { PhotoFile } from './photo-faces.ts';
import { SHEETS_MARK } from './sheets-node.ts';
import type { LibraryStore, StoredPhoto } from './store-node.ts';
import { fsReason } from '../fs-reason.ts';

// Which files are photos is one rule for every command that walks folders (fs-walk.ts);
// re-exported for watch-node.ts, which tells a photo's change from a sidecar's by it.
export { isPhotoFile, PHOTO_EXTENSIONS } from '../fs-walk.ts';

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface ScanPlan {
  /** Photo files found under the root. */
  photos: number;
  /** To detect and embed: paths the library does not hold. */
  added: PhotoFile[];
  /**
   * To detect and embed again: stored paths with new bytes, or whose faces were looked for
   * down to another minFace than the run's (`searchedAgain` of them).
   */
  changed: PhotoFile[];
  /** Of `changed`, photos whose bytes are as stored, there for the run's other minFace. */
  searchedAgain: number;
  /**
   * Stored photos indexed with another minFace than the run's that it would search alike (too
   * small for tiles either way): the run's is recorded, no GPU work. Counted in `unchanged`.
   */
  retagged: number[];
  /**
   * New paths whose bytes are stored already (moved or copied) and were searched as this run
   * searches, or as it would search alike: faces copied, no GPU work, the run's minFace recorded.
   */
  copies: { file: PhotoFile; from: StoredPhoto }[];
  /** Stored photos under the root whose files are gone, and those of another tree gone from the disk whose bytes are here (moved: see `copies`). */
  removed: StoredPhoto[];
  /** Unchanged photos (size and time as stored, or the same bytes), but for `failing`. */
  unchanged: number;
  /**
   * Photos that could not be read or decoded before and whose bytes have not changed since
   * (unchanged, or new paths with those bytes): failing still, told again, not read again.
   */
  failing: { path: string; error: string }[];
  /** Stored photos whose bytes were the same after a size or time change: re-stamped. */
  touched: { id: number; size: number; mtimeMs: number }[];
}

/**
 * The pixel limit a stored failure was refused under ("... above the limit of N; ..."), or
 * Infinity for any other failure: a photo refused for its size is read again by a run that
 * allows more, one whose faces could not be found by every run (isDescribeFailure), one that
 * failed otherwise only when its bytes change.
 */
export function overLimit(error: string): number {
  const m = /above the limit of (\d+)/.exec(error);
  return m ? Number(m[1]) : Infinity;
}

/**
 * A test of whether a file is one of facegpu's contact sheets (`cluster --sheets`, a folder
 * with SHEETS_MARK): faces the library has already, which a sheets folder inside the photo tree
 * would add again (and again each time the sheets are made afresh). Folders looked at once a scan.
 */
function sheetsTest(): (file: string) => boolean {
  const folders = new Map<string, boolean>();
  return (file) => {
    const dir = dirname(file);
    let is = folders.get(dir);
    if (is === undefined) folders.set(dir, (is = existsSync(join(dir, SHEETS_MARK))));
    return is;
  };
}

/**
 * Walk `root` and compare with the store, for a run that looks for faces down to `minFace`
 * pixels (default 0: the whole photo only) and decodes images up to `maxPixels` (default
 * maxImagePixels()). Warnings (links, unreadable folders) go to onWarning.
 */
export async function scanLibrary(root: string, store: LibraryStore, opts: { onWarning?: (m: string) => void; minFace?: number; maxPixels?: number } = {}): Promise<ScanPlan> {
  const minFace = opts.minFace ?? 0;
  const maxPixels = opts.maxPixels ?? maxImagePixels();
  // Through a link to the tree, the photos are stored under the folder it leads to: reached
  // by either path, a photo is one photo (and one set of names), not two.
  const spelled = resolve(root);
  const top = await realpath(spelled).catch(() => spelled);
  const isSheet = sheetsTest();
  const files = (await walkFiles(top, { onWarning: opts.onWarning })).filter((p) => isPhotoFile(p) && !isSheet(p)).map((p) => resolve(p));
  const stored = new Map(store.photos().map((p) => [p.path, p]));
  const plan: ScanPlan = { photos: files.length, added: [], changed: [], searchedAgain: 0, retagged: [], copies: [], removed: [], unchanged: 0, failing: [], touched: [] };
  // A stored photo's faces are what this run would find: searched with its minFace, or too small
  // for tiles under either.
  const alike = (old: StoredPhoto) =>
    old.minFace === minFace || (old.width !== null && old.height !== null && !needsTiles(old.width, old.height, old.minFace, BLAZEFACE_INPUT) && !needsTiles(old.width, old.height, minFace, BLAZEFACE_INPUT));
  // Bytes as stored: failing still, searched again for another minFace, or unchanged.
  const same = (old: StoredPhoto, path: string) => {
    if (old.error !== null && (overLimit(old.error) < maxPixels || isDescribeFailure(old.error))) {
      // Refused for its size under a lower limit than this run's, or its faces not found: read again.
      plan.changed.push({ path, size: old.size, mtimeMs: old.mtimeMs, sha256: old.sha256 });
    } else if (old.error !== null) plan.failing.push({ path, error: old.error });
    else if (old.minFace === minFace) plan.unchanged++;
    else if (alike(old)) {
      plan.retagged.push(old.id);
      plan.unchanged++;
    } else {
      plan.changed.push({ path, size: old.size, mtimeMs: old.mtimeMs, sha256: old.sha256 });
      plan.searchedAgain++;
    }
  };
  const seen = new Set<string>();
  const fresh: PhotoFile[] = [];
  for (const path of files) {
    if (seen.has(path)) continue;
    seen.add(path);
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      opts.onWarning?.(`${path}: cannot be read (${fsReason(err)}); skipped`);
      continue;
    }
    const old = stored.get(path);
    if (old && old.size === st.size && old.mtimeMs === st.mtimeMs) {
      same(old, path);
      continue;
    }
    let sha256: string;
    try {
      sha256 = await sha256File(path);
    } catch (err) {
      opts.onWarning?.(`${path}: cannot be read (${fsReason(err)}); skipped`);
      continue;
    }
    const file: PhotoFile = { path, size: st.size, mtimeMs: st.mtimeMs, sha256 };
    if (old && old.sha256 === sha256) {
      plan.touched.push({ id: old.id, size: st.size, mtimeMs: st.mtimeMs });
      same(old, path);
    } else if (old) plan.changed.push(file);
    else fresh.push(file);
  }
  for (const file of fresh) {
    const from = store.photoWithHash(file.sha256);
    // Faces copied only from a photo searched as this run searches, or that it would search
    // alike (a failure is the bytes').
    if (from && ((from.error !== null && !isDescribeFailure(from.error)) || (from.error === null && alike(from)))) {
      plan.copies.push({ file, from });
      if (from.error !== null) plan.failing.push({ path: file.path, error: from.error });
    } else plan.added.push(file);
  }
  // Photos stored under the link's path (by a run before the link was followed) are moved,
  // like any photo, to where they are now found: their faces and names go with them.
  const unders = [...new Set([top, spelled])].map((d) => (d.endsWith(sep) ? d : d + sep));
  for (const p of stored.values()) if (unders.some((u) => p.path.startsWith(u)) && !seen.has(p.path)) plan.removed.push(p);
  // A photo stored under another tree whose file is gone, its bytes found here: moved too (the
  // tree's folder renamed or moved, then indexed under its new path), not copied, so that its
  // old path does not stay in the library (every photo found twice by search) and the
  // gallery's faces of it follow it. (A drive not mounted looks the same: mounted again and
  // indexed, its photos come back as copies, with their names.)
  const away = new Set(plan.removed.map((p) => p.id));
  for (const { from } of plan.copies) {
    if (away.has(from.id) || unders.some((u) => from.path.startsWith(u)) || existsSync(from.path)) continue;
    away.add(from.id);
    plan.removed.push(from);
  }
  return plan;
}
