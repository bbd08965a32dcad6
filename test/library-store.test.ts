// The photo library's store without a GPU: storing a photo again replaces its faces, copies
// and removals, the search index caught up incrementally (and after a crash left its
// bookkeeping behind), a search-only open mapping an up-to-date file in place, a library of
// another backbone refused, the queue's wire format checked, and the gallery's whole-folder
// saves carrying the library's files along.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gallery } from '../src/gallery/gallery.ts';
import { defaultNodeIndex } from '../src/gallery/index-node.ts';
import { loadGallery, saveGallery } from '../src/gallery/store-node.ts';
import { fromWire, toWire, type PhotoFaces } from '../src/library/photo-faces.ts';
import { openSearchIndex, SEARCH_INDEX_FILE } from '../src/library/search-index-node.ts';
import type { UsearchIndex } from '../src/gallery/usearch-index-node.ts';
import type { VectorIndex } from '../src/gallery/vector-index.ts';
import { normalise } from '../src/gallery/normalise.ts';
import { LIBRARY_FILE, LibraryStore } from '../src/library/store-node.ts';
import { scanLibrary } from '../src/library/scan-node.ts';
import { createHash } from 'node:crypto';
import { Prng } from '../src/train/prng.ts';
import { gaussian } from '../src/gallery/synthetic.ts';
import { facesStoredTwice } from './helpers/library-checks.ts';

const DIM = 16;
const backbone = { id: 'face', sha256: 'a'.repeat(64) };
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-libstore-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const prng = new Prng(7);
const photo = (path: string, faces: number, sha = path): PhotoFaces => ({
  path,
  size: 100,
  mtimeMs: 1,
  sha256: sha.padEnd(64, '0'),
  width: 100,
  height: 100,
  faces: Array.from({ length: faces }, (_, i) => ({ box: [i, i, 10, 10], score: 0.9, descriptor: gaussian(prng, new Float32Array(DIM)) })),
});

