// The photo library's store (Node): one SQLite file, `library.sqlite`, inside the gallery
// folder, through better-sqlite3. Why SQLite: indexing a library adds a batch of photos at a
// time, and each batch must land whole or not at all (a run killed mid-way redoes at most the
// batches in flight), which a folder rewritten whole on every save cannot do for a million
// faces. One process writes it (the `index` run that owns the gallery's lock; workers hand
// their results back through the queue), so the rollback journal is enough; readers
// (search, stats) may open it at the same time.
//
// A photo is keyed by its absolute path; storing a photo again replaces its faces in the same
// transaction, so a batch processed twice (a worker that stalled and was retried) never
// stores a face twice. Face ids are never reused (AUTOINCREMENT): they are the keys of the
// search index (search-index-node.ts). `generation` counts committed changes to faces, so a
// saved search index knows when it is stale.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LIBRARY_FILES_PREFIX, type BackboneRef, type Box } from '../gallery/gallery-format.ts';
import { normalise } from '../gallery/normalise.ts';
import type { PhotoFaces, PhotoFile } from './photo-faces.ts';
import type { RegionArea, WrittenRegion } from './face-regions.ts';
import { groupBy } from '../group-by.ts';
import { sameFaces } from './same-face.ts';

export const LIBRARY_FILE = `${LIBRARY_FILES_PREFIX}sqlite`;
const FORMAT = 'facegpu-library';
const VERSION = 1;
/** Ids bound in one `IN (...)` query (SQLite's limit is 32766 variables, 999 before 3.32). */
const IDS_PER_QUERY = 500;

export interface StoredPhoto extends PhotoFile {
  id: number;
  error: string | null;
  /** The smallest face its faces were looked for down to (0: the whole photo only; index's minFace). */
  minFace: number;
  /** Its size as decoded (null when it could not be). */
  width: number | null;
  height: number | null;
}

export interface StoredFace {
  id: number;
  path: string;
  box: Box;
  score: number;
  descriptor: Float32Array;
  person: string | null;
  cluster: number | null;
  /**
   * The people this face was taken off by hand (unnameFaces): naming its cluster as one of
   * them again leaves it out, so a correction is not undone by the next naming.
   */
  notPeople: readonly string[];
}

/** A stored face without its descriptor. */
export type FaceEntry = Omit<StoredFace, 'descriptor'>;

