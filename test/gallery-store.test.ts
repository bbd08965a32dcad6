// Galleries on disk: the round trip, an index kind that is not available (rebuilt, and said),
// damaged or missing derived files (rebuilt, and said), damaged essential files (refused with a
// one-line error), a save that fails half-way (the previous gallery stays), default calibrations.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compactJson, defaultCalibrationFrom } from '../src/gallery/calibration-record.ts';
import { FlatIndex } from '../src/gallery/flat-index.ts';
import { Gallery, type FaceInput } from '../src/gallery/gallery.ts';
import { normalise } from '../src/gallery/normalise.ts';
import { loadGallery, readDefaultCalibration, saveGallery } from '../src/gallery/store-node.ts';
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
    expect(notices[0]).toMatch(/calibration.json: cannot read the calibration \(ENOENT\): re-calibrating$/);
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
    await expect(readDefaultCalibration(join(tmp, 'absent.json'))).rejects.toThrow(`${join(tmp, 'absent.json')}: cannot read the default calibration (ENOENT)`);
  });
});
