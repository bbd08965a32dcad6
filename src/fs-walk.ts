// Listing files under folders (Node), one rule for every command: symbolic links to files and
// to folders are followed alike, each real folder is visited once per walk, a link that leads
// back into a folder being walked (a loop) is reported as a warning naming the link and not
// followed, and a broken link is a warning too (or, for callers that answer every file, listed
// in its place for the reader to name). Hidden entries (.name) are left out; only
// regular files are listed (a FIFO or device inside a folder would block a reader).
// Commands that read photos out of a folder keep only photo file names (isPhotoFile): folders
// of photos hold sidecars (.xmp, which `gallery export-xmp` writes), Thumbs.db and notes that
// are not worth decoding, nor warning of. A file named on the command line is read whatever
// its name (formats are recognised by content).
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fsReason } from './fs-reason.ts';

/**
 * Extensions of the photos taken from folders: every format src/image decodes, under the names
 * it is saved as. JPEG's include .jfif, .jif and .jfi (what browsers on Windows name a
 * downloaded JPEG). Image sequences (.heics, .avifs) are not here: their frames may be only a
 * track, which the decoders do not read, and a folder's files are not worth an error each.
 */
export const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.jif', '.jfi', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif', '.bmp', '.pgm', '.ppm', '.pnm', '.pbm']);

export const isPhotoFile = (path: string) => PHOTO_EXTENSIONS.has(extname(path).toLowerCase());

export interface WalkOptions {
  /** A link loop, a broken link, an unreadable folder: told once each, the walk goes on. */
  onWarning?: (message: string) => void;
  /** Real paths of folders already walked (shared across calls to visit each once). */
  visited?: Set<string>;
  /** Real paths of more folders a link must not lead back to (the folders enclosing `dir` always count). */
  enclosing?: readonly string[];
  /**
   * List a link that cannot be followed (broken, a loop of links, no permission) in its place
   * instead of warning of it, for a caller that answers every file: reading it then says why.
   */
  keepUnfollowable?: boolean;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The regular files under `dir`, depth first, each folder's entries in name order; paths are
 * `dir` joined with the names as found (links are not resolved in the paths).
 */
export async function walkFiles(dir: string, opts: WalkOptions = {}): Promise<string[]> {
  const visited = opts.visited ?? new Set<string>();
  const warn = opts.onWarning ?? (() => {});
  const out: string[] = [];
  let real: string;
  try {
    real = await realpath(dir);
  } catch (err) {
    warn(`${dir}: cannot open folder (${fsReason(err)}); skipped`);
    return out;
  }
  // A link to a folder that encloses this one (or to the folder itself) is a loop.
  const chain = new Set(opts.enclosing ?? []);
  for (let up = dirname(real); !chain.has(up); up = dirname(up)) chain.add(up);
  if (chain.has(real)) {
    warn(`${dir}: symbolic link loop (leads back to ${real}); not followed`);
    return out;
  }
  if (visited.has(real)) return out;
  visited.add(real);
  chain.add(real);
  await walk(dir, chain, visited, out, warn, opts.keepUnfollowable === true);
  return out;
}

async function walk(dir: string, chain: Set<string>, visited: Set<string>, out: string[], warn: (m: string) => void, keep: boolean): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    warn(`${dir}: cannot read folder (${fsReason(err)}); skipped`);
    return;
  }
  for (const e of entries.filter((x) => !x.name.startsWith('.')).sort((a, b) => byName(a.name, b.name))) {
    const path = join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const st = await stat(path);
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch (err) {
        if (keep) {
          out.push(path);
          continue;
        }
        const code = (err as NodeJS.ErrnoException).code;
        warn(`${path}: ${code === 'ELOOP' ? 'symbolic link loop' : code === 'ENOENT' ? 'broken symbolic link' : `cannot follow symbolic link (${code})`}; skipped`);
        continue;
      }
    }
    if (isDir) {
      let real: string;
      try {
        real = await realpath(path);
      } catch (err) {
        warn(`${path}: cannot open folder (${(err as NodeJS.ErrnoException).code}); skipped`);
        continue;
      }
      if (chain.has(real)) {
        warn(`${path}: symbolic link loop (leads back to ${real}); not followed`);
        continue;
      }
      if (visited.has(real)) continue; // reached before by another link: once is enough
      visited.add(real);
      chain.add(real);
      await walk(path, chain, visited, out, warn, keep);
      chain.delete(real);
    } else if (isFile) out.push(path);
  }
}

/** Whether `path` names a folder, following links (false when it is missing or broken). */
export async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
