// The photo library through the CLI, as a user runs it on their folders: `index` is
// incremental (unchanged, touched, changed, moved, deleted and unreadable photos), resumable
// after kill -9 (a rerun redoes only what was not stored), and `search` and `gallery stats`
// read what it stored.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORL } from './helpers/faces.ts';
import { writeFarPhoto, writeGroupPhoto } from './helpers/group-photo.ts';
import { facesStoredTwice } from './helpers/library-checks.ts';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');
const cli = (args: string[]) => exec('node', [CLI, ...args], { timeout: 600_000, maxBuffer: 64 << 20 });

interface IndexJson { photos: number; faces: number; new: number; changed: number; removed: number; skipped: number; failed: number; copied: number; embedded: number; seconds: number }
/** `index --json` prints exactly these keys, each a number (counts are whole numbers). */
const INDEX_KEYS = ['changed', 'copied', 'embedded', 'faces', 'failed', 'new', 'photos', 'removed', 'seconds', 'skipped'];
function expectIndexJson(r: Record<string, unknown>): IndexJson {
  expect(Object.keys(r).sort()).toEqual(INDEX_KEYS);
  for (const k of INDEX_KEYS) {
    expect(typeof r[k], k).toBe('number');
    if (k !== 'seconds') expect(Number.isInteger(r[k]) && (r[k] as number) >= 0, `${k}: ${r[k]}`).toBe(true);
  }
  expect(r.seconds as number).toBeGreaterThanOrEqual(0);
  return r as unknown as IndexJson;
}
const index = async (root: string, gallery: string, more: string[] = []): Promise<IndexJson> => {
  let stdout: string;
  try {
    ({ stdout } = await cli(['index', root, '--gallery', gallery, '--json', ...more]));
  } catch (err) {
    // Exit 2: some photos failed; the summary is still printed.
    const e = err as { code: number; stdout: string };
    if (!(e.code === 2 && e.stdout)) throw err;
    stdout = e.stdout;
  }
  return expectIndexJson(JSON.parse(stdout));
};

interface SearchHit { file: string; similarity: number; face: number; box: number[]; person: string | null }
/** `search --json`: an array of {file, similarity, face, box: [x, y, w, h], person}, nothing else. */
function expectSearchJson(hits: unknown): SearchHit[] {
  expect(Array.isArray(hits)).toBe(true);
  for (const h of hits as Record<string, unknown>[]) {
    expect(Object.keys(h).sort()).toEqual(['box', 'face', 'file', 'person', 'similarity']);
    expect(Number.isSafeInteger(h.face) && (h.face as number) > 0, JSON.stringify(h.face)).toBe(true);
    expect(typeof h.file).toBe('string');
    expect(typeof h.similarity).toBe('number');
    expect(h.similarity as number).toBeGreaterThanOrEqual(-1);
    expect(h.similarity as number).toBeLessThanOrEqual(1);
    expect(Array.isArray(h.box) && (h.box as unknown[]).length === 4 && (h.box as unknown[]).every((v) => typeof v === 'number' && Number.isFinite(v)), JSON.stringify(h.box)).toBe(true);
    expect((h.box as number[])[2]).toBeGreaterThan(0);
    expect((h.box as number[])[3]).toBeGreaterThan(0);
    expect(h.person === null || typeof h.person === 'string', JSON.stringify(h.person)).toBe(true);
  }
  return hits as SearchHit[];
}

