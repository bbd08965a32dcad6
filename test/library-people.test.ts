// Correcting a photo library's names face by face, without a GPU (synthetic descriptors):
// nameFaces moves faces to a person in the gallery and the library alike, unnameFaces takes
// them off and remembers whom they are not (so naming their cluster again leaves them out),
// renames and a photo indexed again keep that, a crash between the gallery's save and the
// library's is finished by running again, and the CLI lists a photo's faces and refuses bad ids.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gallery } from '../src/gallery/gallery.ts';
import { defaultNodeIndex } from '../src/gallery/index-node.ts';
import { loadGallery, saveGallery } from '../src/gallery/store-node.ts';
import { gaussian } from '../src/gallery/synthetic.ts';
import { indexLibrary } from '../src/library/index-run-node.ts';
import { libraryGalleryStats, nameCluster, nameFaces, removePerson, removePersonPhotos, renamePerson, unnameFaces } from '../src/library/people-node.ts';
import { checkLibrary } from '../src/cli/remedies.ts';
import { scanLibrary, sha256File } from '../src/library/scan-node.ts';
import { openSearchIndex } from '../src/library/search-index-node.ts';
import { searchLibrary, searchLibraryForPerson } from '../src/library/search-node.ts';
import type { PhotoFaces } from '../src/library/photo-faces.ts';
import { SHEET_PAGE, SHEETS_MARK, writeClusterSheets } from '../src/library/sheets-node.ts';
import { LIBRARY_FILE, LibraryStore } from '../src/library/store-node.ts';
import { personName } from '../src/identity/face-gallery.ts';
import { RemedyError } from '../src/remedy.ts';
import { Prng } from '../src/train/prng.ts';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');
const cli = (args: string[]) => exec('node', [CLI, ...args], { timeout: 120_000 });

const DIM = 16;
const backbone = { id: 'face', sha256: 'a'.repeat(64) };
const prng = new Prng(11);
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-people-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A photo at `path` with faces at the given x positions (boxes 10 wide). */
const photo = (path: string, xs: number[]): PhotoFaces => ({
  path,
  size: 100,
  mtimeMs: 1,
  sha256: path.padEnd(64, '0'),
  width: 200,
  height: 100,
  faces: xs.map((x) => ({ box: [x, 10, 10, 10], score: 0.9, descriptor: gaussian(prng, new Float32Array(DIM)) })),
});

/** A gallery folder with an empty gallery and a library of 5 photos whose 6 faces are cluster 0. */
async function library(name: string): Promise<{ dir: string; ids: number[] }> {
  const dir = join(tmp, name);
  await saveGallery(dir, Gallery.create({ name: dir, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex }));
  const store = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
  store.storePhotos([photo('/p/1.jpg', [0]), photo('/p/2.jpg', [0]), photo('/p/3.jpg', [0]), photo('/p/4.jpg', [0]), photo('/p/5.jpg', [120, 20])]);
  const ids = store.faceEntries().map((f) => f.id);
  store.setClusters(new Map([[0, ids]]));
  store.close();
  return { dir, ids };
}

const libraryFaces = (dir: string) => {
  const s = LibraryStore.open(dir, { readonly: true });
  try {
    return new Map(s.faceEntries().map((f) => [f.id, { person: f.person, notPeople: f.notPeople }]));
  } finally {
    s.close();
  }
};
const galleryFiles = async (dir: string, person: string) =>
  (await loadGallery(dir))
    .faces()
    .filter((f) => f.person === person)
    .map((f) => `${f.file}@${f.box[0]}`)
    .sort();

