// Galleries on disk: the round trip, an index kind that is not available (rebuilt, and said),
// damaged or missing derived files (rebuilt, and said), damaged essential files (refused with a
// one-line error), a save that fails half-way (the previous gallery stays), default calibrations.
// A save keeps what it does not write itself: a link to the folder (written through, and
// locked beside the folder it points to), the folder's mode and owner, the user's files and
// subfolders, also when the saving process is killed at any moment.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compactJson, defaultCalibrationFrom } from '../src/gallery/calibration-record.ts';
import { FlatIndex } from '../src/gallery/flat-index.ts';
import { Gallery, type FaceInput } from '../src/gallery/gallery.ts';
import { normalise } from '../src/gallery/normalise.ts';
import { checkGalleryFolder, galleryExists, loadGallery, readDefaultCalibration, saveGallery, withGalleryLock } from '../src/gallery/store-node.ts';
import { rowOf, syntheticFaces } from '../src/gallery/synthetic.ts';
import { usearchIndexProvider } from '../src/gallery/usearch-index-node.ts';
import { flatIndexProvider } from '../src/gallery/flat-index.ts';
import type { IndexProvider } from '../src/gallery/vector-index.ts';

const dim = 128;
const backbone = { id: 'face', sha256: 'f'.repeat(64) };
const shape = { seed: 21, dim, noise: 1, common: 1 };
const enrolled = syntheticFaces({ ...shape, people: 6, perPerson: 4 });
const probes = syntheticFaces({ ...shape, people: 6, perPerson: 1, faceSeed: 1 });
const tmp = mkdtempSync(join(tmpdir(), 'facegpu-gallery-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const faces = (p: number): FaceInput[] =>
  Array.from({ length: 4 }, (_, f) => ({ file: `photos/${p}-${f}.jpg`, box: [1, 2, 30, 40], score: 0.9 + f / 100, descriptor: rowOf(enrolled.descriptors, dim, p * 4 + f) }));

function makeGallery(people: number, index: IndexProvider = usearchIndexProvider): Gallery {
  const g = Gallery.create({ backbone, preprocessing: { detector: 'blazeface', margin: 1.3 }, normalisation: { method: 'l2' }, dim, index });
  for (let p = 0; p < people; p++) g.addFaces(`p${p}`, faces(p));
  return g;
}

const labels = (g: Gallery) => g.identify(probes.descriptors, { threshold: -1, top: 3 }).map((r) => r.candidates);
let n = 0;
const fresh = () => join(tmp, `g${n++}`);

describe('round trip', () => {
  it('loads what it saved: people, faces, descriptors, calibration, index', async () => {
    const dir = fresh();
    const g = makeGallery(6);
    await saveGallery(dir, g);
    expect(readdirSync(dir).sort()).toEqual(['calibration.json', 'descriptors.bin', 'gallery.json', 'index.usearch']);
    const notices: string[] = [];
    const back = await loadGallery(dir, { onNotice: (m) => notices.push(m) });
    expect(notices).toEqual([]);
    expect(back.name).toBe(dir);
    expect(back.indexKind).toBe('usearch');
    expect(back.people()).toEqual(g.people());
    expect(back.faces()).toEqual(g.faces());
    expect(back.preprocessing).toEqual({ detector: 'blazeface', margin: 1.3 });
    expect(back.toFiles().descriptors).toEqual(g.toFiles().descriptors);
    expect(back.calibration().kinds).toEqual(g.calibration().kinds);
    expect(labels(back)).toEqual(labels(g));
    expect(back.thresholdFor('identify', 0.1)).toEqual(g.thresholdFor('identify', 0.1));
    // It grows after loading, and the new ids continue.
    const [id] = back.addFaces('p0', faces(0).slice(0, 1));
    expect(id).toBe(24);
    await saveGallery(dir, back);
    expect((await loadGallery(dir)).people()[0]).toEqual({ name: 'p0', faces: 5, photos: 4 });
  });

  it('an index kind not available here is rebuilt from the descriptors, and said so', async () => {
    const dir = fresh();
    const g = makeGallery(6);
    await saveGallery(dir, g);
    const notices: string[] = [];
    const back = await loadGallery(dir, { providers: [flatIndexProvider], onNotice: (m) => notices.push(m) });
    expect(notices).toEqual([`${dir}: written with a "usearch" index, which is not available here (flat): rebuilt the flat index from the stored descriptors`]);
    expect(back.indexKind).toBe('flat');
    expect(labels(back)).toEqual(labels(g));
    await saveGallery(dir, back);
    expect(readdirSync(dir)).toContain('index.flat');
  });

  it('a damaged index or calibration is rebuilt, and said so', async () => {
    const dir = fresh();
    await saveGallery(dir, makeGallery(3));
    writeFileSync(join(dir, 'index.usearch'), 'garbage');
    rmSync(join(dir, 'calibration.json'));
    const notices: string[] = [];
    const back = await loadGallery(dir, { onNotice: (m) => notices.push(m) });
    expect(notices).toHaveLength(2);
    expect(notices[0]).toMatch(/calibration.json: cannot read the calibration \(no such file or folder\): re-calibrating$/);
    expect(notices[1]).toMatch(new RegExp(`^${dir}: its index file index.usearch cannot be used \\(.*not a readable usearch index.*\\): rebuilt the usearch index from the stored descriptors$`));
    expect(back.identify(probes.descriptors.subarray(0, dim), { threshold: -1 })[0].label).toBe('p0');
    // A calibration of other faces (hand-edited, or an older gallery) is recomputed.
    await saveGallery(dir, back);
    const cal = JSON.parse(readFileSync(join(dir, 'calibration.json'), 'utf8'));
    writeFileSync(join(dir, 'calibration.json'), JSON.stringify({ ...cal, basis: '0:0' }));
    const again: string[] = [];
    await loadGallery(dir, { onNotice: (m) => again.push(m) });
    expect(again).toEqual([`${dir}: the stored calibration does not match the faces: re-calibrated`]);
  });
});

describe('renaming a person', () => {
  it('a new name: the same faces, answers and calibration under it, through a save', async () => {
    const g = makeGallery(6);
    const before = labels(g);
    const kinds = g.calibration().kinds;
    expect(g.renamePerson('p0', 'Ann')).toBe('renamed');
    expect(g.people().map((p) => p.name).sort()).toEqual(['Ann', 'p1', 'p2', 'p3', 'p4', 'p5']);
    expect(g.faces().filter((f) => f.person === 'Ann').length).toBe(4);
    const rename = (c: { label: string; similarity: number }[]) => c.map((x) => ({ ...x, label: x.label === 'p0' ? 'Ann' : x.label }));
    expect(labels(g)).toEqual(before.map(rename));
    expect(g.calibration().kinds).toEqual(kinds);
    const dir = fresh();
    await saveGallery(dir, g);
    const back = await loadGallery(dir);
    expect(back.people()).toEqual(g.people());
    expect(labels(back)).toEqual(labels(g));
  });

  it('the name of another person: one person with both\'s faces, as if enrolled together; the calibration made again', () => {
    const g = makeGallery(6);
    const kinds = g.calibration().kinds;
    expect(g.renamePerson('p1', 'p2')).toBe('merged');
    expect(g.people().find((p) => p.name === 'p2')).toEqual({ name: 'p2', faces: 8, photos: 8 });
    expect(g.people().some((p) => p.name === 'p1')).toBe(false);
    // The same as a gallery where p1's faces were enrolled as p2 from the start.
    const together = Gallery.create({ backbone, preprocessing: {}, normalisation: { method: 'l2' }, dim });
    for (const p of [0, 2, 3, 4, 5]) together.addFaces(`p${p}`, faces(p));
    together.addFaces('p2', faces(1));
    const round = (c: { label: string; similarity: number }[][]) => c.map((r) => r.map((x) => ({ label: x.label, similarity: Math.round(x.similarity * 1e5) })));
    expect(round(labels(g))).toEqual(round(labels(together)));
    expect(g.calibration().kinds).not.toEqual(kinds);
  });

  it('refused: a person that is not there, an empty name', () => {
    const g = makeGallery(2);
    expect(() => g.renamePerson('nobody', 'x')).toThrow('no person "nobody" in the gallery');
    expect(() => g.renamePerson('p0', ' ')).toThrow('a person needs a non-empty name');
    expect(g.people().map((p) => p.name)).toEqual(['p0', 'p1']);
  });
});

describe('refused', () => {
  it('a gallery path that is a file, or under one: the file is named', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'hi');
    await expect(checkGalleryFolder(file)).rejects.toThrow(`${file}: cannot be used as a gallery (it is a file)`);
    const under = join(file, 'g');
    await expect(checkGalleryFolder(under)).rejects.toThrow(`${under}: cannot be used as a gallery (${file} is a file, not a folder)`);
    await expect(saveGallery(under, makeGallery(2))).rejects.toThrow(`(${file} is a file, not a folder)`);
  });

  it('missing, not a gallery, or a folder that is not one to replace', async () => {
    const dir = fresh();
    await expect(loadGallery(dir)).rejects.toThrow(`${dir}: no gallery here (the folder does not exist): enroll people first`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'holiday.jpg'), 'x');
    await expect(loadGallery(dir)).rejects.toThrow(`${dir}: not a facegpu gallery (no gallery.json)`);
    await expect(saveGallery(dir, makeGallery(2))).rejects.toThrow(`${dir}: exists and is not a facegpu gallery (no gallery.json); refusing to replace it`);
    expect(readdirSync(dir)).toEqual(['holiday.jpg']);
  });

  it('truncated descriptors, another format version, inconsistent or broken JSON', async () => {
    const dir = fresh();
    await saveGallery(dir, makeGallery(2));
    const json = JSON.parse(readFileSync(join(dir, 'gallery.json'), 'utf8'));
    const bin = readFileSync(join(dir, 'descriptors.bin'));

    writeFileSync(join(dir, 'descriptors.bin'), bin.subarray(0, bin.length - 10));
    await expect(loadGallery(dir)).rejects.toThrow(`${join(dir, 'descriptors.bin')}: ${bin.length - 10} bytes, but gallery.json lists 8 faces of 128 float32 (${bin.length} bytes): truncated`);
    const scaled = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
    scaled[5 * dim] += 0.5;
    writeFileSync(join(dir, 'descriptors.bin'), new Uint8Array(scaled.buffer));
    await expect(loadGallery(dir)).rejects.toThrow(/descriptors.bin: row 5 is not a normalised descriptor \(squared norm .*\): the file is damaged$/);
    writeFileSync(join(dir, 'descriptors.bin'), bin);

    const file = join(dir, 'gallery.json');
    writeFileSync(file, JSON.stringify({ ...json, version: 2 }));
    await expect(loadGallery(dir)).rejects.toThrow(`${file}: gallery format version 2, this facegpu reads 1`);
    writeFileSync(file, JSON.stringify({ ...json, format: 'facegpu-model' }));
    await expect(loadGallery(dir)).rejects.toThrow(`${file}: not a facegpu gallery (format "facegpu-model")`);
    // Another program's gallery.json, or none at all in it: said in words, never "undefined".
    for (const [text, what] of [['{"photos": []}', 'no "format" field'], ['null', 'it holds null'], ['[]', 'it holds an array'], ['3', 'it holds a number']]) {
      writeFileSync(file, text);
      await expect(loadGallery(dir)).rejects.toThrow(`${file}: not a facegpu gallery (${what})`);
    }
    writeFileSync(file, JSON.stringify({ ...json, faces: [null, ...json.faces.slice(1)] }));
    await expect(loadGallery(dir)).rejects.toThrow(`${file}: face 0 has no valid "id"`);
    writeFileSync(file, JSON.stringify({ ...json, people: [{ ...json.people[0], faces: [4] }, json.people[1]] }));
    await expect(loadGallery(dir)).rejects.toThrow(`${file}: person "p0" lists face 4, which is not one of theirs`);
    writeFileSync(file, JSON.stringify({ ...json, normalisation: { method: 'whiten' } }));
    await expect(loadGallery(dir)).rejects.toThrow(`${file}: unknown normalisation method "whiten" (this facegpu knows l2, mean-l2)`);
    writeFileSync(file, '{"format": ');
    await expect(loadGallery(dir)).rejects.toThrow(new RegExp(`^${file}: the gallery is not valid JSON`));
  });
});

