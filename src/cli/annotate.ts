// identify --annotate <dir>: each photo written again as a JPEG with its faces drawn on it
// (src/faces/annotate-node.ts), into <dir> under its path from the folder all the photos given
// share, so a tree of photos comes out as the same tree. A name that is not already .jpg/.jpeg
// gets ".jpg" added (party.png -> party.png.jpg), so no two photos land on one name.
import { dirname, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-fs.ts';
import { checkOutputDir, realish, within } from '../out-dir.ts';
import { annotatedJpeg } from '../faces/annotate-node.ts';
import type { IdentifiedFace, NamedImage } from '../identity/face-gallery.ts';

/**
 * Refuse an --annotate folder before any work: one that cannot be written (checkOutputDir), one
 * inside a folder of photos given (its drawings would be read as photos next time), and one
 * holding any photo given (a drawing could land on it).
 */
export async function checkAnnotateDir(dir: string, files: readonly string[], folders: readonly string[]): Promise<void> {
  await checkOutputDir(dir, { name: '--annotate' });
  const out = await realish(dir);
  for (const f of folders) {
    if (within(out, await realish(f))) throw new Error(`--annotate ${dir}: is inside the photo folder ${f}; its drawings would be read as photos next time. Choose a folder outside it`);
  }
  for (const f of files) {
    if (within(await realish(f), out)) throw new Error(`--annotate ${dir}: holds the photo ${f}, which a drawing could replace. Choose a folder outside the photos`);
  }
}

/** Where each photo's drawing goes in `dir`, by the photo's path as given. */
export function annotatedPaths(dir: string, files: readonly string[]): Map<string, string> {
  const abs = files.map((f) => resolve(f));
  let common = abs.length ? dirname(abs[0]) : resolve('.');
  for (const a of abs) while (!within(a, common)) common = dirname(common);
  const taken = new Set<string>();
  const out = new Map<string, string>();
  files.forEach((f, i) => {
    const rel = relative(common, abs[i]);
    const base = /\.jpe?g$/i.test(rel) ? rel.replace(/\.jpe?g$/i, '') : rel;
    const ext = /\.jpe?g$/i.test(rel) ? rel.slice(base.length) : '.jpg';
    let name = base + ext;
    for (let k = 2; taken.has(name); k++) name = `${base}-${k}${ext}`;
    taken.add(name);
    out.set(f, join(dir, name));
  });
  return out;
}

/**
 * identifyFiles' onIdentified for --annotate: draws and writes each photo (atomically). The
 * first write that fails stops the drawing, told through `onError`; identifying goes on.
 */
export function annotator(dir: string, files: readonly string[], onError: (message: string) => void): { onIdentified: (photo: NamedImage, faces: IdentifiedFace[]) => Promise<void>; written: () => number } {
  const paths = annotatedPaths(dir, files);
  let written = 0;
  let failed = false;
  return {
    written: () => written,
    onIdentified: async (photo, faces) => {
      if (failed) return;
      const target = paths.get(photo.name);
      if (!target) throw new Error(`--annotate: no place for ${photo.name}`);
      try {
        await writeFileAtomic(target, await annotatedJpeg(photo.image, faces));
        written++;
      } catch (err) {
        failed = true;
        onError(`--annotate ${dir}: ${(err as Error).message}; no more photos drawn`);
      }
    },
  };
}