describe('naming faces one by one', () => {
  it('a face taken off a named cluster leaves the person in the gallery and stays off when the cluster is named again', async () => {
    const { dir, ids } = await library('g1');
    expect(await nameCluster(dir, 0, 'Ann')).toEqual({ person: 'Ann', cluster: 0, named: 6, already: 0, kept: [], notThem: 0 });
    const stranger = ids[5]; // the second face of 5.jpg (x 20)
    expect(await unnameFaces(dir, [stranger])).toEqual({ person: null, changed: 1, from: [{ person: 'Ann', faces: 1 }], removed: [] });
    expect(await galleryFiles(dir, 'Ann')).toEqual(['/p/1.jpg@0', '/p/2.jpg@0', '/p/3.jpg@0', '/p/4.jpg@0', '/p/5.jpg@120']);
    expect(libraryFaces(dir).get(stranger)).toEqual({ person: null, notPeople: ['Ann'] });
    // Taken off again: nothing left to take.
    expect(await unnameFaces(dir, [stranger])).toEqual({ person: null, changed: 0, from: [], removed: [] });

    expect(await nameCluster(dir, 0, 'Ann')).toEqual({ person: 'Ann', cluster: 0, named: 5, already: 5, kept: [], notThem: 1 });
    expect(await galleryFiles(dir, 'Ann')).toHaveLength(5);
    expect(libraryFaces(dir).get(stranger)!.person).toBeNull();

    // Named someone else: Bob now, still not Ann; taken off Bob too, it is neither.
    expect(await nameFaces(dir, [stranger], 'Bob')).toEqual({ person: 'Bob', changed: 1, from: [], removed: [] });
    expect(await galleryFiles(dir, 'Bob')).toEqual(['/p/5.jpg@20']);
    expect(libraryFaces(dir).get(stranger)).toEqual({ person: 'Bob', notPeople: ['Ann'] });
    expect(await unnameFaces(dir, [stranger])).toEqual({ person: null, changed: 1, from: [{ person: 'Bob', faces: 1 }], removed: ['Bob'] });
    expect(libraryFaces(dir).get(stranger)).toEqual({ person: null, notPeople: ['Ann', 'Bob'] });
    expect((await nameCluster(dir, 0, 'Ann')).notThem).toBe(1);
    expect(await nameFaces(dir, [stranger], 'Bob')).toEqual({ person: 'Bob', changed: 1, from: [], removed: [] });
    expect(libraryFaces(dir).get(stranger)).toEqual({ person: 'Bob', notPeople: ['Ann'] });
    // Named Ann after all: it leaves Bob (who has no face left, so leaves the gallery), and is not "not Ann" any more.
    expect(await nameFaces(dir, [stranger, stranger], 'Ann')).toEqual({ person: 'Ann', changed: 1, from: [{ person: 'Bob', faces: 1 }], removed: ['Bob'] });
    expect((await loadGallery(dir)).people().map((p) => p.name)).toEqual(['Ann']);
    expect(await galleryFiles(dir, 'Ann')).toHaveLength(6);
    expect(libraryFaces(dir).get(stranger)).toEqual({ person: 'Ann', notPeople: [] });
  });

  it('a rename carries whom a face is not; a photo indexed again keeps it where its face was', async () => {
    const { dir, ids } = await library('g2');
    await nameCluster(dir, 0, 'Ann');
    await unnameFaces(dir, [ids[5]]);
    expect((await renamePerson(dir, 'Ann', 'Anna')).libraryFaces).toBe(5);
    expect(libraryFaces(dir).get(ids[5])).toEqual({ person: null, notPeople: ['Anna'] });
    // 5.jpg searched again (new bytes, the faces a pixel off, described alike): new ids, the same names.
    const store = LibraryStore.open(dir);
    const was = new Map(store.faces({ ids: [ids[4], ids[5]] }).map((f) => [f.box[0] + 1, f.descriptor]));
    const edited = photo('/p/5.jpg', [121, 21]);
    if ('faces' in edited) for (const f of edited.faces) f.descriptor = was.get(f.box[0])!.map((v) => v * 0.9 + 0.05);
    store.storePhotos([edited]);
    const again = store.photoFaces('/p/5.jpg')!;
    store.close();
    expect(again.map((f) => [f.box[0], f.person, f.notPeople])).toEqual([
      [21, null, ['Anna']],
      [121, 'Anna', []],
    ]);
    expect(again.every((f) => !ids.includes(f.id))).toBe(true);
    // The old ids are gone: named as such, with the remedy's hint.
    const err = await nameFaces(dir, [ids[5], ids[0]], 'Anna').catch((e) => e);
    expect(err).toBeInstanceOf(RemedyError);
    expect(err.problem).toBe(`${dir}: no face ${ids[5]} in the photo library`);
    expect(err.hint).toEqual({ case: 'no-face', dir });
    await expect(unnameFaces(dir, [0])).rejects.toThrow(`${dir}: face ids are positive whole numbers, got 0`);
    await expect(nameFaces(dir, [], 'Anna')).rejects.toThrow(`${dir}: no face ids given`);
  });

  it('a merge is the last word: a face taken off a person, named another, then merged into the first is theirs, not "not theirs"', async () => {
    const { dir, ids } = await library('g-merge');
    await nameFaces(dir, [ids[0], ids[1]], 'Yan');
    await unnameFaces(dir, [ids[0]]);
    await nameFaces(dir, [ids[0]], 'Mo');
    expect(libraryFaces(dir).get(ids[0])).toEqual({ person: 'Mo', notPeople: ['Yan'] });
    expect((await renamePerson(dir, 'Mo', 'Yan')).result).toBe('merged');
    expect(libraryFaces(dir).get(ids[0])).toEqual({ person: 'Yan', notPeople: [] });
  });

  it("a photo searched again: the gallery's faces of it follow its named faces to their new boxes, so a face taken off by its new id leaves the gallery too", async () => {
    // The tester's case: a named photo's bytes changed, indexed again (new ids, boxes a pixel
    // off), then unname-faces by the new id said "from S33: 1" while the gallery kept the face
    // and identify went on naming it.
    const { dir } = await library('g-again');
    await nameCluster(dir, 0, 'Ann');
    const store = LibraryStore.open(dir);
    const was = new Map(store.faces({ ids: store.photoFaces('/p/5.jpg')!.map((f) => f.id) }).map((f) => [f.box[0] + 1, f.descriptor]));
    const edited = photo('/p/5.jpg', [121, 21]);
    if ('faces' in edited) for (const f of edited.faces) f.descriptor = was.get(f.box[0])!.map((v) => v * 0.9 + 0.05);
    store.storePhotos([edited]);
    const [left, right] = store.photoFaces('/p/5.jpg')!;
    const fresh = store.faces({ ids: [left.id] })[0].descriptor;
    store.close();
    expect([left.box[0], left.person, right.box[0], right.person]).toEqual([21, 'Ann', 121, 'Ann']);
    expect(await galleryFiles(dir, 'Ann')).toContain('/p/5.jpg@120');
    expect(await unnameFaces(dir, [right.id])).toEqual({ person: null, changed: 1, from: [{ person: 'Ann', faces: 1 }], removed: [] });
    const g = await loadGallery(dir);
    expect(await galleryFiles(dir, 'Ann')).toEqual(['/p/1.jpg@0', '/p/2.jpg@0', '/p/3.jpg@0', '/p/4.jpg@0', '/p/5.jpg@21']);
    // Its descriptor too: the face as the photo is now.
    expect(g.samePhotoAs(fresh)).toMatchObject({ file: '/p/5.jpg', box: [21, 10, 10, 10], person: 'Ann' });
  });

  it('a library photo enrolled by hand is named in the library too, and can be taken off by its id', async () => {
    // The tester's case: enroll --person of a library photo, then unname-faces by its id said
    // "0 faces named nobody" and left the gallery as it was.
    const { dir, ids } = await library('g-enrolled');
    const store = LibraryStore.open(dir, { readonly: true });
    const [face] = store.faces({ ids: [ids[1]] });
    store.close();
    const g = await loadGallery(dir);
    g.addFaces('Bo', [{ file: face.path, box: face.box, score: face.score, descriptor: face.descriptor }]);
    await saveGallery(dir, g);
    expect(await unnameFaces(dir, [ids[1]])).toEqual({ person: null, changed: 1, from: [{ person: 'Bo', faces: 1 }], removed: ['Bo'] });
    expect((await loadGallery(dir)).people()).toEqual([]);
    expect(libraryFaces(dir).get(ids[1])).toEqual({ person: null, notPeople: ['Bo'] });
  });

  it('search leaves out a face taken off the person, by name and by a face of theirs, however alike', async () => {
    // The tester's case: `search --person S33` still gave a face after unname-faces.
    const { dir, ids } = await library('g-search');
    await nameCluster(dir, 0, 'Ann');
    await unnameFaces(dir, [ids[0]]); // 1.jpg's only face
    const g = await loadGallery(dir);
    const store = LibraryStore.open(dir, { readonly: true });
    try {
      const index = openSearchIndex(store, dir, g.normalisation, { readOnly: true });
      const [taken] = store.faces({ ids: [ids[0]] });
      // Every face is Ann's to identify at this threshold, and the face itself is the most alike.
      const byName = searchLibraryForPerson(store, index, g, 'Ann', { threshold: -1 });
      const byFace = searchLibrary(store, index, g, taken.descriptor, { threshold: -1 });
      expect(byFace.person).toBe('Ann');
      for (const r of [byName, byFace]) expect(r.photos.map((p) => p.file).sort()).toEqual(['/p/2.jpg', '/p/3.jpg', '/p/4.jpg', '/p/5.jpg']);
    } finally {
      store.close();
    }
  });

  it('stopped after the gallery was saved and before the library changed: run again, it finishes', async () => {
    const { dir, ids } = await library('g3');
    await nameCluster(dir, 0, 'Ann');
    await unnameFaces(dir, [ids[0]]);
    // As if the library's part had not happened: the face still Ann's there, the gallery without it.
    const db = new Database(join(dir, LIBRARY_FILE));
    db.prepare("UPDATE faces SET person = 'Ann', not_people = NULL WHERE id = ?").run(ids[0]);
    db.close();
    expect(await unnameFaces(dir, [ids[0]])).toEqual({ person: null, changed: 1, from: [{ person: 'Ann', faces: 1 }], removed: [] });
    expect(await galleryFiles(dir, 'Ann')).toHaveLength(5);
    expect(libraryFaces(dir).get(ids[0])).toEqual({ person: null, notPeople: ['Ann'] });
  });

  it('a library from before not_people reads as nobody taken off anyone, and gains the column when written', async () => {
    const { dir, ids } = await library('g4');
    const db = new Database(join(dir, LIBRARY_FILE));
    db.exec('ALTER TABLE faces DROP COLUMN not_people');
    db.close();
    expect(libraryFaces(dir).get(ids[0])).toEqual({ person: null, notPeople: [] });
    await nameCluster(dir, 0, 'Ann');
    await unnameFaces(dir, [ids[0]]);
    expect(libraryFaces(dir).get(ids[0])).toEqual({ person: null, notPeople: ['Ann'] });
  });

  it('the CLI lists a photo\'s faces left to right with their ids, names them, and refuses bad ids in one line', async () => {
    const { dir, ids } = await library('g5');
    await nameCluster(dir, 0, 'Ann');
    const listed = JSON.parse((await cli(['gallery', 'faces', dir, '/p/5.jpg', '--json'])).stdout);
    expect(listed).toEqual([
      {
        file: '/p/5.jpg',
        faces: [
          { id: ids[5], box: [20, 10, 10, 10], score: expect.closeTo(0.9, 6), person: 'Ann', cluster: 0, notPeople: [] },
          { id: ids[4], box: [120, 10, 10, 10], score: expect.closeTo(0.9, 6), person: 'Ann', cluster: 0, notPeople: [] },
        ],
      },
    ]);
    expect((await cli(['gallery', 'unname-faces', dir, String(ids[5])])).stdout.trim()).toBe('1 face named nobody (from Ann: 1)');
    expect((await cli(['gallery', 'faces', dir, '/p/5.jpg'])).stdout.trim().split('\n')).toEqual([
      '/p/5.jpg: 2 faces',
      `  face ${ids[5]}: 10x10 at 20,10, nobody, cluster 0, not Ann`,
      `  face ${ids[4]}: 10x10 at 120,10, Ann, cluster 0`,
    ]);
    expect((await cli(['gallery', 'name', dir, '0', 'Ann'])).stdout.trim()).toBe('cluster 0: 5 faces named Ann, all as before (left as they were: 1 taken off Ann before)');
    expect((await cli(['gallery', 'name-faces', dir, 'Cy', String(ids[0]), String(ids[5])])).stdout.trim()).toBe('2 faces named Cy (from Ann: 1)');
    const bad = await cli(['gallery', 'name-faces', dir, 'Cy', 'x1']).catch((e) => e);
    expect(bad.stderr.trim()).toBe('facegpu: <face-ids> must be an integer, got "x1"');
    const gone = await cli(['gallery', 'unname-faces', dir, '999']).catch((e) => e);
    expect(gone.stderr.trim()).toBe(`facegpu: ${dir}: no face 999 in the photo library (a photo indexed again gets new face ids; see facegpu gallery faces ${dir} <photo>, or the ids on facegpu cluster --sheets)`);
    const stranger = await cli(['gallery', 'faces', dir, '/p/6.jpg']).catch((e) => e);
    expect(stranger.stderr.trim()).toBe(`facegpu: /p/6.jpg: not a photo of the library in ${dir} (index its folder first: facegpu index <photos> --gallery ${dir})`);
    // A photo that could not be read when indexed: said so, not "0 faces".
    const store = LibraryStore.open(dir);
    store.storePhotos([{ path: '/p/bad.jpg', size: 1, mtimeMs: 1, sha256: 'b'.repeat(64), error: '/p/bad.jpg: cannot decode image (premature end of JPEG image)' }]);
    store.close();
    expect((await cli(['gallery', 'faces', dir, '/p/bad.jpg'])).stdout.trim()).toBe('/p/bad.jpg: not read when indexed: cannot decode image (premature end of JPEG image); indexed again once its bytes change');
    expect(JSON.parse((await cli(['gallery', 'faces', dir, '/p/bad.jpg', '--json'])).stdout)).toEqual([{ file: '/p/bad.jpg', faces: [], error: '/p/bad.jpg: cannot decode image (premature end of JPEG image)' }]);
    const folder = await cli(['gallery', 'faces', dir, tmp]).catch((e) => e);
    expect(folder.stderr.trim()).toBe(`facegpu: ${tmp}: a folder; give its photos (facegpu gallery faces ${dir} <photo>...)`);
    // A person named "unknown" reads as nobody in identify's text: warned of, as enroll warns.
    const unknown = await cli(['gallery', 'rename', dir, 'Cy', 'Unknown']);
    expect(unknown.stderr).toContain('facegpu: warning: a person named "Unknown": identify prints "unknown" for a face it cannot name');
  }, 120_000);
});