describe('LibraryStore', () => {
  it('storing a photo again replaces its faces; copies and removals keep the counts exact', () => {
    const dir = join(tmp, 'g1');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      s.storePhotos([photo('/p/a.jpg', 2), photo('/p/b.jpg', 1), { path: '/p/bad.jpg', size: 3, mtimeMs: 1, sha256: 'b'.repeat(64), error: '/p/bad.jpg: not an image' }]);
      expect(s.counts()).toMatchObject({ photos: 3, failed: 1, faces: 3, unlabelled: 3 });
      s.storePhotos([photo('/p/a.jpg', 1)]); // a retried batch: replaced, not added
      expect(s.counts()).toMatchObject({ photos: 3, faces: 2 });
      const a = s.photos().find((p) => p.path === '/p/a.jpg')!;
      expect(s.copyPhoto(a, { path: '/p/moved.jpg', size: 100, mtimeMs: 2, sha256: a.sha256 })).toBe(1);
      expect(s.counts().faces).toBe(3);
      expect(s.removePhotos([a.id])).toBe(1);
      expect(s.counts()).toMatchObject({ photos: 3, faces: 2 });
      expect(s.photoWithHash(a.sha256)?.path).toBe('/p/moved.jpg');
    } finally {
      s.close();
    }
  });

  it('faces({ ids }): in the order asked, an id asked twice twice, missing ids left out, past SQLite\'s variable limit', () => {
    const dir = join(tmp, 'g-ids');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      // 1,200 faces over 400 photos: more than one chunk of ids.
      s.storePhotos(Array.from({ length: 400 }, (_, i) => photo(`/ids/${i}.jpg`, 3)));
      const all = s.faces();
      expect(all.length).toBe(1200);
      const byId = new Map(all.map((f) => [f.id, f]));
      const stored = all.map((f) => f.id);
      const missing = [0, -5, stored[stored.length - 1] + 1, 10_000_000];
      // Shuffled, with missing ids and repeats in between.
      const order = new Prng(11).shuffled(stored);
      const asked = [missing[0], ...order.slice(0, 600), missing[1], order[3], ...order.slice(600), missing[2], order[0], missing[3]];
      const got = s.faces({ ids: asked });
      const expected = asked.filter((id) => byId.has(id));
      expect(got.map((f) => f.id)).toEqual(expected);
      for (const f of got) {
        const want = byId.get(f.id)!;
        expect(f.path).toBe(want.path);
        expect(f.box).toEqual(want.box);
        expect(Array.from(f.descriptor)).toEqual(Array.from(want.descriptor));
      }
      expect(s.faces({ ids: [] })).toEqual([]);
      expect(s.faces({ ids: missing })).toEqual([]);
      // 70,000 ids asked at once (more than SQLite binds in one statement), nearly all missing.
      const many = Array.from({ length: 70_000 }, (_, i) => 70_000 - i);
      expect(s.faces({ ids: many }).map((f) => f.id)).toEqual(many.filter((id) => byId.has(id)));
    } finally {
      s.close();
    }
  });

  it('faceEntries + descriptorsOf: the same faces as faces(), descriptors row by row; a library changed in between is named', () => {
    const dir = join(tmp, 'g-stream');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      s.storePhotos(Array.from({ length: 30 }, (_, i) => photo(`/stream/${i}.jpg`, 2)));
      s.storePhotos([photo('/stream/3.jpg', 1)]); // stored again: ids are not contiguous
      const all = s.faces();
      const entries = s.faceEntries();
      expect(entries).toEqual(all.map(({ descriptor: _, ...e }) => e));
      const got: Float32Array[] = [];
      s.descriptorsOf(entries, (row, d) => (got[row] = d));
      expect(got.map((d) => Array.from(d))).toEqual(all.map((f) => Array.from(f.descriptor)));
      // Another writer between the two reads: one face more, one face fewer.
      s.storePhotos([photo('/stream/new.jpg', 1)]);
      expect(() => s.descriptorsOf(entries, () => {})).toThrow(/library\.sqlite: the library changed while it was read \(face \d+\)/);
      expect(() => s.descriptorsOf(s.faceEntries().slice(0, -1), () => {})).toThrow(/changed while it was read/);
      expect(() => s.descriptorsOf([...s.faceEntries(), { id: 1e9 }], () => {})).toThrow(/changed while it was read \(1 faces gone\)/);
    } finally {
      s.close();
    }
  });

  it('a damaged descriptor (not numbers, the wrong length) is named with its face and the file, wherever it is read', () => {
    const dir = join(tmp, 'g-damaged');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    s.storePhotos([photo('/damaged/1.jpg', 2)]);
    const [a, b] = s.faceEntries().map((f) => f.id);
    s.close();
    const db = new Database(join(dir, LIBRARY_FILE));
    const nan = new Float32Array(DIM).fill(0.5);
    nan[3] = NaN;
    db.prepare('UPDATE faces SET descriptor = ? WHERE id = ?').run(Buffer.from(nan.buffer), a);
    db.prepare('UPDATE faces SET descriptor = ? WHERE id = ?').run(Buffer.alloc(10), b);
    db.close();
    const r = LibraryStore.open(dir, { readonly: true });
    try {
      const file = join(dir, LIBRARY_FILE);
      const told = (id: number, why: string) => `${file}: face ${id}: its descriptor is damaged (${why}); the library file is damaged: restore it from a backup, or index the photos into a new gallery folder`;
      expect(() => r.descriptorsOf(r.faceEntries(), () => {})).toThrow(told(a, 'value 3 is NaN'));
      expect(() => r.faces({ ids: [b] })).toThrow(told(b, `10 bytes, not ${DIM * 4}`));
      expect(() => [...r.descriptors(a)]).toThrow(told(b, `10 bytes, not ${DIM * 4}`));
    } finally {
      r.close();
    }
  });

  it('a writer killed mid-change (a hot journal left): read-only opens roll it back and read the library as it was', () => {
    const dir = join(tmp, 'g-hot');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    s.storePhotos(Array.from({ length: 40 }, (_, i) => photo(`/hot/${i}.jpg`, 1)));
    const before = s.faceEntries();
    s.close();
    const file = join(dir, LIBRARY_FILE);
    // A writer changing every face, killed before it commits (a small cache: pages reach the file).
    const killed = spawnSync(
      process.execPath,
      ['-e', `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(file)}); d.pragma('cache_size = 1'); d.exec('BEGIN IMMEDIATE'); d.exec("UPDATE faces SET person = 'Zed'"); d.exec("INSERT INTO meta (key, value) VALUES ('pad', hex(randomblob(300000)))"); process.kill(process.pid, 'SIGKILL');`],
      { cwd: join(import.meta.dirname, '..') },
    );
    expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
    expect(existsSync(`${file}-journal`)).toBe(true);
    const r = LibraryStore.open(dir, { readonly: true });
    try {
      expect(r.faceEntries()).toEqual(before);
    } finally {
      r.close();
    }
    expect(existsSync(`${file}-journal`)).toBe(false);
  });

  // A read-only place needs a mount: only where the tests run as root (root writes anywhere else).
  it.skipIf(process.getuid?.() !== 0)('a library that cannot be written is told by checkWritable (index calls it before the GPU work), naming the file', () => {
    const mnt = join(tmp, 'ro-mount');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    } catch {
      return; // no mounts allowed here (a container without the capability)
    }
    try {
      const s = LibraryStore.open(mnt, { create: { dim: DIM, backbone } });
      s.storePhotos([photo('/ro/1.jpg', 1)]);
      s.checkWritable(); // writable: nothing to say, nothing left behind
      expect(s.getMeta('write-check')).toBeNull();
      s.close();
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const r = LibraryStore.open(mnt);
      try {
        expect(() => r.checkWritable()).toThrow(new RegExp(`^${join(mnt, LIBRARY_FILE).replace(/[.]/g, '\\.')}: cannot store in the photo library: it cannot be written \\(read-only\\) \\(SQLITE_READONLY`));
        expect(r.faceEntries()).toHaveLength(1); // read as before
      } finally {
        r.close();
      }
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it("the tests' check for a face stored twice finds one, and none after a photo is stored again", () => {
    const dir = join(tmp, 'g-twice');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    const twice = photo('/t/a.jpg', 2);
    if ('faces' in twice) twice.faces[1].box = [...twice.faces[0].box];
    try {
      s.storePhotos([photo('/t/a.jpg', 2), photo('/t/b.jpg', 3)]);
      s.storePhotos([photo('/t/a.jpg', 2)]); // stored again: replaced
    } finally {
      s.close();
    }
    const db = new Database(join(dir, LIBRARY_FILE), { readonly: true });
    try {
      expect(facesStoredTwice(db)).toBe(0);
    } finally {
      db.close();
    }
    const s2 = LibraryStore.open(dir);
    try {
      s2.storePhotos([twice]); // two faces of one photo with one box: what a batch stored twice leaves
    } finally {
      s2.close();
    }
    const db2 = new Database(join(dir, LIBRARY_FILE), { readonly: true });
    try {
      expect(facesStoredTwice(db2)).toBe(1);
    } finally {
      db2.close();
    }
  });

  it('a full disk: one line naming the file, the batch rolled back, the batches before it kept', () => {
    const dir = join(tmp, 'full');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      s.storePhotos([photo('/p/kept.jpg', 1)]);
      // SQLite's own ceiling on the file's pages: past it a write fails as on a full disk.
      const db = (s as unknown as { db: Database.Database }).db;
      db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 1}`);
      const many = Array.from({ length: 200 }, (_, i) => photo(`/p/${i}.jpg`, 3));
      expect(() => s.storePhotos(many)).toThrow(
        `${join(dir, LIBRARY_FILE)}: cannot store in the photo library: the disk is full (SQLITE_FULL); what was stored before is kept, so run again once that is fixed`,
      );
      expect(s.counts()).toMatchObject({ photos: 1, faces: 1 });
      db.pragma('max_page_count = 1073741823');
      s.storePhotos(many);
      expect(s.counts()).toMatchObject({ photos: 201, faces: 601 });
    } finally {
      s.close();
    }
  });

  it('a photo stored again keeps the names and clusters of faces where they were; a library from before min_face opens with 0', () => {
    const dir = join(tmp, 'names-kept');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      s.storePhotos([photo('/n/a.jpg', 2)]);
      const [f0, f1] = s.faces();
      s.namePerson([f0.id], 'Ann');
      // Searched again: the first face moved a little, the second is gone, a third is new.
      const again = photo('/n/a.jpg', 0);
      if ('faces' in again) {
        again.faces.push({ box: [1, 0, 10, 10], score: 0.9, descriptor: f0.descriptor });
        again.faces.push({ box: [60, 60, 10, 10], score: 0.9, descriptor: f1.descriptor });
      }
      s.storePhotos([again], { minFace: 80 });
      expect(s.faces().map((f) => [f.box[0], f.person])).toEqual([
        [1, 'Ann'],
        [60, null],
      ]);
      expect(s.photos().map((p) => p.minFace)).toEqual([80]);
    } finally {
      s.close();
    }
    const db = new Database(join(dir, LIBRARY_FILE));
    db.exec('ALTER TABLE photos DROP COLUMN min_face');
    db.close();
    const old = LibraryStore.open(dir);
    try {
      expect(old.photos().map((p) => [p.path, p.minFace])).toEqual([['/n/a.jpg', 0]]);
    } finally {
      old.close();
    }
  });

  it('a face keeps its name by its descriptor, not its box: found elsewhere (the photo turned) it keeps it, a stranger where it was does not take it', () => {
    const dir = join(tmp, 'names-by-face');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      s.storePhotos([photo('/n/b.jpg', 2), photo('/n/c.jpg', 1)]);
      const [b0, b1, c0] = s.faces();
      s.namePerson([b0.id, b1.id], 'Ann');
      s.namePerson([c0.id], 'Cy');
      s.unnameFaces([b1.id]); // b's second face is not Ann
      const near = (d: Float32Array, by: number) => d.map((v, i) => v + by * (i % 2 ? 1 : -1) * 0.3);
      const stranger = (d: Float32Array) => d.map((v) => -v);
      // b turned a quarter by its EXIF Orientation: its faces found far from where they were, a little otherwise.
      // c replaced by another photo under the same name: a stranger exactly where Cy was.
      const b = photo('/n/b.jpg', 0);
      const c = photo('/n/c.jpg', 0);
      if ('faces' in b && 'faces' in c) {
        b.faces.push({ box: [80, 40, 10, 10], score: 0.9, descriptor: near(b1.descriptor, 1) }, { box: [80, 70, 10, 10], score: 0.9, descriptor: near(b0.descriptor, -1) });
        c.faces.push({ box: c0.box, score: 0.9, descriptor: stranger(c0.descriptor) });
      }
      s.storePhotos([b, c]);
      expect(s.faces().map((f) => [f.path, f.box[1], f.person, f.notPeople])).toEqual([
        ['/n/b.jpg', 40, null, ['Ann']],
        ['/n/b.jpg', 70, 'Ann', []],
        ['/n/c.jpg', 0, null, []],
      ]);
    } finally {
      s.close();
    }
  });

  it("a new path with stored bytes takes their faces where the run would search them alike (another minFace, no tiles either way), and is searched where tiles differ", async () => {
    const dir = join(tmp, 'copies-min-face');
    const photos = join(tmp, 'copies-photos');
    mkdirSync(dir);
    mkdirSync(photos);
    // Two files stored at minFace 0: a small photo (no tiles at 80 either) and a 4000x3000 one.
    writeFileSync(join(photos, 'small.jpg'), 'small bytes');
    writeFileSync(join(photos, 'big.jpg'), 'big bytes');
    const sha = (f: string) => createHash('sha256').update(readFileSync(join(photos, f))).digest('hex');
    const stored = (f: string, width: number, height: number): PhotoFaces => ({ ...photo(join(photos, f), 1), sha256: sha(f), size: statSync(join(photos, f)).size, mtimeMs: statSync(join(photos, f)).mtimeMs, width, height });
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      s.storePhotos([stored('small.jpg', 640, 480), stored('big.jpg', 4000, 3000)], { minFace: 0 });
      // Their copies, under new names, in a run at minFace 80.
      writeFileSync(join(photos, 'small-copy.jpg'), 'small bytes');
      writeFileSync(join(photos, 'big-copy.jpg'), 'big bytes');
      const plan = await scanLibrary(photos, s, { minFace: 80 });
      expect(plan.copies.map((c) => [c.file.path, c.from.path])).toEqual([[join(photos, 'small-copy.jpg'), join(photos, 'small.jpg')]]);
      expect(plan.added.map((f) => f.path)).toEqual([join(photos, 'big-copy.jpg')]);
      expect(plan.retagged).toEqual([s.photos().find((p) => p.path === join(photos, 'small.jpg'))!.id]);
      expect(plan.changed.map((f) => f.path)).toEqual([join(photos, 'big.jpg')]); // searched again for 80
      const c = plan.copies[0];
      expect(s.copyPhoto(c.from, c.file, 80)).toBe(1);
      expect(s.photos().find((p) => p.path === c.file.path)?.minFace).toBe(80);
      // A run at minFace 0: the copy (recorded at 80) is unchanged, just retagged; the big
      // photo's copy, never stored, now takes the big photo's faces (searched at 0).
      const back = await scanLibrary(photos, s, { minFace: 0 });
      expect(back.retagged).toEqual([s.photos().find((p) => p.path === c.file.path)!.id]);
      expect(back.copies.map((k) => [k.file.path, k.from.path])).toEqual([[join(photos, 'big-copy.jpg'), join(photos, 'big.jpg')]]);
      expect([back.added, back.changed]).toEqual([[], []]);
    } finally {
      s.close();
    }
  });

  it('a library of another backbone is refused, naming both', () => {
    const dir = join(tmp, 'g1');
    expect(() => LibraryStore.open(dir, { create: { dim: DIM, backbone: { id: 'other', sha256: 'c'.repeat(64) } } })).toThrow(/indexed with backbone "face" .* not "other"/);
    rmSync(join(tmp, 'g2'), { recursive: true, force: true });
    mkdirSync(join(tmp, 'g2'));
    writeFileSync(join(tmp, 'g2', LIBRARY_FILE), 'not a database at all, not even close to one');
    expect(() => LibraryStore.open(join(tmp, 'g2'))).toThrow(/library\.sqlite: cannot open the photo library/);
    // Read-only (stats, search): SQLite finds the damage at the first query, which names it too.
    expect(() => LibraryStore.open(join(tmp, 'g2'), { readonly: true })).toThrow(/library\.sqlite: cannot open the photo library/);
  });

  it('the search index is caught up incrementally, and after a crash between its save and the bookkeeping', () => {
    const dir = join(tmp, 'g3');
    mkdirSync(dir);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    try {
      s.storePhotos([photo('/q/1.jpg', 2), photo('/q/2.jpg', 2)]);
      const rec = { method: 'l2' } as const;
      let idx = openSearchIndex(s, dir, rec, { save: true });
      expect(idx.size).toBe(4);
      idx.close?.();
      s.storePhotos([photo('/q/3.jpg', 3)]);
      s.removePhotos([s.photos().find((p) => p.path === '/q/1.jpg')!.id]);
      idx = openSearchIndex(s, dir, rec, { save: true });
      expect(idx.size).toBe(5);
      const ids = s.faces().map((f) => f.id);
      for (const id of ids) expect(idx.has(id)).toBe(true);
      idx.close?.();
      // A crash after the index file was saved but before the store recorded it: the
      // bookkeeping says less than the file holds; catching up must not add a face twice.
      s.setMeta('index_max_id', '0');
      idx = openSearchIndex(s, dir, rec, { save: true });
      expect(idx.size).toBe(5);
      idx.close?.();
      // A damaged index file is rebuilt from the store.
      writeFileSync(join(dir, SEARCH_INDEX_FILE), 'garbage');
      const notices: string[] = [];
      idx = openSearchIndex(s, dir, rec, { save: true, onNotice: (m) => notices.push(m) });
      expect(idx.size).toBe(5);
      expect(notices.join()).toMatch(/rebuilding it from the library/);
      idx.close?.();
    } finally {
      s.close();
    }
  });

  // Not on Windows, where the library never maps its index (usearchProvider says why).
  it.skipIf(process.platform === 'win32')('a search-only open maps an up-to-date index file in place; one behind the store is read and caught up', () => {
    const dir = join(tmp, 'g5');
    mkdirSync(dir);
    const file = join(dir, SEARCH_INDEX_FILE);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    const rec = { method: 'l2' } as const;
    const viewed = (idx: VectorIndex) => (idx as UsearchIndex).viewOf;
    try {
      s.storePhotos([photo('/v/1.jpg', 3), photo('/v/2.jpg', 2)]);
      const loaded = openSearchIndex(s, dir, rec, { save: true });
      const ro = openSearchIndex(s, dir, rec, { readOnly: true });
      expect(viewed(loaded)).toBeNull();
      expect(viewed(ro)).toBe(file);
      // The same answers as the index read whole, for every stored face.
      const stored = s.faces();
      for (const f of stored) {
        const q = normalise(f.descriptor, DIM, rec);
        expect(ro.search(q, 5)[0].keys).toEqual(loaded.search(q, 5)[0].keys);
      }
      expect(() => ro.add([999], new Float32Array(DIM))).toThrow(`usearch index: cannot add to ${file}: it was opened read-only`);
      expect(() => ro.remove(stored[0].id)).toThrow(`usearch index: cannot remove from ${file}: it was opened read-only`);
      expect(() => openSearchIndex(s, dir, rec, { readOnly: true, save: true })).toThrow('readOnly and save exclude each other');
      // Faces the file does not hold yet: read whole and caught up in memory (nothing saved).
      s.storePhotos([photo('/v/3.jpg', 2)]);
      let behind = openSearchIndex(s, dir, rec, { readOnly: true });
      expect(viewed(behind)).toBeNull();
      expect(behind.size).toBe(7);
      for (const f of s.faces()) expect(behind.has(f.id)).toBe(true);
      openSearchIndex(s, dir, rec, { save: true });
      expect(viewed(openSearchIndex(s, dir, rec, { readOnly: true }))).toBe(file);
      // Faces deleted since: the same.
      const gone = s.photos().find((p) => p.path === '/v/1.jpg')!;
      const goneIds = s.faces().filter((f) => f.path === gone.path).map((f) => f.id);
      s.removePhotos([gone.id]);
      behind = openSearchIndex(s, dir, rec, { readOnly: true });
      expect(viewed(behind)).toBeNull();
      expect(behind.size).toBe(4);
      for (const id of goneIds) expect(behind.has(id)).toBe(false);
      // An up-to-date file that cannot be used is reported and rebuilt, as when read whole.
      openSearchIndex(s, dir, rec, { save: true });
      writeFileSync(file, 'garbage');
      const notices: string[] = [];
      const rebuilt = openSearchIndex(s, dir, rec, { readOnly: true, onNotice: (m) => notices.push(m) });
      expect(viewed(rebuilt)).toBeNull();
      expect(rebuilt.size).toBe(4);
      expect(notices.join()).toMatch(/rebuilding it from the library/);
    } finally {
      s.close();
    }
  });

  it('the wire format round-trips descriptors exactly and refuses a malformed answer', () => {
    const p = photo('/w/1.jpg', 2);
    const back = fromWire(JSON.parse(JSON.stringify(toWire(p))), DIM);
    expect('faces' in back && Array.from(back.faces[1].descriptor)).toEqual('faces' in p && Array.from(p.faces[1].descriptor));
    const bad = { ...toWire(p), faces: [{ box: [0, 0, 1, 1], score: 1, descriptor: 'AAAA' }] };
    expect(() => fromWire(bad as never, DIM)).toThrow(/worker result for \/w\/1.jpg: a descriptor of 3 bytes, expected 16 float32/);
  });
});

describe('a gallery with a library', () => {
  it("the gallery's saves carry the library's files (the same files, hard-linked)", async () => {
    const dir = join(tmp, 'g4');
    const g = Gallery.create({ name: dir, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex });
    await saveGallery(dir, g);
    const s = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
    s.storePhotos([photo('/r/1.jpg', 1)]);
    openSearchIndex(s, dir, { method: 'l2' }, { save: true }).close?.();
    s.close();
    const ino = statSync(join(dir, LIBRARY_FILE)).ino;
    const before = readFileSync(join(dir, LIBRARY_FILE));
    const loaded = await loadGallery(dir);
    loaded.addFaces('ann', [{ file: 'ann.jpg', box: [0, 0, 1, 1], score: 1, descriptor: gaussian(prng, new Float32Array(DIM)) }]);
    await saveGallery(dir, loaded);
    expect(statSync(join(dir, LIBRARY_FILE)).ino).toBe(ino);
    expect(readFileSync(join(dir, LIBRARY_FILE)).equals(before)).toBe(true);
    expect(existsSync(join(dir, SEARCH_INDEX_FILE))).toBe(true);
    const s2 = LibraryStore.open(dir);
    expect(s2.counts().faces).toBe(1);
    s2.close();
  });
});
