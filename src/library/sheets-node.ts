// Contact sheets of the library's clusters (Node): one JPEG per cluster with some of its faces,
// for a person to look at before naming it (namePerson of the cluster's faces).
// The sheets go into a folder of their own, written whole and renamed in, marked as theirs:
// a second run replaces it (clusters are numbered afresh by each clustering, so sheets of an
// older run left beside new ones would show the wrong faces under a number), and a folder that
// holds anything else is refused (checkSheetsFolder).
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirAtomic } from '../atomic-fs.ts';
import { faceSheetJpeg, type SheetFace } from '../faces/annotate-node.ts';
import { loadImageRaw } from '../image/decode.ts';
import type { RgbImage } from '../image/rgb.ts';
import type { LibraryCluster } from './cluster-node.ts';
import { LibraryStore, type FaceEntry } from './store-node.ts';

/** Marks a folder of sheets, so that the next run may replace it. */
export const SHEETS_MARK = '.facegpu-sheets';
/** Faces shown per cluster at most. */
export const SHEET_FACES = 12;

/** The file of a cluster's sheet in the sheets folder. */
export const sheetFile = (id: number) => `cluster-${id}.jpg`;

/** What is wrong with `out` as a sheets folder (not empty and not one made here), or null. */
export async function sheetsFolderProblem(out: string): Promise<string | null> {
  const entries = existsSync(out) ? await readdir(out).catch(() => null) : [];
  if (entries === null) return 'is not a folder that can be read';
  return entries.length && !entries.includes(SHEETS_MARK) ? 'holds files that are not cluster sheets; name a new or empty folder (it is replaced whole)' : null;
}

/** The faces a sheet shows: best detector score first, one per photo before any second one. */
export function sheetFaces(faces: readonly FaceEntry[], n = SHEET_FACES): FaceEntry[] {
  const best = [...faces].sort((a, b) => b.score - a.score || a.id - b.id);
  const photos = new Set<string>();
  const first: FaceEntry[] = [];
  const rest: FaceEntry[] = [];
  for (const f of best) {
    if (photos.has(f.path)) rest.push(f);
    else {
      photos.add(f.path);
      first.push(f);
    }
  }
  return [...first, ...rest].slice(0, n);
}

/** A cluster's title line: its number, who, how many faces in how many photos. */
export function sheetTitle(c: LibraryCluster): string {
  const who = c.person ?? (c.nearest ? `? (most like ${c.nearest.person}, ${c.nearest.similarity.toFixed(2)})` : '?');
  return `cluster ${c.id}: ${who}, ${c.faces} faces in ${c.photos} photos`;
}

/**
 * Write a sheet per cluster of the library in gallery folder `dir` (as its last clustering
 * stored them) into `out`, replacing what is there (see the file's head). A photo that can no
 * longer be read shows as an empty tile. `onProgress(done, total)` after each sheet. Each
 * sheet decodes its faces' photos: about a second for 12 faces of 12-megapixel JPEGs on 2 cores
 * (52-97 ms a photo, 73 ms to draw them).
 */
export async function writeClusterSheets(dir: string, clusters: readonly LibraryCluster[], out: string, opts: { onProgress?: (done: number, total: number) => void } = {}): Promise<void> {
  const problem = await sheetsFolderProblem(out);
  if (problem) throw new Error(`${out}: ${problem}`);
  const store = LibraryStore.open(dir, { readonly: true });
  try {
    await writeDirAtomic(out, async (tmp) => {
      await writeFile(join(tmp, SHEETS_MARK), 'cluster sheets made by facegpu; replaced whole by the next run\n');
      let done = 0;
      for (const c of clusters) {
        const shown = sheetFaces(store.faces({ cluster: c.id }));
        const photos = new Map<string, RgbImage | null>();
        for (const f of shown) if (!photos.has(f.path)) photos.set(f.path, await loadImageRaw(f.path).catch(() => null));
        const faces: SheetFace[] = shown.map((f) => ({ image: photos.get(f.path) ?? { width: 1, height: 1, data: new Uint8Array(3) }, box: photos.get(f.path) ? f.box : [0, 0, 0, 0] }));
        await writeFile(join(tmp, sheetFile(c.id)), await faceSheetJpeg(faces, sheetTitle(c)));
        opts.onProgress?.(++done, clusters.length);
      }
    });
  } finally {
    store.close();
  }
}