describe("removing a person's faces photo by photo", () => {
  it('enrolled faces and library faces alike; a photo of none of theirs is refused before anything changes', async () => {
    const { dir, ids } = await library('r1');
    await nameCluster(dir, 0, 'Ann');
    const g = await loadGallery(dir);
    g.addFaces('Ann', [
      { file: 'ann1.jpg', box: [1, 2, 30, 30], score: 0.9, descriptor: gaussian(prng, new Float32Array(DIM)) },
      { file: 'ann2.jpg', box: [1, 2, 30, 30], score: 0.9, descriptor: gaussian(prng, new Float32Array(DIM)) },
    ]);
    await saveGallery(dir, g);
    // An enrolled photo, named as it was enrolled (relative).
    expect(await removePersonPhotos(dir, 'Ann', ['ann1.jpg'])).toEqual({ person: 'Ann', faces: 1, libraryFaces: 0, left: 7 });
    // A library photo: both its faces leave Ann, and stay off her.
    expect(await removePersonPhotos(dir, 'Ann', ['/p/5.jpg'])).toEqual({ person: 'Ann', faces: 2, libraryFaces: 2, left: 5 });
    expect(libraryFaces(dir).get(ids[4])).toEqual({ person: null, notPeople: ['Ann'] });
    expect((await nameCluster(dir, 0, 'Ann')).notThem).toBe(2);

    const err = await removePersonPhotos(dir, 'Ann', ['/p/1.jpg', '/p/5.jpg', 'nobody.jpg']).catch((e) => e);
    expect(err).toBeInstanceOf(RemedyError);
    expect(err.problem).toBe(`${dir}: Ann has no face from /p/5.jpg, nobody.jpg`);
    expect(err.hint).toEqual({ case: 'no-photo', dir, person: 'Ann' });
    expect(await galleryFiles(dir, 'Ann')).toHaveLength(5); // /p/1.jpg too: nothing changed
    await expect(removePersonPhotos(dir, 'Bob', ['/p/1.jpg'])).rejects.toThrow(`${dir}: no person named "Bob"`);

    // The CLI: a person's faces with their library ids, then the last ones removed.
    const listed = JSON.parse((await cli(['gallery', 'list', dir, 'Ann', '--json'])).stdout);
    expect(listed.map((f: { file: string; libraryFace: number | null }) => [f.file, f.libraryFace])).toEqual([
      ['/p/1.jpg', ids[0]],
      ['/p/2.jpg', ids[1]],
      ['/p/3.jpg', ids[2]],
      ['/p/4.jpg', ids[3]],
      ['ann2.jpg', null],
    ]);
    expect((await cli(['gallery', 'list', dir, 'Ann'])).stdout.split('\n').slice(0, 2)).toEqual(['Ann: 5 faces from 5 photos', `  /p/1.jpg: 10x10 at 0,10 (photo library face ${ids[0]})`]);
    expect((await cli(['gallery', 'remove', dir, 'Ann', '--photo', '/p/1.jpg', '/p/2.jpg'])).stdout.trim()).toBe('Ann: 2 faces removed; 2 faces of the photo library taken off Ann; 3 faces left');
    const last = JSON.parse((await cli(['gallery', 'remove', dir, 'Ann', '--photo', '/p/3.jpg', '/p/4.jpg', 'ann2.jpg', '--json'])).stdout);
    expect(last).toEqual({ person: 'Ann', faces: 3, libraryFaces: 2, left: 0 });
    expect((await loadGallery(dir)).people()).toEqual([]);
    const gone = await cli(['gallery', 'list', dir, 'Ann']).catch((e) => e);
    expect(gone.stderr.trim()).toBe(`facegpu: ${dir}: no person named "Ann" (see facegpu gallery list ${dir})`);
  }, 120_000);
});

