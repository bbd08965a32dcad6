// Contact sheets of the library's clusters (Node): one JPEG per cluster with some of its faces,
// for a person to look at before naming it (nameCluster), each captioned with its face id so
// that a face that is someone else can be named or taken off by itself (nameFaces, unnameFaces).
// The sheets go into a folder of their own, written whole and renamed in, marked as theirs:
// a second run replaces it (clusters are numbered afresh by each clustering, so sheets of an
// older run left beside new ones would show the wrong faces under a number), and a folder that
// holds anything else is refused (checkSheetsFolder).
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { writeDirAtomic } from '../atomic-fs.ts';
import { faceSheetJpeg, faceTile, type SheetFace } from '../faces/annotate-node.ts';
import { loadImageRaw } from '../image/decode.ts';
import type { LibraryCluster } from './cluster-node.ts';
import { coresUpTo } from '../cores-node.ts';
import { groupBy } from '../group-by.ts';
import { LibraryStore, type FaceEntry } from './store-node.ts';

/** Marks a folder of sheets, so that the next run may replace it. */
export const SHEETS_MARK = '.facegpu-sheets';
/** Faces shown per cluster at most, unless asked otherwise. */
export const SHEET_FACES = 12;

/**
 * Faces on one sheet at most: a cluster shown with more gets more sheets (a JPEG is at most
 * 65535 pixels high; 96 faces make 6 by 16, 2184 pixels).
 */
export const SHEET_PAGE = 96;

/** The file of a cluster's sheet in the sheets folder (its first; `page` 2 on: cluster-3-2.jpg). */
export const sheetFile = (id: number, page = 1) => (page === 1 ? `cluster-${id}.jpg` : `cluster-${id}-${page}.jpg`);

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

/**
 * Photos decoded at once for a sheet: a photo decodes on one core (libjpeg, libheif), so as many
 * as cores, at most 4 (a 12-megapixel photo is 36 MB decoded).
 */
const DECODES_AT_ONCE = coresUpTo(4);

/** Faces' tiles captioned with their ids, each photo decoded once and let go once its tiles are cut. */
async function tilesOf(faces: readonly FaceEntry[]): Promise<SheetFace[]> {
  const tiles = new Map<number, Buffer | null>();
  const limit = pLimit(DECODES_AT_ONCE);
  await Promise.all(
    [...groupBy(faces, (f) => f.path)].map(([path, of]) =>
      limit(async () => {
        const image = await loadImageRaw(path).catch(() => null);
        for (const f of of) tiles.set(f.id, image && (await faceTile(image, f.box)));
      }),
    ),
  );
  return faces.map((f) => ({ tile: tiles.get(f.id) ?? null, caption: `face ${f.id}` }));
}

/** A cluster's title line: its number, who, how many faces in how many photos. */
export function sheetTitle(c: LibraryCluster): string {
  const who = c.person ?? (c.nearest ? `? (most like ${c.nearest.person}, ${c.nearest.similarity.toFixed(2)})` : '?');
  return `cluster ${c.id}: ${who}, ${c.faces} faces in ${c.photos} photos`;
}

/**
 * Write a sheet per cluster of the library in gallery folder `dir` (as its last clustering
 * stored them) into `out`, replacing what is there (see the file's head), `faces` of each at
 * most (SHEET_FACES; Infinity for all). A photo that can no longer be read shows as an empty
 * tile. `onProgress(done, total)` after each sheet. Each sheet decodes its faces' photos,
 * DECODES_AT_ONCE at a time: 12 faces of 12-megapixel JPEGs took 0.42-0.56 s a sheet on 2
 * cores, against 1.04-1.05 s one photo at a time (scratch timing, 3 sheets, 3 runs each).
 */
export async function writeClusterSheets(
  dir: string,
  clusters: readonly LibraryCluster[],
  out: string,
  opts: { faces?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<void> {
  const most = opts.faces ?? SHEET_FACES;
  if (!(most >= 1)) throw new Error(`faces per sheet must be at least 1, got ${most}`);
  const problem = await sheetsFolderProblem(out);
  if (problem) throw new Error(`${out}: ${problem}`);
  const store = LibraryStore.open(dir, { readonly: true });
  try {
    await writeDirAtomic(out, async (tmp) => {
      await writeFile(join(tmp, SHEETS_MARK), 'cluster sheets made by facegpu; replaced whole by the next run\n');
      let done = 0;
      for (const c of clusters) {
        const shown = sheetFaces(store.faceEntries({ cluster: c.id }), most);
        const pages = Math.ceil(shown.length / SHEET_PAGE);
        for (let page = 1; page <= pages; page++) {
          const faces = shown.slice((page - 1) * SHEET_PAGE, page * SHEET_PAGE);
          const title = pages > 1 ? `${sheetTitle(c)} (sheet ${page} of ${pages})` : sheetTitle(c);
          await writeFile(join(tmp, sheetFile(c.id, page)), await faceSheetJpeg(await tilesOf(faces), title));
        }
        opts.onProgress?.(++done, clusters.length);
      }
    });
  } finally {
    store.close();
  }
}