describe('atomic save', () => {
  it('a save that fails half-way leaves the previous gallery, whole', async () => {
    const dir = fresh();
    await saveGallery(dir, makeGallery(3));
    // An index that fails when written, after the other files are: a full disk, say.
    class FailingIndex extends FlatIndex {
      override serialize(): Uint8Array {
        throw new Error('no space left on device (simulated)');
      }
    }
    const failing: IndexProvider = { kind: 'flat', create: (d) => new FailingIndex(d), deserialize: (b, d) => FlatIndex.deserialize(b, d) };
    const g = await loadGallery(dir, { providers: [failing], onNotice: () => {} });
    g.addFaces('p3', faces(3));
    g.removePerson('p0');
    await expect(saveGallery(dir, g)).rejects.toThrow('no space left on device (simulated)');
    const back = await loadGallery(dir);
    expect(back.people().map((p) => p.name)).toEqual(['p0', 'p1', 'p2']);
    expect(readdirSync(tmp).filter((name) => name.startsWith(`.${dir.split('/').pop()}.`))).toEqual([]);
  });
});

describe('what a save keeps', () => {
  /** Side folders (.name.tmp-*, .name.old-*) and locks left beside a folder. */
  const beside = (parent: string, name: string) => readdirSync(parent).filter((n) => n.startsWith(`.${name}.`));

  // Root may write in any folder: the owner of a read-only one is another user, run with runuser.
  const asNobody = process.getuid?.() === 0 && spawnSync('runuser', ['--help']).status === 0;
  it.skipIf(!asNobody)("a gallery its owner made read-only (0500) is saved by them, kept 0500, nothing left beside it (a whole copy was, and EACCES said)", () => {
    const top = join(tmp, 'nobody-owns');
    mkdirSync(top);
    chmodSync(tmp, 0o755); // for nobody to reach it
    const dir = join(top, 'g');
    const g = makeGallery(2);
    const save = (who: 'root' | 'nobody') => {
      const code = `import { loadGallery, saveGallery } from ${JSON.stringify(join(import.meta.dirname, '..', 'src', 'gallery', 'store-node.ts'))}; await saveGallery(process.argv[1], await loadGallery(process.argv[1]));`;
      const args = ['--import', 'tsx', '--input-type=module', '-e', code, dir];
      return who === 'root' ? spawnSync(process.execPath, args, { cwd: join(import.meta.dirname, '..') }) : spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, ...args], { cwd: join(import.meta.dirname, '..') });
    };
    return saveGallery(dir, g).then(() => {
      expect(save('root').status).toBe(0);
      spawnSync('chown', ['-R', 'nobody', top]);
      chmodSync(dir, 0o500);
      for (let i = 0; i < 2; i++) {
        const r = save('nobody');
        expect(r.status, String(r.stderr)).toBe(0);
      }
      expect(statSync(dir).mode & 0o777).toBe(0o500);
      expect(beside(top, 'g')).toEqual([]);
    });
  });

  it("a gallery's files keep their modes on a save (made private, 600, or read-only, 444; a 644 had come back), and a file new to the folder gets the umask", async () => {
    const dir = fresh();
    await saveGallery(dir, makeGallery(2));
    chmodSync(join(dir, 'gallery.json'), 0o444);
    chmodSync(join(dir, 'descriptors.bin'), 0o600);
    chmodSync(join(dir, 'calibration.json'), 0o640);
    const g = await loadGallery(dir);
    g.addFaces('p9', faces(3));
    await saveGallery(dir, g);
    expect((await loadGallery(dir)).people().map((p) => p.name)).toContain('p9');
    expect(statSync(join(dir, 'gallery.json')).mode & 0o7777).toBe(0o444);
    expect(statSync(join(dir, 'descriptors.bin')).mode & 0o7777).toBe(0o600);
    expect(statSync(join(dir, 'calibration.json')).mode & 0o7777).toBe(0o640);
    // The index file of another kind than the last save's is new to the folder.
    const before = readdirSync(dir).find((n) => n.startsWith('index.'))!;
    chmodSync(join(dir, before), 0o600);
    const other = await loadGallery(dir, { providers: [before === 'index.flat' ? usearchIndexProvider : flatIndexProvider] });
    await saveGallery(dir, other);
    const index = readdirSync(dir).find((n) => n.startsWith('index.'))!;
    expect(index).not.toBe(before);
    expect(statSync(join(dir, index)).mode & 0o777).toBe(0o666 & ~process.umask());
  });

  it('a gallery folder that is a link is written through it: the link stays and the folder it points to has the new gallery', async () => {
    const top = fresh();
    mkdirSync(join(top, 'store'), { recursive: true });
    const real = join(top, 'store', 'real');
    const glink = join(top, 'glink');
    await saveGallery(real, makeGallery(2));
    symlinkSync('store/real', glink);
    const g = await loadGallery(glink);
    g.renamePerson('p1', 'P1');
    await saveGallery(glink, g);
    expect(lstatSync(glink).isSymbolicLink()).toBe(true);
    expect(readlinkSync(glink)).toBe('store/real');
    expect((await loadGallery(real)).people().map((p) => p.name)).toEqual(['p0', 'P1']);
    expect(beside(top, 'glink')).toEqual([]);
    expect(beside(join(top, 'store'), 'real')).toEqual([]);

    // A writer through the link and one through the folder's own path share one lock.
    await withGalleryLock(glink, async () => {
      await expect(withGalleryLock(real, async () => {}, { timeoutMs: 0 })).rejects.toThrow(`${real}: the gallery is locked by another writer`);
    });
    await withGalleryLock(real, async () => {
      await expect(withGalleryLock(glink, async () => {}, { timeoutMs: 0 })).rejects.toThrow(`${real}: the gallery is locked by another writer`);
    });

    // A writer killed between its two renames leaves the link dangling: the next load puts the
    // set-aside folder back where the link points.
    const dead = 2 ** 22 + 1; // above Linux's pid_max default: no such process
    renameSync(real, join(top, 'store', `.real.old-${dead}-${Date.now()}-0`));
    expect(await galleryExists(glink)).toBe(true);
    expect((await loadGallery(glink)).people().map((p) => p.name)).toEqual(['p0', 'P1']);
    expect(lstatSync(glink).isSymbolicLink()).toBe(true);
    expect(beside(join(top, 'store'), 'real')).toEqual([]);

    // A link to nothing is refused, before any work as at the save, and nothing is made.
    const nowhere = join(top, 'nowhere');
    symlinkSync('store/none', nowhere);
    const refusal = `${nowhere}: not replaced: it is a dangling link (to store/none, which does not exist), not written through`;
    await expect(checkGalleryFolder(nowhere)).rejects.toThrow(refusal);
    await expect(saveGallery(nowhere, makeGallery(1))).rejects.toThrow(refusal);
    expect(readdirSync(join(top, 'store'))).toEqual(['real']);
  });

  // A mount needs root (and a container allowed to mount).
  it.skipIf(process.getuid?.() !== 0)('a gallery folder that is a mount point (a bind mount of it) is refused before any work, and the gallery in it kept', async ({ skip }) => {
    // The tester's case: `mount --bind`, then enroll computed every descriptor and failed at the
    // save with "EBUSY: resource busy or locked, rename".
    const dir = fresh();
    mkdirSync(dir);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
    } catch {
      return skip('no mounts allowed here (a container without the capability)');
    }
    try {
      const refusal = `${dir}: not replaced: it is a mount point: it is replaced whole when written (a rename), which a mount point cannot be; mount the folder above it, or use a folder inside it`;
      await expect(checkGalleryFolder(dir)).rejects.toThrow(refusal);
      await expect(saveGallery(dir, makeGallery(1))).rejects.toThrow(refusal);
      // A folder inside it is a gallery like any other.
      await saveGallery(join(dir, 'g'), makeGallery(2));
      expect((await loadGallery(join(dir, 'g'))).people()).toHaveLength(2);
      expect(readdirSync(dir)).toEqual(['g']);
    } finally {
      execFileSync('umount', [dir]);
    }
  });

  it('the folder\'s mode, and its owner and group where permitted, survive a save', async () => {
    const dir = fresh();
    await saveGallery(dir, makeGallery(2));
    for (const mode of [0o700, 0o750, 0o2770]) {
      chmodSync(dir, mode);
      await saveGallery(dir, makeGallery(3));
      expect((statSync(dir).mode & 0o7777).toString(8)).toBe(mode.toString(8));
    }
    // Only root may give a folder to another user and group.
    if (process.getuid?.() === 0) {
      chownSync(dir, 4321, 8765);
      await saveGallery(dir, makeGallery(2));
      expect([statSync(dir).uid, statSync(dir).gid]).toEqual([4321, 8765]);
    }
  });

  /** A gallery with the user's things in it: a file, a link, a subfolder with a file and a read-only subfolder. */
  function userThings(dir: string, files = 1): void {
    writeFileSync(join(dir, 'notes.txt'), 'who is who\n');
    symlinkSync('notes.txt', join(dir, 'notes.link'));
    mkdirSync(join(dir, 'extra', 'deep'), { recursive: true });
    for (let i = 0; i < files; i++) writeFileSync(join(dir, 'extra', `f${i}.txt`), `file ${i}\n`);
    writeFileSync(join(dir, 'extra', 'deep', 'x.txt'), 'deep\n');
    chmodSync(join(dir, 'extra', 'deep'), 0o500);
    chmodSync(join(dir, 'extra'), 0o710);
  }
  function expectUserThings(dir: string, files = 1): void {
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('who is who\n');
    expect(readlinkSync(join(dir, 'notes.link'))).toBe('notes.txt');
    expect(readdirSync(join(dir, 'extra')).length).toBe(files + 1);
    for (let i = 0; i < files; i++) expect(readFileSync(join(dir, 'extra', `f${i}.txt`), 'utf8')).toBe(`file ${i}\n`);
    expect(readFileSync(join(dir, 'extra', 'deep', 'x.txt'), 'utf8')).toBe('deep\n');
    expect(statSync(join(dir, 'extra')).mode & 0o7777).toBe(0o710);
    expect(statSync(join(dir, 'extra', 'deep')).mode & 0o7777).toBe(0o500);
  }

  it('the user\'s files, links and subfolders in the gallery folder survive a save; an index of another kind does not', async () => {
    const dir = fresh();
    await saveGallery(dir, makeGallery(2));
    userThings(dir);
    const mtime = statSync(join(dir, 'extra')).mtimeMs;
    const g = await loadGallery(dir, { providers: [flatIndexProvider], onNotice: () => {} });
    g.addFaces('p2', faces(2));
    await saveGallery(dir, g);
    expectUserThings(dir);
    expect(Math.abs(statSync(join(dir, 'extra')).mtimeMs - mtime)).toBeLessThan(1); // times as far as utimes sets them
    expect(readdirSync(dir).sort()).toEqual(['calibration.json', 'descriptors.bin', 'extra', 'gallery.json', 'index.flat', 'notes.link', 'notes.txt']);
    expect((await loadGallery(dir)).people().map((p) => p.name)).toEqual(['p0', 'p1', 'p2']);
  });

  it('a saving process killed at any moment loses nothing: the last good gallery loads and the user\'s things are all there', async () => {
    const dir = fresh();
    await saveGallery(dir, makeGallery(2));
    const files = 400; // carrying them takes a while: kills land in it, and around the renames
    userThings(dir, files);
    const script = join(tmp, 'saver.mts');
    const src = (f: string) => JSON.stringify(resolve(import.meta.dirname, '..', f));
    writeFileSync(
      script,
      `import { loadGallery, saveGallery } from ${src('src/gallery/store-node.ts')};
const dir = process.argv[2];
for (let i = 0; ; i++) {
  const g = await loadGallery(dir, { onNotice: () => {} });
  await saveGallery(dir, g);
  if (i === 0) console.log('saving');
}
`,
    );
    let midSave = 0;
    for (const delay of [0, 7, 23, 41, 67, 101]) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { cwd: resolve(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((r) => child.stdout.on('data', (d) => String(d).includes('saving') && r()));
      await new Promise((r) => setTimeout(r, delay));
      const closed = new Promise((r) => child.on('close', r));
      child.kill('SIGKILL');
      await closed;
      if (beside(tmp, dir.split('/').pop()!).length) midSave++;
      expect((await loadGallery(dir)).people().map((p) => p.name)).toEqual(['p0', 'p1']);
      expectUserThings(dir, files);
    }
    expect(beside(tmp, dir.split('/').pop()!)).toEqual([]);
    expect(midSave).toBeGreaterThan(0); // the kills did land in saves
  }, 120_000);
});