export interface LibraryCounts {
  photos: number;
  /** Photos that could not be read (counted in photos). */
  failed: number;
  faces: number;
  /** Faces nobody has named. */
  unlabelled: number;
  /** Faces in a candidate cluster (from the last `cluster`), named or not. */
  clustered: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS photos (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  sha256 TEXT NOT NULL,
  width INTEGER,
  height INTEGER,
  error TEXT,
  indexed_at TEXT NOT NULL,
  min_face INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS photos_sha ON photos (sha256);
CREATE TABLE IF NOT EXISTS faces (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  photo INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
  x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
  score REAL NOT NULL,
  descriptor BLOB NOT NULL,
  person TEXT,
  cluster INTEGER,
  not_people TEXT
);
CREATE INDEX IF NOT EXISTS faces_photo ON faces (photo);
CREATE INDEX IF NOT EXISTS faces_person ON faces (person);
CREATE INDEX IF NOT EXISTS faces_cluster ON faces (cluster);
CREATE TABLE IF NOT EXISTS deleted_faces (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS xmp_regions (path TEXT NOT NULL, face INTEGER NOT NULL, name TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL, in_photo INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS xmp_regions_path ON xmp_regions (path);
CREATE TABLE IF NOT EXISTS xmp_imported (path TEXT PRIMARY KEY, stamp TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS faces_deleted AFTER DELETE ON faces BEGIN INSERT OR IGNORE INTO deleted_faces (id) VALUES (old.id); END;
`;

const blobOf = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
/** Copied: a Float32Array view needs a 4-byte aligned offset, which a Buffer slice may not have. */
const f32Of = (b: Buffer) => new Float32Array(new Uint8Array(b).buffer);

const PHOTO_COLUMNS = 'id, path, size, mtime_ms AS mtimeMs, sha256, error, min_face AS minFace, width, height';

/**
 * A face's columns but its descriptor (faces() and faceEntries()). A library from before
 * not_people opened read-only has no such column: none of its faces was taken off anyone.
 */
const entryColumns = (hasNotPeople: boolean) => `f.id, p.path, f.x, f.y, f.w, f.h, f.score, f.person, f.cluster, ${hasNotPeople ? 'f.not_people' : 'NULL'} AS notPeople`;
const ENTRY_FROM = 'FROM faces f JOIN photos p ON p.id = f.photo';
/** not_people: a JSON array of names, NULL for none. */
type EntryRow = { id: number; path: string; x: number; y: number; w: number; h: number; score: number; person: string | null; cluster: number | null; notPeople: string | null };
const entryOf = (r: EntryRow): FaceEntry => ({
  id: r.id,
  path: r.path,
  box: [r.x, r.y, r.w, r.h],
  score: r.score,
  person: r.person,
  cluster: r.cluster,
  notPeople: r.notPeople ? (JSON.parse(r.notPeople) as string[]) : NOBODY,
});
/** Shared by the faces taken off nobody (nearly all of a million): no array each. */
const NOBODY: readonly string[] = Object.freeze([]);
/** A face's not_people without `person` (a bound parameter), NULL where none is left. */
const NOT_PEOPLE_LESS = (person: string) => `(SELECT CASE WHEN COUNT(*) THEN json_group_array(value) END FROM json_each(faces.not_people) WHERE value != ${person})`;
const hasColumn = (db: Database.Database, table: string, column: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
const hasTable = (db: Database.Database, table: string) => !!db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);

/**
 * Roll back the journal a writer killed mid-change left beside the library `file` (SQLite does
 * so on a writable open's first read, under its own lock); true if that worked and the
 * journal is gone. False where the library cannot be opened for writing (a read-only place).
 */
function rollBackJournal(file: string): boolean {
  try {
    const db = new Database(file, { timeout: 30_000 });
    try {
      db.prepare('SELECT 1 AS x FROM meta LIMIT 1').get();
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
  return !existsSync(`${file}-journal`);
}

export interface StoreOptions {
  /** The smallest face width the photos were searched for (0: the whole photo only). */
  minFace?: number;
  /** A raw descriptor as a unit vector, as the gallery compares them (default: L2 alone). */
  unit?: (raw: Float32Array) => Float32Array;
  /** The person a face not stored there before is known as (null: nobody). */
  knownAs?: (descriptor: Float32Array, path: string) => string | null;
}

export class LibraryStore {
  private readonly entryColumns: string;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
    readonly dim: number,
    readonly backbone: BackboneRef,
  ) {
    this.entryColumns = entryColumns(hasColumn(db, 'faces', 'not_people'));
  }

  /** Is there a library in this gallery folder? */
  static exists(galleryDir: string): boolean {
    return existsSync(join(galleryDir, LIBRARY_FILE));
  }

  /** Throw, naming the folder, if it holds no library: before a lock or any work. */
  static mustExist(galleryDir: string): void {
    if (!LibraryStore.exists(galleryDir)) throw new Error(`${galleryDir}: no photo library here (index photos into it first: indexLibrary)`);
  }

  /**
   * Open the library of a gallery folder; with `create`, a new one is made for that backbone
   * when there is none. A library of another backbone or dimension is refused.
   */
  static open(galleryDir: string, opts: { create?: { dim: number; backbone: BackboneRef }; readonly?: boolean } = {}): LibraryStore {
    const file = join(galleryDir, LIBRARY_FILE);
    if (!opts.create) LibraryStore.mustExist(galleryDir);
    let db: Database.Database;
    let meta: Map<string, string>;
    try {
      db = new Database(file, { readonly: !!opts.readonly && existsSync(file), timeout: 30_000 });
      db.pragma('foreign_keys = ON');
      if (!db.readonly) {
        db.pragma('journal_mode = DELETE');
        db.pragma('synchronous = FULL');
        db.exec(SCHEMA);
        // Libraries from before min_face (their photos were searched whole) and not_people.
        if (!hasColumn(db, 'photos', 'min_face')) db.exec('ALTER TABLE photos ADD COLUMN min_face INTEGER NOT NULL DEFAULT 0');
        if (!hasColumn(db, 'faces', 'not_people')) db.exec('ALTER TABLE faces ADD COLUMN not_people TEXT');
        // And from before export-xmp --into-photos (every region was in a sidecar).
        if (!hasColumn(db, 'xmp_regions', 'in_photo')) db.exec('ALTER TABLE xmp_regions ADD COLUMN in_photo INTEGER NOT NULL DEFAULT 0');
      }
      // Read here, where a damaged file is named: opened read-only (stats, search), SQLite
      // finds the damage at the first query, and said only "database disk image is malformed".
      meta = new Map((db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    } catch (err) {
      // A writer killed mid-change left a hot journal, which a reader may not roll back
      // ("attempt to write a readonly database"): rolled back by a writable open, then read.
      if (opts.readonly && existsSync(`${file}-journal`) && rollBackJournal(file)) return LibraryStore.open(galleryDir, opts);
      throw new Error(`${file}: cannot open the photo library (${(err as Error).message})`);
    }
    if (!meta.size) {
      if (!opts.create) {
        db.close();
        throw new Error(`${file}: an empty photo library (no format record)`);
      }
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      const store = new LibraryStore(db, file, opts.create.dim, opts.create.backbone);
      try {
        store.write(() => {
          put.run('format', FORMAT);
          put.run('version', String(VERSION));
          put.run('dim', String(opts.create!.dim));
          put.run('backbone', JSON.stringify(opts.create!.backbone));
          put.run('generation', '0');
        });
      } catch (err) {
        db.close();
        throw err;
      }
      return store;
    }
    const fail = (why: string): never => {
      db.close();
      throw new Error(`${file}: ${why}`);
    };
    if (meta.get('format') !== FORMAT) fail(`not a facegpu photo library (format "${meta.get('format')}")`);
    if (Number(meta.get('version')) !== VERSION) fail(`photo library format version ${meta.get('version')}, this facegpu reads ${VERSION}`);
    const dim = Number(meta.get('dim'));
    const backbone = JSON.parse(meta.get('backbone') ?? 'null') as BackboneRef;
    if (opts.create && (opts.create.dim !== dim || opts.create.backbone.sha256 !== backbone?.sha256)) {
      fail(`the library was indexed with backbone "${backbone?.id}" (sha256 ${backbone?.sha256?.slice(0, 12)}…, ${dim}-d), not "${opts.create.backbone.id}" (sha256 ${opts.create.backbone.sha256.slice(0, 12)}…)`);
    }
    return new LibraryStore(db, file, dim, backbone);
  }

  close(): void {
    this.db.close();
  }

  /**
   * Run `fn` as one transaction. A write SQLite refuses (a full disk above all) is one line
   * naming the library's file; the transaction is rolled back, so every batch stored before
   * it is kept and a run after the cause is fixed goes on from there.
   */
  private write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_')) throw err;
      const why = code === 'SQLITE_FULL' ? 'the disk is full' : code.startsWith('SQLITE_READONLY') ? 'it cannot be written (read-only)' : (err as Error).message;
      throw new Error(`${this.file}: cannot store in the photo library: ${why} (${code}); what was stored before is kept, so run again once that is fixed`);
    }
  }

  /**
   * Write and undo a row, so that a library that cannot be written (its folder read-only to
   * this user, a full disk) is told before the work whose results it would refuse: the error
   * `write` gives, naming the file.
   */
  checkWritable(): void {
    this.write(() => {
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('write-check', '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value").run();
      this.db.prepare("DELETE FROM meta WHERE key = 'write-check'").run();
    });
  }

  /** Bumped by every committed change to the faces. */
  generation(): number {
    return Number((this.db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: string }).value);
  }

  private bump(): void {
    this.db.prepare("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'").run();
  }

  getMeta(key: string): string | null {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.write(() => this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value));
  }

  /** Every stored photo (path, size, mtime, hash, error, minFace). */
  photos(): StoredPhoto[] {
    return (this.db.prepare(`SELECT ${PHOTO_COLUMNS} FROM photos`).all() as StoredPhoto[]).map((p) => ({ ...p }));
  }

  /** The stored photo at this absolute path, or null. */
  photoAt(path: string): StoredPhoto | null {
    return (this.db.prepare(`SELECT ${PHOTO_COLUMNS} FROM photos WHERE path = ?`).get(path) as StoredPhoto | undefined) ?? null;
  }

  /** A stored photo with these bytes (a file moved or copied), preferring one that was read. */
  photoWithHash(sha256: string): StoredPhoto | null {
    return (this.db.prepare(`SELECT ${PHOTO_COLUMNS} FROM photos WHERE sha256 = ? ORDER BY error IS NOT NULL LIMIT 1`).get(sha256) as StoredPhoto | undefined) ?? null;
  }

  /**
   * Store photos with their faces, all in one transaction, each found down to `minFace` pixels
   * (0: the whole photo only). A photo stored before (same path) has its faces replaced; a new
   * face that is an old one (sameFaces: its descriptor as similar as the same face saved again,
   * wherever its box is) keeps the old one's person, cluster and notPeople, so that searching a
   * photo again (index's minFace changed, its bytes edited or turned) does not forget who was
   * named in it, and a different photo under the old one's name does not take its names.
   * Options: `minFace`; `unit` normalises descriptors as the gallery compares them (default:
   * L2 alone); `knownAs` names a face that was not stored there before (the gallery's, when it
   * knows this very face from elsewhere). Returns the faces stored.
   */
  storePhotos(photos: readonly PhotoFaces[], opts: StoreOptions = {}): number {
    const minFace = opts.minFace ?? 0;
    const unit = opts.unit ?? ((raw: Float32Array) => normalise(raw, this.dim, { method: 'l2' }));
    const oldFaces = this.db.prepare(
      'SELECT f.descriptor, f.person, f.cluster, f.not_people AS notPeople FROM faces f JOIN photos p ON p.id = f.photo WHERE p.path = ? AND (f.person IS NOT NULL OR f.cluster IS NOT NULL OR f.not_people IS NOT NULL)',
    );
    const del = this.db.prepare('DELETE FROM photos WHERE path = ?');
    const addPhoto = this.db.prepare('INSERT INTO photos (path, size, mtime_ms, sha256, width, height, error, indexed_at, min_face) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const addFace = this.db.prepare('INSERT INTO faces (photo, x, y, w, h, score, descriptor, person, cluster, not_people) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    let faces = 0;
    this.write(() => {
      const now = new Date().toISOString();
      for (const p of photos) {
        type Old = { descriptor: Buffer; person: string | null; cluster: number | null; notPeople: string | null };
        const named = oldFaces.all(p.path) as Old[];
        del.run(p.path);
        const ok = !('error' in p);
        const { lastInsertRowid } = addPhoto.run(p.path, p.size, p.mtimeMs, p.sha256, ok ? p.width : null, ok ? p.height : null, ok ? null : p.error, now, minFace);
        if (!ok) continue;
        const bad = p.faces.find((f) => f.descriptor.length !== this.dim);
        if (bad) throw new Error(`${p.path}: a ${bad.descriptor.length}-d descriptor in a ${this.dim}-d library`);
        const wasOf = sameFaces(named.map((r) => f32Of(r.descriptor)), p.faces.map((f) => f.descriptor), unit);
        for (const [i, f] of p.faces.entries()) {
          const was = wasOf[i] < 0 ? { person: opts.knownAs?.(f.descriptor, p.path) ?? null, cluster: null, notPeople: null } : named[wasOf[i]];
          addFace.run(lastInsertRowid, f.box[0], f.box[1], f.box[2], f.box[3], f.score, blobOf(f.descriptor), was?.person ?? null, was?.cluster ?? null, was?.notPeople ?? null);
          faces++;
        }
      }
      this.bump();
    });
    return faces;
  }

  /**
   * Store `file` with the faces of an already stored photo of the same bytes (no GPU work),
   * recorded as searched down to `minFace` (default: as `from` was), their names, clusters and
   * corrections with them (the same faces: a photo moved, renamed or copied is still of the
   * people it was). Returns the faces copied.
   */
  copyPhoto(from: StoredPhoto, file: PhotoFile, minFace = from.minFace): number {
    let faces = 0;
    this.write(() => {
      this.db.prepare('DELETE FROM photos WHERE path = ?').run(file.path);
      const src = this.db.prepare('SELECT width, height, error FROM photos WHERE id = ?').get(from.id) as { width: number | null; height: number | null; error: string | null };
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO photos (path, size, mtime_ms, sha256, width, height, error, indexed_at, min_face) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(file.path, file.size, file.mtimeMs, file.sha256, src.width, src.height, src.error, new Date().toISOString(), minFace);
      faces = this.db.prepare('INSERT INTO faces (photo, x, y, w, h, score, descriptor, person, cluster, not_people) SELECT ?, x, y, w, h, score, descriptor, person, cluster, not_people FROM faces WHERE photo = ? ORDER BY id').run(lastInsertRowid, from.id).changes;
      this.bump();
    });
    return faces;
  }

  /** Photos whose faces another minFace would find alike (no tiles either way): record it, keep their faces. */
  setMinFace(ids: readonly number[], minFace: number): void {
    if (!ids.length) return;
    const set = this.db.prepare('UPDATE photos SET min_face = ? WHERE id = ?');
    this.write(() => {
      for (const id of ids) set.run(minFace, id);
    });
  }

  /**
   * A file whose size or time changed but not its faces: its bytes the same (a copy touched), or
   * changed by facegpu itself (metadata written into it: `sha256` given). Records the new ones.
   */
  touchPhoto(id: number, file: { size: number; mtimeMs: number; sha256?: string }): void {
    this.write(() => this.db.prepare('UPDATE photos SET size = ?, mtime_ms = ?, sha256 = COALESCE(?, sha256) WHERE id = ?').run(file.size, file.mtimeMs, file.sha256 ?? null, id));
  }

  /** Drop photos (and their faces) by id, in one transaction; returns the faces dropped. */
  removePhotos(ids: readonly number[]): number {
    if (!ids.length) return 0;
    let faces = 0;
    const count = this.db.prepare('SELECT COUNT(*) AS n FROM faces WHERE photo = ?');
    const del = this.db.prepare('DELETE FROM photos WHERE id = ?');
    this.write(() => {
      for (const id of ids) {
        faces += (count.get(id) as { n: number }).n;
        del.run(id);
      }
      this.bump();
    });
    return faces;
  }

  counts(): LibraryCounts {
    const one = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      photos: one('SELECT COUNT(*) AS n FROM photos'),
      failed: one('SELECT COUNT(*) AS n FROM photos WHERE error IS NOT NULL'),
      faces: one('SELECT COUNT(*) AS n FROM faces'),
      unlabelled: one('SELECT COUNT(*) AS n FROM faces WHERE person IS NULL'),
      clustered: one('SELECT COUNT(*) AS n FROM faces WHERE cluster IS NOT NULL'),
    };
  }

  /**
   * Faces with their photo's path, in id order; `where` picks a subset. With `ids`: in the
   * order of `ids` (an id asked twice comes twice), ids of no stored face left out.
   */
  faces(where: { ids?: readonly number[]; cluster?: number; unlabelled?: boolean } = {}): StoredFace[] {
    const base = `SELECT ${this.entryColumns}, f.descriptor ${ENTRY_FROM}`;
    type Row = EntryRow & { descriptor: Buffer };
    let rows: Row[];
    if (where.ids) {
      // One query per chunk of distinct ids (SQLite limits the bound variables of a statement).
      const byId = new Map<number, Row>();
      const distinct = [...new Set(where.ids)];
      for (let i = 0; i < distinct.length; i += IDS_PER_QUERY) {
        const chunk = distinct.slice(i, i + IDS_PER_QUERY);
        for (const r of this.db.prepare(`${base} WHERE f.id IN (${chunk.map(() => '?').join(', ')})`).all(...chunk) as Row[]) byId.set(r.id, r);
      }
      rows = where.ids.map((id) => byId.get(id)).filter((r): r is Row => !!r);
    } else if (where.cluster !== undefined) rows = this.db.prepare(`${base} WHERE f.cluster = ? ORDER BY f.id`).all(where.cluster) as Row[];
    else if (where.unlabelled) rows = this.db.prepare(`${base} WHERE f.person IS NULL ORDER BY f.id`).all() as Row[];
    else rows = this.db.prepare(`${base} ORDER BY f.id`).all() as Row[];
    return rows.map((r) => ({ ...entryOf(r), descriptor: this.checkedDescriptor(r.id, r.descriptor) }));
  }

  /** Every face without its descriptor (for descriptorsOf), or a cluster's, in id order. */
  faceEntries(where: { cluster?: number } = {}): FaceEntry[] {
    const rows = where.cluster === undefined
      ? this.db.prepare(`SELECT ${this.entryColumns} ${ENTRY_FROM} ORDER BY f.id`).all()
      : this.db.prepare(`SELECT ${this.entryColumns} ${ENTRY_FROM} WHERE f.cluster = ? ORDER BY f.id`).all(where.cluster);
    return (rows as EntryRow[]).map(entryOf);
  }

  /**
   * The faces of these photos (absolute paths) that the library stores, by path, each photo's
   * left to right; a path it does not store is absent. A query per chunk of paths, not per
   * photo (the gallery's faces against the library's, linkGallery: 20,000 photos one by one
   * took over a second).
   */
  facesOfPhotos(paths: readonly string[]): Map<string, FaceEntry[]> {
    const out = new Map<string, FaceEntry[]>();
    const distinct = [...new Set(paths)];
    for (let i = 0; i < distinct.length; i += IDS_PER_QUERY) {
      const chunk = distinct.slice(i, i + IDS_PER_QUERY);
      const rows = this.db.prepare(`SELECT ${this.entryColumns} ${ENTRY_FROM} WHERE p.path IN (${chunk.map(() => '?').join(', ')}) ORDER BY p.path, f.x, f.y, f.id`).all(...chunk) as EntryRow[];
      for (const r of rows) {
        const faces = out.get(r.path);
        if (faces) faces.push(entryOf(r));
        else out.set(r.path, [entryOf(r)]);
      }
    }
    return out;
  }

  /** The faces of a stored photo (by its absolute path), left to right; null if it is not stored. */
  photoFaces(path: string): FaceEntry[] | null {
    if (!this.db.prepare('SELECT 1 AS x FROM photos WHERE path = ?').get(path)) return null;
    return (this.db.prepare(`SELECT ${this.entryColumns} ${ENTRY_FROM} WHERE p.path = ? ORDER BY f.x, f.y, f.id`).all(path) as EntryRow[]).map(entryOf);
  }

  /**
   * The descriptors of `faces` (faceEntries, in its order) handed to `put` one row at a time,
   * read a page at a time (descriptors()): the whole library's descriptors never sit in memory
   * beside the caller's copy (faces() holds them twice). Throws, naming the file, if the library
   * no longer holds exactly these faces (a writer that skipped the gallery lock).
   */
  descriptorsOf(faces: readonly { id: number }[], put: (row: number, descriptor: Float32Array) => void): void {
    let row = 0;
    const changed = (what: string) => new Error(`${this.file}: the library changed while it was read (${what})`);
    for (const { ids, raw } of this.descriptors()) {
      ids.forEach((id, i) => {
        if (row >= faces.length || faces[row].id !== id) throw changed(`face ${id}`);
        put(row++, raw.subarray(i * this.dim, (i + 1) * this.dim));
      });
    }
    if (row !== faces.length) throw changed(`${faces.length - row} faces gone`);
  }

  /** Faces' ids and raw descriptors (those with ids above `after`), streamed a page at a time. */
  *descriptors(after = -1, batch = 4096): Generator<{ ids: number[]; raw: Float32Array }> {
    const page = this.db.prepare('SELECT id, descriptor FROM faces WHERE id > ? ORDER BY id LIMIT ?');
    for (;;) {
      const rows = page.all(after, batch) as { id: number; descriptor: Buffer }[];
      if (!rows.length) return;
      const raw = new Float32Array(rows.length * this.dim);
      rows.forEach((r, i) => raw.set(this.checkedDescriptor(r.id, r.descriptor), i * this.dim));
      yield { ids: rows.map((r) => r.id), raw };
      after = rows[rows.length - 1].id;
    }
  }

  /**
   * A stored descriptor as numbers, or an error naming the file and the face where the bytes
   * are not a descriptor (the wrong length, a value that is not a finite number): a damaged
   * library, told here rather than as a normalisation error naming neither, later.
   */
  private checkedDescriptor(id: number, bytes: Buffer): Float32Array {
    const damaged = (why: string) => new Error(`${this.file}: face ${id}: its descriptor is damaged (${why}); the library file is damaged: restore it from a backup, or index the photos into a new gallery folder`);
    if (bytes.length !== this.dim * 4) throw damaged(`${bytes.length} bytes, not ${this.dim * 4}`);
    const d = f32Of(bytes);
    for (let j = 0; j < d.length; j++) if (!Number.isFinite(d[j])) throw damaged(`value ${j} is ${d[j]}`);
    return d;
  }

  /** The largest face id ever given (ids are never reused), 0 before the first. */
  maxFaceId(): number {
    return (this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'faces'").get() as { seq: number } | undefined)?.seq ?? 0;
  }

  /** Ids of faces deleted since the search index last caught up (clearDeleted). */
  deletedFaceIds(): number[] {
    return (this.db.prepare('SELECT id FROM deleted_faces ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  }

  /** The search index has dropped these deleted faces. */
  clearDeleted(ids: readonly number[]): void {
    const del = this.db.prepare('DELETE FROM deleted_faces WHERE id = ?');
    this.write(() => {
      for (const id of ids) del.run(id);
    });
  }

  /** Replace every face's cluster: `clusters` maps cluster id to face ids; faces not listed get none. */
  setClusters(clusters: ReadonlyMap<number, readonly number[]>): void {
    const set = this.db.prepare('UPDATE faces SET cluster = ? WHERE id = ?');
    this.write(() => {
      this.db.prepare('UPDATE faces SET cluster = NULL').run();
      for (const [cluster, ids] of clusters) for (const id of ids) set.run(cluster, id);
      this.bump();
    });
  }

  /** Clusters from the last `cluster` run: id, faces, and the people named in it. */
  clusters(): { id: number; faces: number; photos: number; people: string[] }[] {
    const rows = this.db
      .prepare('SELECT cluster AS id, COUNT(*) AS faces, COUNT(DISTINCT photo) AS photos, json_group_array(DISTINCT person) FILTER (WHERE person IS NOT NULL) AS people FROM faces WHERE cluster IS NOT NULL GROUP BY cluster ORDER BY cluster')
      .all() as { id: number; faces: number; photos: number; people: string | null }[];
    return rows.map((r) => ({ id: r.id, faces: r.faces, photos: r.photos, people: r.people ? (JSON.parse(r.people) as string[]) : [] }));
  }

  /**
   * Name faces (a cluster the user recognised, or faces one by one); returns how many. A face
   * taken off this very person before is theirs again: it no longer says not them.
   */
  namePerson(ids: readonly number[], person: string): number {
    const set = this.db.prepare(`UPDATE faces SET person = @person, not_people = ${NOT_PEOPLE_LESS('@person')} WHERE id = @id`);
    let n = 0;
    this.write(() => {
      for (const id of ids) n += set.run({ person, id }).changes;
      this.bump();
    });
    return n;
  }

  /**
   * Take faces off whoever they were named as (a face in a named cluster that is someone
   * else): each becomes nobody's and remembers whom it is not (notPeople, beside whom it was
   * taken off before). Faces nobody was named as are left as they are. Returns how many changed.
   */
  unnameFaces(ids: readonly number[]): number {
    // The right-hand sides read the row as it was: its person joins the list, then goes.
    const set = this.db.prepare(
      'UPDATE faces SET not_people = (SELECT json_group_array(v) FROM (SELECT value AS v FROM json_each(faces.not_people) UNION SELECT faces.person)), person = NULL WHERE id = ? AND person IS NOT NULL',
    );
    let n = 0;
    this.write(() => {
      for (const id of ids) n += set.run(id).changes;
      this.bump();
    });
    return n;
  }

  /** Forget a person's name on every face (the person was removed from the gallery). */
  unname(person: string): number {
    let n = 0;
    this.write(() => {
      n = this.db.prepare('UPDATE faces SET person = NULL WHERE person = ?').run(person).changes;
      this.bump();
    });
    return n;
  }

  /**
   * Give every face named `from` the name `to` (the person was renamed, or merged into `to`);
   * whom faces are not follows the rename too. Returns how many faces were renamed.
   */
  renamePerson(from: string, to: string): number {
    let n = 0;
    this.write(() => {
      n = this.db.prepare('UPDATE faces SET person = ? WHERE person = ?').run(to, from).changes;
      // A face taken off `from` is not `to` either (the same person, now under that name).
      this.db
        .prepare(
          'UPDATE faces SET not_people = (SELECT json_group_array(v) FROM (SELECT DISTINCT CASE WHEN value = @from THEN @to ELSE value END AS v FROM json_each(faces.not_people))) WHERE EXISTS (SELECT 1 FROM json_each(faces.not_people) WHERE value = @from)',
        )
        .run({ from, to });
      // A face now named `to` is not "not `to`": the merge is the last word, as naming a face is.
      this.db.prepare(`UPDATE faces SET not_people = ${NOT_PEOPLE_LESS('@to')} WHERE person = @to`).run({ to });
      this.bump();
    });
    return n;
  }

  /**
   * The faces among `faces` whose file is not one of the library's photos: enrolled from
   * elsewhere, or of photos deleted, moved out of the tree or on a drive not mounted. The
   * gallery's faces beside the library's, for its counts, its clusters and the names a
   * returning photo takes.
   */
  notInLibrary<T extends { file: string }>(faces: readonly T[]): T[] {
    const get = this.db.prepare('SELECT 1 AS x FROM photos WHERE path = ?');
    const inLibrary = new Set([...new Set(faces.map((f) => f.file))].filter((p) => get.get(p)));
    return faces.filter((f) => !inLibrary.has(f.file));
  }

  /** The face regions facegpu wrote into each photo's XMP sidecar, or into the photo itself (gallery export-xmp), by path. */
  xmpRegions(): Map<string, WrittenRegion[]> {
    // A library from before gallery export-xmp, opened read-only, has no such table: nothing was written.
    if (!hasTable(this.db, 'xmp_regions')) return new Map();
    const rows = this.db.prepare('SELECT path, face, name, x, y, w, h FROM xmp_regions ORDER BY rowid').all() as ({ path: string; face: number; name: string } & RegionArea)[];
    const byPath = groupBy(rows, (r) => r.path);
    return new Map([...byPath].map(([path, regions]) => [path, regions.map(({ face, name, x, y, w, h }) => ({ face, name, area: { x, y, w, h } }))]));
  }

  /** The photos whose regions (xmpRegions) facegpu wrote into the photo itself, not its sidecar. */
  xmpRegionsInPhotos(): Set<string> {
    if (!hasTable(this.db, 'xmp_regions') || !hasColumn(this.db, 'xmp_regions', 'in_photo')) return new Set();
    return new Set((this.db.prepare('SELECT DISTINCT path FROM xmp_regions WHERE in_photo = 1').all() as { path: string }[]).map((r) => r.path));
  }

  /** Remember what facegpu's regions in a photo's sidecar (or in the photo) are now (replacing what was remembered). */
  setXmpRegions(path: string, regions: readonly WrittenRegion[], inPhoto = false): void {
    this.write(() => {
      this.db.prepare('DELETE FROM xmp_regions WHERE path = ?').run(path);
      const put = this.db.prepare('INSERT INTO xmp_regions (path, face, name, x, y, w, h, in_photo) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      for (const r of regions) put.run(path, r.face, r.name, r.area.x, r.area.y, r.area.w, r.area.h, inPhoto ? 1 : 0);
    });
  }


  /** What each photo's names were imported from last (gallery import-xmp): path -> its stamp. */
  xmpImported(): Map<string, string> {
    if (!hasTable(this.db, 'xmp_imported')) return new Map();
    return new Map((this.db.prepare('SELECT path, stamp FROM xmp_imported').all() as { path: string; stamp: string }[]).map((r) => [r.path, r.stamp]));
  }

  /** Remember what these photos' names were imported from. */
  setXmpImported(stamps: ReadonlyMap<string, string>): void {
    this.write(() => {
      const put = this.db.prepare('INSERT INTO xmp_imported (path, stamp) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET stamp = excluded.stamp');
      for (const [path, stamp] of stamps) put.run(path, stamp);
    });
  }

  /** The faces of each named person's photos: path -> people, for search results. */
  namedFacesOf(person: string): { id: number; path: string }[] {
    return this.db.prepare('SELECT f.id, p.path FROM faces f JOIN photos p ON p.id = f.photo WHERE f.person = ? ORDER BY f.id').all(person) as { id: number; path: string }[];
  }
}