interface ClusterJson { id: number; faces: number; photos: number; person: string | null; nearest: { person: string; similarity: number } | null; examples: string[] }
interface ClusterReportJson { clusters: ClusterJson[]; noise: number; faces: number }
/** `cluster --json`: {clusters: [{id, faces, photos, person, nearest, examples}], noise, faces}, nothing else. */
function expectClusterJson(r: Record<string, unknown>): ClusterReportJson {
  expect(Object.keys(r).sort()).toEqual(['clusters', 'faces', 'noise', 'searchIndex']);
  expect(Number.isInteger(r.faces) && Number.isInteger(r.noise)).toBe(true);
  expect(r.searchIndex).toBeNull(); // not rebuilt unless --reorder
  expect(Array.isArray(r.clusters)).toBe(true);
  for (const c of r.clusters as Record<string, unknown>[]) {
    expect(Object.keys(c).sort()).toEqual(['examples', 'faces', 'id', 'nearest', 'person', 'photos']);
    expect(Number.isInteger(c.id) && Number.isInteger(c.faces) && Number.isInteger(c.photos), JSON.stringify(c)).toBe(true);
    expect(c.person === null || typeof c.person === 'string').toBe(true);
    if (c.nearest !== null) {
      const n = c.nearest as Record<string, unknown>;
      expect(Object.keys(n).sort()).toEqual(['person', 'similarity']);
      expect(typeof n.person).toBe('string');
      expect(typeof n.similarity).toBe('number');
    }
    expect(Array.isArray(c.examples) && (c.examples as unknown[]).length > 0 && (c.examples as unknown[]).every((e) => typeof e === 'string')).toBe(true);
  }
  return r as unknown as ClusterReportJson;
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-library-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Copies (not links: the test changes them) of ORL people's photos under root/s<p>/. */
function orlTree(root: string, people: number[]): void {
  for (const p of people) {
    mkdirSync(join(root, `s${p}`), { recursive: true });
    for (let k = 1; k <= 10; k++) copyFileSync(join(ORL, `s${p}`, `${k}.pgm`), join(root, `s${p}`, `${k}.pgm`));
  }
}

describe('index: incremental', () => {
  let photos: string;
  let gallery: string;
  beforeAll(() => {
    photos = join(tmp, 'photos');
    gallery = join(tmp, 'gallery');
    orlTree(photos, [1, 2, 3]);
    writeFileSync(join(photos, 'notes.txt'), 'not a photo');
    writeFileSync(join(photos, 'broken.jpg'), 'not a JPEG either');
  });

  it('stores every face of every photo; an unreadable photo is named and counted', async () => {
    const r = await index(photos, gallery);
    expect(r).toMatchObject({ photos: 31, new: 31, changed: 0, removed: 0, skipped: 0, failed: 1, embedded: 30 });
    expect(r.faces).toBeGreaterThanOrEqual(30);
    const stats = JSON.parse((await cli(['gallery', 'stats', gallery, '--json'])).stdout);
    expect(stats).toMatchObject({ photos: 31, faces: r.faces, people: 0, unlabelled: r.faces });
  }, 300_000);

  it('a second run over the same tree does nothing: 0 new, 0 changed, nothing embedded; the unreadable photo is named again', async () => {
    const e = await cli(['index', photos, '--gallery', gallery, '--json']).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    // Exit 2 again: the photo that failed is failing still (before, the second run reported 0
    // failed, exit 0, and the photo was never named again).
    expect(e.code).toBe(2);
    expect(e.stderr).toContain(`facegpu: warning: 1 photo that failed on an earlier run is unchanged and not read again: ${join(photos, 'broken.jpg')}: `);
    const r = expectIndexJson(JSON.parse(e.stdout));
    expect(r).toMatchObject({ photos: 31, new: 0, changed: 0, removed: 0, skipped: 30, failed: 1, embedded: 0 });
  }, 120_000);

  it('touched, changed, moved and deleted photos: only the changed one is embedded again', async () => {
    const before = await index(photos, gallery);
    const when = new Date(Date.now() + 60_000);
    utimesSync(join(photos, 's1', '1.pgm'), when, when); // same bytes, new time
    copyFileSync(join(ORL, 's2', '1.pgm'), join(photos, 's1', '2.pgm')); // new bytes
    unlinkSync(join(photos, 's1', '3.pgm'));
    mkdirSync(join(photos, 'copies'));
    copyFileSync(join(photos, 's3', '1.pgm'), join(photos, 'copies', 'again.pgm')); // bytes already stored
    const r = await index(photos, gallery);
    expect(r).toMatchObject({ photos: 31, new: 1, copied: 1, changed: 1, removed: 1, skipped: 28, failed: 1, embedded: 1 });
    expect(r.faces).toBe(before.faces); // -1 deleted, +1 copied, the changed one still one face
    const again = await index(photos, gallery);
    expect(again).toMatchObject({ new: 0, changed: 0, removed: 0, embedded: 0 });
  }, 300_000);

  it('search: the photos of the person of a face, best first, by similarity', async () => {
    const { stdout } = await cli(['search', gallery, join(ORL, 's2', '5.pgm'), '--top', '8', '--json']);
    const hits = expectSearchJson(JSON.parse(stdout));
    expect(hits.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < hits.length; i++) expect(hits[i].similarity).toBeLessThanOrEqual(hits[i - 1].similarity);
    expect(hits[0].file).toBe(join(photos, 's2', '5.pgm'));
    // s1/2.pgm now holds s2's first photo: it is s2 too.
    const isS2 = (f: string) => f.startsWith(join(photos, 's2')) || f === join(photos, 's1', '2.pgm');
    expect(hits.slice(0, 5).every((h) => isS2(h.file))).toBe(true);
    // s2 far off in a big photo: not found without --min-face, which the error names; found with it.
    const far = join(tmp, 'far-s2.png');
    await writeFarPhoto(far, 2, 5, 150);
    const missed = await cli(['search', gallery, far, '--json']).catch((e) => e);
    expect(missed.code).toBe(1);
    // Its last line: Dawn may warn before it on some adapters.
    expect(missed.stderr.trim().split('\n').at(-1)).toBe(`facegpu: ${far}: no face found (in a photo this big, faces under ~375 pixels wide are looked for only with --min-face <pixels>, which is slower)`);
    const found = expectSearchJson(JSON.parse((await cli(['search', gallery, far, '--min-face', '80', '--top', '8', '--json'])).stdout));
    expect(found.slice(0, 5).every((h) => isS2(h.file)), JSON.stringify(found)).toBe(true);
  }, 300_000);

  it('cluster, then name a cluster: identify and search know the person, clustering keeps them', async () => {
    const run = async (more: string[] = []) => expectClusterJson(JSON.parse((await cli(['cluster', gallery, '--json', ...more])).stdout));
    const sheets = join(tmp, 'sheets');
    // Nobody named yet: identify says how to name them, before the GPU starts.
    const unnamed = await cli(['identify', gallery, join(ORL, 's2', '5.pgm')]).catch((e) => e);
    expect(unnamed.stderr.trim()).toBe(
      `facegpu: ${gallery}: no one is named in this gallery yet: name the people of its photo library first (facegpu cluster ${gallery}, then facegpu gallery name ${gallery} <cluster> <person>), or enroll them (facegpu enroll ${gallery} <photos>)`,
    );
    // Most faces left out: said, with the flags that loosen it; not said when they are clustered.
    const strict = await cli(['cluster', gallery, '--min-faces', '100']);
    expect(strict.stderr).toMatch(/^facegpu: (\d+) of \1 faces are in no cluster: a cluster needs 100 faces of one person close together \(cosine distance under 0\.5\); for a small library or spread-out photos try a looser --epsilon \(e\.g\. 0\.6\) or a smaller --min-faces$/m);
    expect((await cli(['cluster', gallery])).stderr).not.toContain('in no cluster:');
    const first = await run(['--sheets', sheets]);
    // A contact sheet per cluster, its faces in rows of 6 under a title line, and the mark that lets the next run replace the folder.
    expect(readdirSync(sheets).sort()).toEqual(['.facegpu-sheets', ...first.clusters.map((c) => `cluster-${c.id}.jpg`)].sort());
    for (const c of first.clusters) {
      const { width, height } = await sharp(join(sheets, `cluster-${c.id}.jpg`)).metadata();
      const shown = Math.min(12, c.faces);
      expect([width, height], `cluster ${c.id}, ${c.faces} faces`).toEqual([Math.max(480, Math.min(6, shown) * 134 + 6), 34 + Math.ceil(shown / 6) * 134 + 6]);
    }
    writeFileSync(join(sheets, 'cluster-999.jpg'), 'from an older run');
    // Three people (s1's second photo holds s2's bytes, copies/again.pgm is s3's): three candidates.
    expect(first.clusters.filter((c) => c.person === null).length).toBe(3);
    expect(first.clusters.every((c) => c.nearest === null)).toBe(true); // nobody named yet: no hint
    const personOf = (f: string) => (f === join(photos, 's1', '2.pgm') ? 's2' : f === join(photos, 'copies', 'again.pgm') ? 's3' : f.slice(photos.length + 1).split('/')[0]);
    for (const c of first.clusters) expect(new Set(c.examples.map(personOf)).size).toBe(1);
    const s2 = first.clusters.find((c) => personOf(c.examples[0]) === 's2')!;
    expect(s2.faces).toBeGreaterThanOrEqual(8);

    const named = JSON.parse((await cli(['gallery', 'name', gallery, String(s2.id), 'Bob', '--json'])).stdout);
    expect(named).toMatchObject({ person: 'Bob', cluster: s2.id, named: s2.faces, already: 0, kept: [] });
    const again = JSON.parse((await cli(['gallery', 'name', gallery, String(s2.id), 'Bob', '--json'])).stdout);
    expect([again.named, again.already]).toEqual([s2.faces, s2.faces]);
    const list = JSON.parse((await cli(['gallery', 'list', gallery, '--json'])).stdout);
    expect(list).toEqual([{ name: 'Bob', faces: s2.faces, photos: s2.photos }]); // naming twice added nothing twice

    const [probe] = JSON.parse((await cli(['identify', gallery, join(ORL, 's2', '5.pgm'), '--json'])).stdout);
    expect(probe.faces[0].label).toBe('Bob');
    const hits = expectSearchJson(JSON.parse((await cli(['search', gallery, join(ORL, 's2', '5.pgm'), '--json'])).stdout));
    expect(hits.filter((h) => h.person === 'Bob').length).toBeGreaterThanOrEqual(s2.photos - 1);
    // By name, no photo: every photo of Bob's named faces, ranked before any other; of the
    // others, at most one (--far 0.01 lets a stranger's face through now and then; here one of s1's).
    const byName = expectSearchJson(JSON.parse((await cli(['search', gallery, '--person', 'Bob', '--json'])).stdout));
    expect(byName.filter((h) => h.person === 'Bob').length).toBe(s2.photos);
    const firstOther = byName.findIndex((h) => personOf(h.file) !== 's2');
    expect(firstOther === -1 || firstOther >= s2.photos, JSON.stringify(byName.map((h) => [h.file, h.similarity]))).toBe(true);
    expect(byName.filter((h) => personOf(h.file) !== 's2').length).toBeLessThanOrEqual(1);
    for (let i = 1; i < byName.length; i++) expect(byName[i].similarity).toBeLessThanOrEqual(byName[i - 1].similarity);
    const text = (await cli(['search', gallery, '--person', 'Bob'])).stdout.split('\n');
    expect(text[0]).toMatch(new RegExp(`^Bob: ${byName.length} photos? named Bob or at similarity >= \\d\\.\\d+$`));
    // Each photo with its face's id, the one gallery faces lists for that photo (to put a wrong one right).
    expect(text[1]).toBe(`  ${byName[0].similarity.toFixed(3)}  ${byName[0].file}  (face ${byName[0].face}, Bob)`);
    const [listed] = JSON.parse((await cli(['gallery', 'faces', gallery, byName[0].file, '--json'])).stdout);
    expect(listed.faces.map((f: { id: number; person: string | null }) => [f.id, f.person])).toContainEqual([byName[0].face, 'Bob']);
    const both = await cli(['search', gallery, join(ORL, 's2', '5.pgm'), '--person', 'Bob']).catch((e) => e);
    expect(both.stderr.trim()).toBe('facegpu: give a photo of the person or --person <name>, not both');
    const neither = await cli(['search', gallery]).catch((e) => e);
    expect(neither.stderr.trim()).toBe('facegpu: give a photo of the person to search for, or --person <name>');
    const nobody = await cli(['search', gallery, '--person', 'Nobody']).catch((e) => e);
    expect(nobody.stderr.trim()).toBe(`facegpu: ${gallery}: no person named "Nobody" (see facegpu gallery list ${gallery})`);

    const second = await run(['--sheets', sheets]);
    expect(readdirSync(sheets)).not.toContain('cluster-999.jpg'); // replaced whole: no sheet of an older numbering left
    expect(second.clusters.find((c) => c.person === 'Bob')?.faces).toBeGreaterThanOrEqual(s2.faces);
    expect(second.clusters.filter((c) => c.person === null).length).toBe(2);
    const stats = JSON.parse((await cli(['gallery', 'stats', gallery, '--json'])).stdout);
    expect(stats).toMatchObject({ people: 1, photos: 31, unlabelled: stats.faces - s2.faces });

    // Renamed: in the gallery and in the library, so identify and search say the new name.
    const renamed = JSON.parse((await cli(['gallery', 'rename', gallery, 'Bob', 'Robert', '--json'])).stdout);
    expect(renamed).toEqual({ from: 'Bob', to: 'Robert', result: 'renamed', faces: named.named, libraryFaces: second.clusters.find((c) => c.person === 'Bob')!.faces });
    expect(JSON.parse((await cli(['identify', gallery, join(ORL, 's2', '5.pgm'), '--json'])).stdout)[0].faces[0].label).toBe('Robert');
    const found = expectSearchJson(JSON.parse((await cli(['search', gallery, join(ORL, 's2', '5.pgm'), '--json'])).stdout));
    expect(found.filter((h) => h.person === 'Robert').length).toBe(hits.filter((h) => h.person === 'Bob').length);
    expect(found.some((h) => h.person === 'Bob')).toBe(false);
    const gone = await cli(['gallery', 'rename', gallery, 'Bob', 'Rob']).catch((e) => e);
    expect(gone.stderr.trim()).toBe(`facegpu: ${gallery}: no person named "Bob" (see facegpu gallery list ${gallery})`);
    // Stopped after the gallery was saved, before the library changed: run again, it finishes.
    const db = new Database(join(gallery, 'library.sqlite'));
    db.prepare("UPDATE faces SET person = 'Bob' WHERE person = 'Robert'").run();
    db.close();
    const finished = JSON.parse((await cli(['gallery', 'rename', gallery, 'Bob', 'Robert', '--json'])).stdout);
    expect(finished).toEqual(renamed);

    // One of Robert's photos leaves the tree (a drive not mounted) and the library with it; back
    // again, it is indexed afresh and its face is Robert's again: the gallery knows that very face.
    const faceOf = async (file: string) => JSON.parse((await cli(['gallery', 'faces', gallery, file, '--json'])).stdout)[0].faces[0].person;
    const away = join(tmp, 'away.pgm');
    // One whose bytes are nowhere else in the tree (s1/2.pgm holds s2/1.pgm's: back, it would be a copy of its twin).
    const twins = [join(photos, 's1', '2.pgm'), join(photos, 's2', '1.pgm')];
    const leaving = byName.find((h) => h.person === 'Bob' && !twins.includes(h.file))!.file;
    renameSync(leaving, away);
    expect(await index(photos, gallery)).toMatchObject({ removed: 1, new: 0 });
    renameSync(away, leaving);
    expect(await index(photos, gallery)).toMatchObject({ new: 1, copied: 0, embedded: 1 });
    expect(await faceOf(leaving)).toBe('Robert');

    // A face enrolled under a relative path (as enroll stored them before it stored full ones):
    // whether its photo is still there cannot be told from here, so a copy of it indexed is
    // named from it, and the gallery's face stays where it was, not moved to the copy.
    const enrolled = join(tmp, 'elsewhere', 'ann', '1.pgm');
    mkdirSync(dirname(enrolled), { recursive: true });
    copyFileSync(join(ORL, 's7', '1.pgm'), enrolled);
    await cli(['enroll', gallery, '--person', 'Ann', enrolled]);
    const galleryJson = join(gallery, 'gallery.json');
    const g = JSON.parse(readFileSync(galleryJson, 'utf8'));
    for (const f of g.faces) if (f.file === enrolled) f.file = join('ann', '1.pgm');
    writeFileSync(galleryJson, JSON.stringify(g));
    copyFileSync(enrolled, join(photos, 'ann-copy.pgm'));
    expect(await index(photos, gallery)).toMatchObject({ new: 1, embedded: 1 });
    expect(await faceOf(join(photos, 'ann-copy.pgm'))).toBe('Ann');
    expect(JSON.parse((await cli(['gallery', 'list', gallery, 'Ann', '--json'])).stdout).map((f: { file: string }) => f.file)).toEqual([join('ann', '1.pgm')]);
  }, 300_000);

  it('bad input: a missing root and a bad --queue are one-line errors before any work', async () => {
    const e1 = await cli(['index', join(tmp, 'nope'), '--gallery', gallery]).catch((e) => e);
    expect(e1.stderr).toMatch(/nope: no such folder/);
    const e2 = await cli(['index', photos, '--gallery', gallery, '--queue', 'http://x']).catch((e) => e);
    expect(e2.stderr).toMatch(/--queue http:\/\/x: not a Redis address/);
    const e3 = await cli(['index', photos, '--gallery', gallery, '--queue', 'redis://127.0.0.1:1']).catch((e) => e);
    expect(e3.stderr).toMatch(/cannot reach Redis \(ECONNREFUSED\)/);
    // An empty address (a variable not set in a script) is not "no queue": it was indexing alone.
    const e4 = await cli(['index', photos, '--gallery', gallery, '--queue', '']).catch((e) => e);
    expect([e4.code, e4.stderr.trim()]).toEqual([1, 'facegpu: --queue "": not a Redis address (redis://host:port)']);
    // cluster --sheets: a folder replaced whole, so not one inside the gallery, holding it, or holding other files.
    const inside = join(gallery, 'sheets');
    expect((await cli(['cluster', gallery, '--sheets', inside]).catch((e) => e)).stderr.trim()).toBe(`facegpu: --sheets ${inside}: is inside the gallery ${gallery}, which each save replaces whole; choose a folder outside it`);
    expect((await cli(['cluster', gallery, '--sheets', tmp]).catch((e) => e)).stderr.trim()).toBe(`facegpu: --sheets ${tmp}: holds the gallery ${gallery}, and the sheets' folder is replaced whole; choose a folder outside it`);
    expect((await cli(['cluster', gallery, '--sheets', join(photos, 's2')]).catch((e) => e)).stderr.trim()).toBe(
      `facegpu: --sheets ${join(photos, 's2')}: holds files that are not cluster sheets; name a new or empty folder (it is replaced whole)`,
    );
  }, 120_000);
});

describe('index --min-face: small faces in big photos, kept for later runs', () => {
  it('a group photo gives its 12 faces with --min-face, later runs keep the setting, a changed one searches again (photos too small for tiles excepted) and keeps names', async () => {
    const photos = join(tmp, 'group-photos');
    const gallery = join(tmp, 'group-gallery');
    mkdirSync(photos, { recursive: true });
    const small = await writeGroupPhoto(join(photos, 'small.png'), 120);
    const big = await writeGroupPhoto(join(photos, 'big.png'), 600);
    copyFileSync(join(ORL, 's13', '1.pgm'), join(photos, 'ann.pgm'));
    const library = () => new Database(join(gallery, 'library.sqlite'));
    const facesIn = (file: string) => {
      const db = library();
      const rows = db.prepare('SELECT f.x, f.y, f.w, f.h, f.person FROM faces f JOIN photos p ON p.id = f.photo WHERE p.path = ? ORDER BY f.x, f.y').all(join(photos, file)) as { x: number; y: number; w: number; h: number; person: string | null }[];
      db.close();
      return rows;
    };
    const places = (file: string, g: typeof small) => facesIn(file).map((r) => g.placeOf([r.x, r.y, r.w, r.h])).sort((a, b) => a - b);
    const named = () => [...facesIn('ann.pgm'), ...facesIn('big.png')].filter((r) => r.person).map((r) => r.person);
    const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

    expect(await index(photos, gallery)).toMatchObject({ photos: 3, new: 3, changed: 0 });
    expect(places('small.png', small).length).toBeLessThan(3);
    expect(places('big.png', big)).toEqual(all);
    // Names given to Ann's face and to a face of the big photo (as `gallery name` gives them).
    const db = library();
    db.prepare("UPDATE faces SET person = 'Ann' WHERE photo = (SELECT id FROM photos WHERE path = ?)").run(join(photos, 'ann.pgm'));
    const first = facesIn('big.png')[0];
    db.prepare("UPDATE faces SET person = 'Zed' WHERE x = ? AND y = ?").run(first.x, first.y);
    db.close();
    expect(named()).toEqual(['Ann', 'Zed']);

    // Ann's 92x112 photo has no tiles either way: kept as it is, without GPU work.
    const run = await cli(['index', photos, '--gallery', gallery, '--min-face', '80', '--json']);
    expect(run.stderr).toContain('facegpu: 2 photos indexed before are searched again for faces down to 80 pixels (named faces keep their names)');
    expect(expectIndexJson(JSON.parse(run.stdout))).toMatchObject({ photos: 3, new: 0, changed: 2, skipped: 1, embedded: 2 });
    expect(places('small.png', small)).toEqual(all);
    expect(places('big.png', big)).toEqual(all);
    expect(named()).toEqual(['Ann', 'Zed']);

    // Kept: a run without the flag looks for small faces too, so nothing is to do.
    expect(await index(photos, gallery)).toMatchObject({ changed: 0, skipped: 3, embedded: 0 });
    // A photo added later is searched as the library is.
    await writeGroupPhoto(join(photos, 'small-2.png'), 120, 2);
    expect(await index(photos, gallery)).toMatchObject({ new: 1, embedded: 1, faces: 12 + 12 + 1 + 12 });

    expect(await index(photos, gallery, ['--min-face', '0'])).toMatchObject({ changed: 3, skipped: 1, embedded: 3 });
    expect(places('small.png', small).length).toBeLessThan(3);
    expect(named()).toEqual(['Ann', 'Zed']);

    const bad = await cli(['index', photos, '--gallery', gallery, '--min-face', '10']).catch((e) => e);
    expect(bad.stderr.trim()).toBe('facegpu: --min-face must be 0 (the whole photo only) or a whole number of pixels from 24, got 10');
  }, 600_000);
});

describe('index: killed with SIGKILL mid-run', () => {
  it('a rerun stores only what was not stored, and no photo twice', async () => {
    const photos = join(tmp, 'killed-photos');
    const gallery = join(tmp, 'killed-gallery');
    orlTree(photos, [4, 5, 6, 7, 8, 9]);
    const child = spawn('node', [CLI, 'index', photos, '--gallery', gallery, '--batch-size', '4', '--no-progress'], { stdio: 'ignore' });
    const count = () => {
      try {
        const db = new Database(join(gallery, 'library.sqlite'), { readonly: true, timeout: 5000 });
        try {
          return (db.prepare('SELECT COUNT(*) AS n FROM photos').get() as { n: number }).n;
        } finally {
          db.close();
        }
      } catch {
        return 0;
      }
    };
    const deadline = Date.now() + 240_000;
    while (count() < 12 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const stored = count();
    expect(stored).toBeGreaterThanOrEqual(12);
    expect(stored).toBeLessThan(60); // killed mid-run, not after
    expect(stored % 4).toBe(0); // whole batches only
    const r = await index(photos, gallery);
    expect(r).toMatchObject({ photos: 60, new: 60 - stored, changed: 0, skipped: stored, failed: 0 });
    const db = new Database(join(gallery, 'library.sqlite'), { readonly: true });
    try {
      expect((db.prepare('SELECT COUNT(*) AS n FROM photos').get() as { n: number }).n).toBe(60);
      // No face stored twice: within a photo, no two faces share a box.
      expect(facesStoredTwice(db)).toBe(0);
    } finally {
      db.close();
    }
  }, 400_000);
});