describe('a run stopped between the gallery and the library, run again', () => {
  it('gallery remove <person>: stopped after the gallery was saved, the library still naming them: run again, it finishes', async () => {
    const { dir } = await library('g-remove-half');
    expect((await nameCluster(dir, 0, 'Ann')).named).toBe(6);
    // As a run killed between its two steps leaves it: Ann gone from the gallery, not the library.
    const gallery = await loadGallery(dir);
    gallery.removePerson('Ann');
    await saveGallery(dir, gallery);
    expect([...libraryFaces(dir).values()].filter((f) => f.person === 'Ann')).toHaveLength(6);
    await removePerson(dir, 'Ann');
    expect([...libraryFaces(dir).values()].filter((f) => f.person === 'Ann')).toHaveLength(0);
    // Nobody of that name anywhere now: said.
    await expect(removePerson(dir, 'Ann')).rejects.toThrow(`${dir}: no person named "Ann"`);
  });

  it('a library command finds the library of a gallery folder a writer left set aside (killed between its renames)', async () => {
    const { dir } = await library('g-set-aside');
    const dead = 2 ** 22 + 1; // above Linux's pid_max default: no such process
    renameSync(dir, join(tmp, `.g-set-aside.old-${dead}-${Date.now()}-0`));
    await checkLibrary(dir);
    expect(LibraryStore.exists(dir)).toBe(true);
    // A folder without one is told so.
    const none = join(tmp, 'g-no-library');
    await saveGallery(none, Gallery.create({ name: none, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex }));
    await expect(checkLibrary(none)).rejects.toThrow(`${none}: no photo library here (index photos first: facegpu index <photos> --gallery ${none})`);
  });
});