describe('default calibration files', () => {
  const other = syntheticFaces({ ...shape, seed: 5, people: 10, perPerson: 3 });
  const dc = defaultCalibrationFrom({ backbone, normalisation: { method: 'l2' }, source: 'synthetic', descriptors: normalise(other.descriptors, dim, { method: 'l2' }), person: other.person, people: 10, dim });

  it('reads back what defaultCalibrationFrom wrote, and refuses broken ones', async () => {
    const file = join(tmp, 'face.calibration.json');
    writeFileSync(file, compactJson(dc));
    const back = await readDefaultCalibration(file);
    expect(back.kinds).toEqual(dc.kinds);
    expect(back.summary.verify.thresholdAtFar1e2).toBeCloseTo(dc.summary.verify.thresholdAtFar1e2!, 6);
    const g = makeGallery(1);
    g.setDefaultCalibration(back);
    expect(g.thresholdFor('identify', 0.01).source).toBe('default');

    writeFileSync(file, compactJson({ ...dc, version: 3 }));
    await expect(readDefaultCalibration(file)).rejects.toThrow(`${file}: default calibration version 3, this facegpu reads 1`);
    writeFileSync(file, compactJson({ ...dc, people: 1 }));
    await expect(readDefaultCalibration(file)).rejects.toThrow(`${file}: a default calibration needs at least two people (has 1)`);
    writeFileSync(file, 'nope');
    await expect(readDefaultCalibration(file)).rejects.toThrow(new RegExp(`^${file}: default calibration is not valid JSON`));
    await expect(readDefaultCalibration(join(tmp, 'absent.json'))).rejects.toThrow(`${join(tmp, 'absent.json')}: cannot read the default calibration (no such file or folder)`);
  });
});