describe('contact sheets for naming faces one by one', () => {
  it('--sheet-faces: more faces than a sheet holds go on more sheets, each captioned; a photo that cannot be read is a blank tile', async () => {
    const dir = join(tmp, 'sheets-lib');
    await saveGallery(dir, Gallery.create({ name: dir, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex }));
    const store = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    const face = join(tmp, 'face.png');
    await sharp({ create: { width: 60, height: 60, channels: 3, background: '#c8c8c8' } }).png().toFile(face);
    // 100 faces: 99 in photos that are gone, one in a photo that is there.
    store.storePhotos([photo(face, [20]), ...Array.from({ length: 99 }, (_, i) => photo(`/gone/${i}.jpg`, [0]))]);
    const ids = store.faceEntries().map((f) => f.id);
    store.setClusters(new Map([[0, ids]]));
    store.close();
    const cluster = { id: 0, faces: 100, photos: 100, person: null, nearest: null, examples: [] };
    const out = join(tmp, 'sheets');
    await writeClusterSheets(dir, [cluster], out, { faces: Infinity });
    expect(readdirSync(out).sort()).toEqual(['.facegpu-sheets', 'cluster-0-2.jpg', 'cluster-0.jpg']);
    const size = async (f: string) => {
      const m = await sharp(join(out, f)).metadata();
      return [m.width, m.height];
    };
    expect(await size('cluster-0.jpg')).toEqual([6 * 134 + 6, 34 + (SHEET_PAGE / 6) * 134 + 6]);
    expect(await size('cluster-0-2.jpg')).toEqual([4 * 134 + 6 < 480 ? 480 : 4 * 134 + 6, 34 + 134 + 6]);
    // The face that could be read is first (all scores tie: lowest id first), grey; the others blank.
    const { data, info } = await sharp(join(out, 'cluster-0.jpg')).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => data[(y * info.width + x) * 3];
    expect(px(6 + 64, 34 + 40)).toBeGreaterThan(150);
    expect(px(6 + 134 + 64, 34 + 40)).toBeLessThan(30);
    await writeClusterSheets(dir, [cluster], out);
    expect(readdirSync(out).sort()).toEqual(['.facegpu-sheets', 'cluster-0.jpg']);
    expect(await size('cluster-0.jpg')).toEqual([6 * 134 + 6, 34 + 2 * 134 + 6]);
    await expect(writeClusterSheets(dir, [cluster], out, { faces: 0 })).rejects.toThrow('faces per sheet must be at least 1, got 0');
    const bad = await cli(['cluster', join(tmp, 'nowhere'), '--sheet-faces', '0']).catch((e) => e);
    expect(bad.stderr.trim()).toBe('facegpu: --sheet-faces must be a positive integer or "all", got "0"');
  }, 120_000);
});

describe('person names', () => {
  it('are kept composed and trimmed: a decomposed José (a Mac folder name) and a typed " José " are one person, found by either', async () => {
    const { dir, ids } = await library('g-nfc');
    const [nfd, nfc] = ['Jose\u0301', 'Jos\u00e9'];
    await nameFaces(dir, [ids[0]], nfd);
    await nameFaces(dir, [ids[1]], ` ${nfc} `);
    expect((await loadGallery(dir)).people().map((p) => [p.name, p.faces])).toEqual([[nfc, 2]]);
    expect([...libraryFaces(dir).values()].filter((f) => f.person).map((f) => f.person)).toEqual([nfc, nfc]);
    expect(await renamePerson(dir, nfd, ' Pepe')).toMatchObject({ to: 'Pepe', faces: 2, libraryFaces: 2 });
    expect((await removePersonPhotos(dir, 'Pepe ', ['/p/1.jpg'])).left).toBe(1);
    expect(personName(' Ana  ')).toBe('Ana');
    expect(() => personName(' \u00a0 ')).toThrow('person name " \u00a0 ": must be 1-200 printable characters');
  });
});

describe('photos moved', () => {
  it('a photo moved or renamed keeps its names and corrections without GPU work, and the gallery follows it; a copy is named too, not enrolled twice', async () => {
    const root = join(tmp, 'moving');
    mkdirSync(join(root, 'a'), { recursive: true });
    const files = ['1.jpg', '2.jpg', '3.jpg'].map((f) => join(root, 'a', f));
    for (const [i, f] of files.entries()) await sharp({ create: { width: 60, height: 40, channels: 3, background: { r: 40 * i, g: 90, b: 120 } } }).jpeg().toFile(f);
    const dir = join(tmp, 'g-moving');
    await saveGallery(dir, Gallery.create({ name: dir, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex }));
    const store = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    const stamp = async (path: string) => ({ path, size: statSync(path).size, mtimeMs: statSync(path).mtimeMs, sha256: await sha256File(path) });
    store.storePhotos(await Promise.all(files.map(async (f, i) => ({ ...(await stamp(f)), width: 60, height: 40, faces: [{ box: [5, 5, 20, 20] as [number, number, number, number], score: 0.9, descriptor: gaussian(prng, new Float32Array(DIM)) }, ...(i === 0 ? [{ box: [30, 5, 20, 20] as [number, number, number, number], score: 0.9, descriptor: gaussian(prng, new Float32Array(DIM)) }] : [])] }))));
    const ids = store.faceEntries().map((f) => f.id); // 1.jpg: two faces; 2.jpg, 3.jpg: one each
    store.close();
    await nameFaces(dir, ids, 'Ann');
    await unnameFaces(dir, [ids[1]]); // 1.jpg's second face is not Ann

    // 1.jpg renamed, 2.jpg moved to another folder, 3.jpg copied.
    mkdirSync(join(root, 'b'));
    renameSync(files[0], join(root, 'a', 'one.jpg'));
    renameSync(files[1], join(root, 'b', '2.jpg'));
    copyFileSync(files[2], join(root, 'b', 'copy.jpg'));
    const r = await indexLibrary(root, dir);
    expect(r).toMatchObject({ new: 3, copied: 3, removed: 2, changed: 0, embedded: 0, failed: [] });

    const after = LibraryStore.open(dir, { readonly: true });
    const faces = after.faceEntries().map((f) => [f.path.slice(root.length + 1), f.box[0], f.person, f.notPeople]);
    after.close();
    expect(faces.sort()).toEqual([
      ['a/3.jpg', 5, 'Ann', []],
      ['a/one.jpg', 30, null, ['Ann']],
      ['a/one.jpg', 5, 'Ann', []],
      ['b/2.jpg', 5, 'Ann', []],
      ['b/copy.jpg', 5, 'Ann', []],
    ]);
    // The gallery's faces are at the photos' new paths; the copy is not enrolled a second time.
    expect(await galleryFiles(dir, 'Ann')).toEqual([`${join(root, 'a', '3.jpg')}@5`, `${join(root, 'a', 'one.jpg')}@5`, `${join(root, 'b', '2.jpg')}@5`]);
    expect(libraryGalleryStats(dir, await loadGallery(dir))).toMatchObject({ photos: 4, faces: 5, people: 1, unlabelled: 1 });
    // Still one face: taken off Ann at its new path, it leaves the gallery too.
    const reader = LibraryStore.open(dir, { readonly: true });
    const moved = reader.photoFaces(join(root, 'b', '2.jpg'))!;
    reader.close();
    await unnameFaces(dir, [moved[0].id]);
    expect(await galleryFiles(dir, 'Ann')).toEqual([`${join(root, 'a', '3.jpg')}@5`, `${join(root, 'a', 'one.jpg')}@5`]);

    // Indexed through a link to the tree: the same photos, not four more.
    const link = join(tmp, 'moving-link');
    symlinkSync(root, link);
    expect(await indexLibrary(link, dir)).toMatchObject({ photos: 4, new: 0, removed: 0, changed: 0, skipped: 4 });
  });

  it("a tree's folder renamed and indexed under its new name: its photos move (the old paths leave the library, the gallery follows); a folder gone is refused while the library has photos in it, and allowed, they go", async () => {
    // The tester's case: `mv lib3 lib3moved`, indexed again: the old paths stayed (search gave
    // every photo twice), the gallery's faces stayed at them, and `index lib3 --allow-empty`
    // answered "no such folder".
    const before = join(tmp, 'tree-before');
    mkdirSync(before);
    const files = ['1.jpg', '2.jpg'].map((f) => join(before, f));
    for (const [i, f] of files.entries()) await sharp({ create: { width: 60, height: 40, channels: 3, background: { r: 90 * i, g: 30, b: 200 } } }).jpeg().toFile(f);
    const dir = join(tmp, 'g-tree');
    await saveGallery(dir, Gallery.create({ name: dir, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex }));
    const store = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    store.storePhotos(await Promise.all(files.map(async (f) => ({ path: f, size: statSync(f).size, mtimeMs: statSync(f).mtimeMs, sha256: await sha256File(f), width: 60, height: 40, faces: [{ box: [5, 5, 20, 20] as [number, number, number, number], score: 0.9, descriptor: gaussian(prng, new Float32Array(DIM)) }] }))));
    const ids = store.faceEntries().map((f) => f.id);
    store.close();
    await nameFaces(dir, ids, 'Ann');
    const after = join(tmp, 'tree-after');
    renameSync(before, after);
    expect(await indexLibrary(after, dir)).toMatchObject({ photos: 2, new: 2, copied: 2, removed: 2, embedded: 0 });
    const paths = () => {
      const s = LibraryStore.open(dir, { readonly: true });
      try {
        return s.photos().map((p) => p.path).sort();
      } finally {
        s.close();
      }
    };
    expect(paths()).toEqual([join(after, '1.jpg'), join(after, '2.jpg')]);
    expect(await galleryFiles(dir, 'Ann')).toEqual([`${join(after, '1.jpg')}@5`, `${join(after, '2.jpg')}@5`]);
    // 1.jpg searched again by a run stopped before it saved the gallery (its face a pixel off,
    // described alike): the next run, with nothing to do, brings the gallery's face along.
    const again = LibraryStore.open(dir);
    const [old] = again.faces({ ids: again.photoFaces(join(after, '1.jpg'))!.map((f) => f.id) });
    const f1 = join(after, '1.jpg');
    again.storePhotos([{ path: f1, size: statSync(f1).size, mtimeMs: statSync(f1).mtimeMs, sha256: await sha256File(f1), width: 60, height: 40, faces: [{ box: [6, 5, 20, 20], score: 0.9, descriptor: old.descriptor }] }]);
    again.close();
    expect(await indexLibrary(after, dir)).toMatchObject({ new: 0, changed: 0, embedded: 0 });
    expect(await galleryFiles(dir, 'Ann')).toEqual([`${join(after, '1.jpg')}@6`, `${join(after, '2.jpg')}@5`]);
    // Another backbone asked of a gallery that has one: said, not taken silently.
    const warned: string[] = [];
    await indexLibrary(after, dir, { backbone: 'mobilenet', onWarning: (m) => void warned.push(m) });
    await indexLibrary(after, dir, { backbone: 'face', onWarning: (m) => void warned.push(m) });
    expect(warned).toEqual([`backbone "mobilenet" not used: ${dir} holds descriptors of backbone "face", which it goes on with`]);
    // The old folder holds nothing of the library now: an error of its own.
    await expect(indexLibrary(before, dir)).rejects.toThrow(`${before}: no such folder`);
    // The new one deleted: refused, the remedy given; allowed, its photos go.
    rmSync(after, { recursive: true });
    const refused = await cli(['index', after, '--gallery', dir]).catch((e) => e);
    expect([refused.code, refused.stderr.trim()]).toEqual([1, `facegpu: ${after}: no such folder, where the library has 2 photos: nothing removed (is its drive mounted?); if they were deleted, remove them from the library with facegpu index ${after} --gallery ${dir} --allow-empty`]);
    expect(paths()).toHaveLength(2);
    expect(await indexLibrary(after, dir, { allowEmpty: true })).toMatchObject({ photos: 0, removed: 2 });
    expect(paths()).toEqual([]);
    // A gallery that does not exist is not made for a folder that does not either.
    await expect(indexLibrary(after, join(tmp, 'g-none'))).rejects.toThrow(`${after}: no such folder`);
    expect(statSync(join(tmp, 'g-none'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('a tree with no photo left (its drive not mounted) removes nothing, said in one line; allowed, it removes them', async () => {
    const root = join(tmp, 'mount');
    mkdirSync(root);
    const file = join(root, 'a.jpg');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#456' } }).jpeg().toFile(file);
    const dir = join(tmp, 'g-mount');
    await saveGallery(dir, Gallery.create({ name: dir, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex }));
    const store = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    store.storePhotos([{ path: file, size: statSync(file).size, mtimeMs: statSync(file).mtimeMs, sha256: await sha256File(file), width: 8, height: 8, faces: [] }]);
    store.close();
    rmSync(file);
    const refused = await cli(['index', root, '--gallery', dir]).catch((e) => e);
    expect([refused.code, refused.stderr.trim()]).toEqual([1, `facegpu: ${root}: no photo under it, where the library has 1 photo: nothing removed (is its drive mounted?); if they were deleted, remove them from the library with facegpu index ${root} --gallery ${dir} --allow-empty`]);
    const photos = () => {
      const s = LibraryStore.open(dir, { readonly: true });
      try {
        return s.photos().length;
      } finally {
        s.close();
      }
    };
    expect(photos()).toBe(1);
    expect(await indexLibrary(root, dir, { allowEmpty: true })).toMatchObject({ photos: 0, removed: 1 });
    expect(photos()).toBe(0);
  });

  it('a photo refused for its size is read again by a run that allows more; other failures wait for new bytes', async () => {
    const root = join(tmp, 'limits');
    mkdirSync(root);
    const [big, bad] = [join(root, 'big.jpg'), join(root, 'bad.jpg')];
    for (const f of [big, bad]) await sharp({ create: { width: 100, height: 100, channels: 3, background: '#345' } }).jpeg().toFile(f);
    const dir = join(tmp, 'g-limits');
    await saveGallery(dir, Gallery.create({ name: dir, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex }));
    const store = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      const failed = async (path: string, error: string) => ({ path, size: statSync(path).size, mtimeMs: statSync(path).mtimeMs, sha256: await sha256File(path), error });
      store.storePhotos([
        await failed(big, `${big}: the JPEG is 100x100 pixels (10000), above the limit of 5000; raise it with --max-pixels (or FACEGPU_MAX_PIXELS) if the image is real`),
        await failed(bad, `${bad}: cannot decode image (premature end of JPEG image)`),
      ]);
      const plan = async (maxPixels: number) => {
        const p = await scanLibrary(root, store, { maxPixels });
        return { changed: p.changed.map((f) => f.path), failing: p.failing.map((f) => f.path) };
      };
      expect(await plan(5000)).toEqual({ changed: [], failing: [bad, big] });
      expect(await plan(20000)).toEqual({ changed: [big], failing: [bad] });
    } finally {
      store.close();
    }
  });

  it('many photos failing for one reason are one warning line, a few are one each', async () => {
    const root = join(tmp, 'broken');
    mkdirSync(root);
    for (const n of [1, 2, 3, 4, 5]) writeFileSync(join(root, `${n}.jpg`), 'not a JPEG');
    const r = await cli(['index', root, '--gallery', join(tmp, 'g-broken'), '--no-progress']).catch((e) => e);
    expect(r.code).toBe(2);
    const warnings = r.stderr.split('\n').filter((l: string) => l.startsWith('facegpu: warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^facegpu: warning: 5 photos \\(${join(root, '1.jpg')}, ${join(root, '2.jpg')}, ${join(root, '3.jpg')}, and 2 more\\): `));
  }, 120_000);

  it("contact sheets made inside the photo tree are not the library's photos", async () => {
    const root = join(tmp, 'with-sheets');
    mkdirSync(join(root, 'sheets'), { recursive: true });
    for (const f of ['a.jpg', join('sheets', 'cluster-1.jpg')]) await sharp({ create: { width: 8, height: 8, channels: 3, background: '#777' } }).jpeg().toFile(join(root, f));
    const dir = join(tmp, 'g-with-sheets');
    await saveGallery(dir, Gallery.create({ name: dir, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex }));
    const store = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      // A folder of that name is photos until cluster --sheets marks it as its own.
      expect((await scanLibrary(root, store)).added.map((f) => f.path.slice(root.length + 1))).toEqual(['a.jpg', 'sheets/cluster-1.jpg']);
      writeFileSync(join(root, 'sheets', SHEETS_MARK), '');
      expect((await scanLibrary(root, store)).added.map((f) => f.path.slice(root.length + 1))).toEqual(['a.jpg']);
    } finally {
      store.close();
    }
  });
});
