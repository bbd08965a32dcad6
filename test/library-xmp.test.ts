// `gallery export-xmp` and `import-xmp`: the photo library's named faces written into XMP
// sidecars as MWG face regions, and other tools' regions read back as names, without a GPU
// (synthetic faces on small real photos). Checked: the geometry against the decoder for every
// EXIF orientation (and a HEIC turned by its irot), what a sidecar holds after a run (read back by ExifTool), that a second run
// changes nothing, that other tools' fields and regions stay (a different name at the same face
// is kept and reported), that a rename or a face taken off changes the region facegpu wrote,
// that a dry run writes nothing, the CLI; and that an import names the faces under other
// tools' regions (sidecar and photo together, Microsoft's too, boxes drawn otherwise), leaves facegpu's own names
// and corrections alone, and does not read facegpu's own regions back.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ExifTool, type WriteTags } from 'exiftool-vendored';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gallery } from '../src/gallery/gallery.ts';
import { defaultNodeIndex } from '../src/gallery/index-node.ts';
import { saveGallery } from '../src/gallery/store-node.ts';
import { gaussian } from '../src/gallery/synthetic.ts';
import { loadImageRaw } from '../src/image/decode.ts';
import { iptcRegions, matchRegions, planRegions, storedArea, type MwgRegion } from '../src/library/face-regions.ts';
import { nameFaces, unnameFaces } from '../src/library/people-node.ts';
import type { PhotoFaces } from '../src/library/photo-faces.ts';
import { scanLibrary, sha256File } from '../src/library/scan-node.ts';
import { LibraryStore } from '../src/library/store-node.ts';
import { exportXmpRegions, importXmpNames, sidecarOf } from '../src/library/xmp-node.ts';
import { loadGallery } from '../src/gallery/store-node.ts';
import { Prng } from '../src/train/prng.ts';
import { RemedyError } from '../src/remedy.ts';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');

const DIM = 8;
const backbone = { id: 'face', sha256: 'b'.repeat(64) };
const prng = new Prng(5);
let tmp: string;
let et: ExifTool;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-xmp-'));
  et = new ExifTool({ maxProcs: 1 });
});
afterAll(async () => {
  await et.end();
  rmSync(tmp, { recursive: true, force: true });
});

/** A grey JPEG of `width` x `height` as stored, shown turned by EXIF `orientation`. */
async function jpeg(path: string, width: number, height: number, orientation = 1): Promise<void> {
  await sharp({ create: { width, height, channels: 3, background: '#808080' } }).jpeg().withMetadata({ orientation }).toFile(path);
}

/** Grey 200x100 JPEGs named `files` in a new folder `name` (a file given as [file, orientation] is stored sideways, 100x200, shown turned). */
async function greyPhotos(name: string, files: (string | [string, number])[]): Promise<string[]> {
  const folder = join(tmp, name);
  mkdirSync(folder);
  const paths: string[] = [];
  for (const f of files) {
    const [file, orientation] = typeof f === 'string' ? [f, 1] : f;
    const path = join(folder, file);
    await (orientation === 1 ? jpeg(path, 200, 100) : jpeg(path, 100, 200, orientation));
    paths.push(path);
  }
  return paths;
}

/** A library in a new gallery folder: `photos` with their faces (x, y, w, h on the shown image). */
async function library(name: string, photos: { path: string; width: number; height: number; boxes: [number, number, number, number][]; descriptors?: Float32Array[] }[]): Promise<{ dir: string; ids: number[][] }> {
  const dir = join(tmp, name);
  await saveGallery(dir, Gallery.create({ name: dir, backbone, dim: DIM, preprocessing: {}, normalisation: { method: 'l2' }, index: defaultNodeIndex }));
  const store = LibraryStore.open(dir, { create: { dim: DIM, backbone } });
  const rows: PhotoFaces[] = photos.map((p) => ({
    path: p.path,
    size: statSync(p.path).size,
    mtimeMs: statSync(p.path).mtimeMs,
    sha256: p.path.padEnd(64, '0'),
    width: p.width,
    height: p.height,
    faces: p.boxes.map((box, i) => ({ box, score: 0.9, descriptor: p.descriptors?.[i] ?? gaussian(prng, new Float32Array(DIM)) })),
  }));
  store.storePhotos(rows);
  const byPath = new Map<string, number[]>();
  for (const f of store.faceEntries()) byPath.set(f.path, [...(byPath.get(f.path) ?? []), f.id]);
  store.close();
  return { dir, ids: photos.map((p) => byPath.get(p.path) ?? []) };
}

/** Grey photos `files` (folder `photos`) in a new library `name`, one face each, all named `person`. */
async function oneFaceEach(photos: string, name: string, files: string[], person = 'Ann'): Promise<{ dir: string; ids: number[][]; paths: string[] }> {
  const paths = await greyPhotos(photos, files);
  const { dir, ids } = await library(name, paths.map((path) => ({ path, width: 200, height: 100, boxes: [[20, 10, 40, 40]] as [number, number, number, number][] })));
  withStore(dir, (s) => s.namePerson(ids.map((f) => f[0]), person));
  return { dir, ids, paths };
}

function withStore<T>(dir: string, fn: (s: LibraryStore) => T): T {
  const s = LibraryStore.open(dir);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

const regionsOf = async (file: string): Promise<MwgRegion[]> => ((await et.read(file)).RegionInfo?.RegionList ?? []) as MwgRegion[];
const named = (rs: MwgRegion[]) => rs.map((r) => `${r.Type}:${r.Name ?? ''}`).sort();

describe('face regions on the stored image', () => {
  it('a box found on the decoded photo maps back to where the face is stored, for each EXIF orientation', async () => {
    const [W, H] = [60, 40];
    const face = { x: 10, y: 5, w: 14, h: 10 }; // on the stored pixels
    const stored = Buffer.alloc(W * H * 3);
    for (let y = face.y; y < face.y + face.h; y++) for (let x = face.x; x < face.x + face.w; x++) stored.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
    // Each orientation as a JPEG; and 6 as a HEIC, which heif-enc stores as an irot with the
    // EXIF Orientation kept beside it, as iPhones do (decode.ts applies the irot alone).
    for (const [o, kind] of [1, 2, 3, 4, 5, 6, 7, 8, 6].map((o, i) => [o, i === 8 ? 'heic' : 'jpg'] as const)) {
      const jpg = join(tmp, `orient-${o}.jpg`);
      await sharp(stored, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).withMetadata({ orientation: o }).toFile(jpg);
      const file = kind === 'jpg' ? jpg : jpg.replace(/jpg$/, 'heic');
      if (kind === 'heic') await exec('heif-enc', ['-q', '95', jpg, '-o', file]);
      // What detection sees: the photo as decode.ts shows it; the face's box found there.
      const shown = await loadImageRaw(file);
      let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
      for (let y = 0; y < shown.height; y++) {
        for (let x = 0; x < shown.width; x++) {
          if (shown.data[(y * shown.width + x) * 3] < 128) continue;
          [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
        }
      }
      const orientation = Number((await et.read(file)).Orientation ?? 1);
      expect(orientation).toBe(o);
      const area = storedArea([x0, y0, x1 - x0, y1 - y0], shown, orientation);
      const want = { x: (face.x + face.w / 2) / W, y: (face.y + face.h / 2) / H, w: face.w / W, h: face.h / H };
      for (const k of ['x', 'y', 'w', 'h'] as const) expect(Math.abs(area[k] - want[k]), `${kind}, orientation ${o}, ${k}`).toBeLessThan(1.5 / H);
    }
  });
});

describe('merging regions', () => {
  it("another tool's box drawn larger around the same face is that face (overlap 0.4): its other name is kept and facegpu's left out", () => {
    const ours = [{ face: 7, name: 'Ann', area: { x: 0.5, y: 0.5, w: 0.2, h: 0.2 } }];
    const larger = { Area: { X: 0.5, Y: 0.52, W: 0.3, H: 0.34, Unit: 'normalized' }, Name: 'Bob', Type: 'Face' };
    const plan = planRegions([larger], ours, []);
    expect(plan).toMatchObject({ regions: [larger], written: [], changed: false, kept: [{ face: 7, name: 'Ann', theirs: 'Bob' }] });
    expect(matchRegions([[larger]], ours, [])).toEqual([{ name: 'Bob', face: 7 }]);
    // Unnamed, it becomes Ann's; far off, both stay.
    expect(planRegions([{ ...larger, Name: undefined }], ours, []).regions.map((r) => r.Name)).toEqual(['Ann']);
    const far = { ...larger, Area: { ...larger.Area, X: 0.9 } };
    expect(planRegions([far], ours, []).regions.map((r) => r.Name)).toEqual(['Bob', 'Ann']);
  });
});

describe('gallery export-xmp', () => {
  it("writes each named face as a region, keeps other tools' fields and regions, and changes nothing on a second run", async () => {
    const [a, b, c] = await greyPhotos('p1', ['a.jpg', 'b.jpg', 'c.jpg']);
    const { dir, ids } = await library('g1', [
      { path: a, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40]] },
      { path: b, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40]] },
      { path: c, width: 200, height: 100, boxes: [[20, 10, 40, 40]] },
    ]);
    withStore(dir, (s) => {
      s.namePerson([ids[0][0], ids[1][0], ids[1][1]], 'Ann'); // a: Ann and someone unnamed; b: Ann twice (a mirror)
      s.namePerson([ids[0][1]], 'Cy');
    });
    // b.jpg's sidecar from another tool: a rating, a pet, a face at b's second face named Bob,
    // an unnamed face (a camera's) at its first.
    await et.write(sidecarOf(b), {
      Rating: 4,
      RegionInfo: {
        AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' },
        RegionList: [
          { Area: { X: 0.7, Y: 0.3, W: 0.2, H: 0.4, Unit: 'normalized' }, Name: 'Bob', Type: 'Face' },
          { Area: { X: 0.2, Y: 0.3, W: 0.2, H: 0.4, Unit: 'normalized' }, Type: 'Face' },
          { Area: { X: 0.5, Y: 0.8, W: 0.1, H: 0.1, Unit: 'normalized' }, Name: 'Rex', Type: 'Pet' },
        ],
      },
    }, { writeArgs: ['-overwrite_original'] });

    const r = await exportXmpRegions(dir);
    expect(r).toMatchObject({ photos: 2, written: 2, regions: 3, dropped: 0, failed: [], dryRun: false });
    expect(r.kept).toEqual([{ file: b, face: ids[1][1], name: 'Ann', theirs: 'Bob' }]);
    expect(existsSync(sidecarOf(c))).toBe(false); // nobody named there
    const inA = await regionsOf(sidecarOf(a));
    expect(named(inA)).toEqual(['Face:Ann', 'Face:Cy']);
    const ann = inA.find((x) => x.Name === 'Ann')!;
    expect(ann.Area).toEqual({ X: 0.2, Y: 0.3, W: 0.2, H: 0.4, Unit: 'normalized' });
    expect((await et.read(sidecarOf(a))).RegionInfo?.AppliedToDimensions).toEqual({ W: 200, H: 100, Unit: 'pixel' });
    const bTags = await et.read(sidecarOf(b));
    expect(bTags.Rating).toBe(4);
    // Bob stays (a person decides), Rex stays, the camera's unnamed face became Ann.
    expect(named(bTags.RegionInfo!.RegionList as MwgRegion[])).toEqual(['Face:Ann', 'Face:Bob', 'Pet:Rex']);

    const bytes = [a, b].map((f) => readFileSync(sidecarOf(f)));
    const again = await exportXmpRegions(dir);
    // a.jpg is not read; b.jpg is, since one of its faces was left out for Bob (it may change).
    expect(again).toMatchObject({ photos: 2, written: 0, skipped: 1, regions: 3, dropped: 0 });
    expect([a, b].map((f) => readFileSync(sidecarOf(f)))).toEqual(bytes);
    // Read again, nothing to change either.
    expect(await exportXmpRegions(dir, { recheck: true })).toMatchObject({ photos: 2, written: 0, skipped: 0, regions: 3 });
    expect([a, b].map((f) => readFileSync(sidecarOf(f)))).toEqual(bytes);
    // Another tool drops Cy's region from a's sidecar: unread, it stays dropped; rechecked, it is back.
    await et.write(sidecarOf(a), { RegionInfo: { AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' }, RegionList: inA.filter((x) => x.Name !== 'Cy') } } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });
    expect(await exportXmpRegions(dir)).toMatchObject({ written: 0, skipped: 1 });
    expect(named(await regionsOf(sidecarOf(a)))).toEqual(['Face:Ann']);
    expect(await exportXmpRegions(dir, { recheck: true })).toMatchObject({ written: 1, skipped: 0, regions: 3 });
    expect(named(await regionsOf(sidecarOf(a)))).toEqual(['Face:Ann', 'Face:Cy']);
  });

  it("names that look like numbers, or start with a space, go through as they are, and another tool's stay as they were", async () => {
    const [a, b] = await greyPhotos('p9', ['a.jpg', 'b.jpg']);
    const { dir, ids } = await library('g9', [
      { path: a, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40]] },
      { path: b, width: 200, height: 100, boxes: [[20, 10, 40, 40]] },
    ]);
    withStore(dir, (s) => {
      s.namePerson([ids[0][0]], '12.50');
      s.namePerson([ids[0][1]], ' Lea');
    });
    // Another tool's regions in b's sidecar: its face named "42", a pet named "1.50".
    await et.write(sidecarOf(b), {
      RegionInfo: {
        AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' },
        RegionList: [
          { Area: { X: 0.2, Y: 0.3, W: 0.2, H: 0.4, Unit: 'normalized' }, Name: '42', Type: 'Face' },
          { Area: { X: 0.7, Y: 0.8, W: 0.1, H: 0.1, Unit: 'normalized' }, Name: '1.50', Type: 'Pet' },
        ],
      },
    } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });
    const xmpNames = (file: string) => [...readFileSync(file, 'utf8').matchAll(/<mwg-rs:Name>([^<]*)</g)].map((m) => m[1]).sort();

    expect(await exportXmpRegions(dir)).toMatchObject({ written: 1, regions: 2, kept: [], failed: [] });
    expect(xmpNames(sidecarOf(a))).toEqual(['12.50', 'Lea']); // ExifTool drops a leading space
    // Read again: facegpu knows its own regions, so nothing changes and nothing is in conflict.
    const bytes = readFileSync(sidecarOf(a));
    expect(await exportXmpRegions(dir, { recheck: true })).toMatchObject({ written: 0, regions: 2, kept: [], dropped: 0 });
    expect(readFileSync(sidecarOf(a))).toEqual(bytes);

    // Import: b's face is named "42"; nothing of a's is read back as another tool's.
    const r = await importXmpNames(dir);
    expect(r).toMatchObject({ regions: 1, named: [{ person: '42', faces: 1 }], unmatched: [], kept: [] });
    // b's sidecar, written by facegpu now: "1.50" is still "1.50", not 1.5.
    expect(await exportXmpRegions(dir, { recheck: true })).toMatchObject({ written: 1, regions: 3 });
    expect(xmpNames(sidecarOf(b))).toEqual(['1.50', '42']);
  });

  it('a rename or a face taken off in facegpu changes the region facegpu wrote, and only that one', async () => {
    const [a] = await greyPhotos('p2', ['a.jpg']);
    const { dir, ids } = await library('g2', [{ path: a, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40]] }]);
    withStore(dir, (s) => {
      s.namePerson([ids[0][0]], 'Ann');
      s.namePerson([ids[0][1]], 'Cy');
    });
    await exportXmpRegions(dir);
    // Someone adds a face named Ann by hand in another tool, elsewhere in the photo.
    const byHand: MwgRegion = { Area: { X: 0.5, Y: 0.85, W: 0.1, H: 0.2, Unit: 'normalized' }, Name: 'Ann', Type: 'Face' };
    const info = { AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' }, RegionList: [...(await regionsOf(sidecarOf(a))), byHand] };
    await et.write(sidecarOf(a), { RegionInfo: info } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });

    withStore(dir, (s) => {
      s.renamePerson('Ann', 'Anna');
      s.unnameFaces([ids[0][1]]);
    });
    const r = await exportXmpRegions(dir);
    expect(r).toMatchObject({ photos: 1, written: 1, regions: 1, dropped: 2, kept: [] });
    const after = await regionsOf(sidecarOf(a));
    expect(after.map((x) => `${x.Name}@${x.Area?.X}`).sort()).toEqual(['Ann@0.5', 'Anna@0.2']);

    // Nobody named any more: facegpu's region goes, the hand-made one stays.
    withStore(dir, (s) => s.unnameFaces([ids[0][0]]));
    expect(await exportXmpRegions(dir)).toMatchObject({ photos: 1, written: 1, regions: 0, dropped: 1 });
    expect((await regionsOf(sidecarOf(a))).map((x) => x.Name)).toEqual(['Ann']);
    // Remembered as nothing: the next run has no photo to visit.
    expect(await exportXmpRegions(dir)).toMatchObject({ photos: 0, written: 0 });
  });

  it('into the photos: regions in the file, its image and the library record following, facegpu\'s regions moved out of the sidecar and back', async () => {
    const [a, b] = await greyPhotos('p11', ['a.jpg', ['b.jpg', 6]]);
    const { dir, ids } = await library('g11', [
      { path: a, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40]] },
      { path: b, width: 200, height: 100, boxes: [[20, 10, 40, 40]] },
    ]);
    withStore(dir, (s) => {
      s.namePerson([ids[0][0], ids[1][0]], 'Ann');
      s.namePerson([ids[0][1]], 'Cy');
    });
    await exportXmpRegions(dir); // into sidecars first
    // Another tool's pet in a's sidecar, and a face named Bob in a itself.
    const inA = await regionsOf(sidecarOf(a));
    await et.write(sidecarOf(a), { RegionInfo: { AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' }, RegionList: [...inA, { Area: { X: 0.5, Y: 0.8, W: 0.1, H: 0.1, Unit: 'normalized' }, Name: 'Rex', Type: 'Pet' }] } } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });
    await et.write(a, { RegionInfo: { AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' }, RegionList: [{ Area: { X: 0.5, Y: 0.5, W: 0.05, H: 0.05, Unit: 'normalized' }, Name: 'Bob', Type: 'Face' }] } } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });
    withStore(dir, (s) => s.touchPhoto(s.photos().find((p) => p.path === a)!.id, { size: statSync(a).size, mtimeMs: statSync(a).mtimeMs, sha256: 'x'.repeat(64) }));
    const pixels = await Promise.all([a, b].map(async (f) => Buffer.from((await loadImageRaw(f)).data)));

    const dry = await exportXmpRegions(dir, { intoPhotos: true, dryRun: true });
    expect(dry).toMatchObject({ written: 2, regions: 3 });
    expect(named(await regionsOf(a))).toEqual(['Face:Bob']);

    expect(await exportXmpRegions(dir, { intoPhotos: true })).toMatchObject({ photos: 2, written: 2, regions: 3, kept: [], failed: [] });
    expect(named(await regionsOf(a))).toEqual(['Face:Ann', 'Face:Bob', 'Face:Cy']);
    expect(named(await regionsOf(b))).toEqual(['Face:Ann']);
    // Stored sideways: the region is on the stored image (as the sidecar's was).
    expect((await et.read(b)).RegionInfo?.AppliedToDimensions).toEqual({ W: 100, H: 200, Unit: 'pixel' });
    // Out of the sidecars: a's keeps the pet; b's has no region left.
    expect(named(await regionsOf(sidecarOf(a)))).toEqual(['Pet:Rex']);
    expect(await regionsOf(sidecarOf(b))).toEqual([]);
    // The image is the same, and the library takes the files as they are now: nothing to index.
    expect(await Promise.all([a, b].map(async (f) => Buffer.from((await loadImageRaw(f)).data)))).toEqual(pixels);
    for (const f of [a, b]) {
      const p = withStore(dir, (s) => s.photos().find((x) => x.path === f)!);
      expect(p).toMatchObject({ size: statSync(f).size, mtimeMs: statSync(f).mtimeMs, sha256: await sha256File(f) });
    }
    const scan = async () => {
      const s = LibraryStore.open(dir);
      try {
        return await scanLibrary(join(tmp, 'p11'), s);
      } finally {
        s.close();
      }
    };
    expect(await scan()).toMatchObject({ photos: 2, unchanged: 2, added: [], changed: [], touched: [] });

    // Again: nothing read; rechecked: nothing written, not a byte.
    const bytes = [a, b].map((f) => readFileSync(f));
    expect(await exportXmpRegions(dir, { intoPhotos: true })).toMatchObject({ written: 0, skipped: 2 });
    expect(await exportXmpRegions(dir, { intoPhotos: true, recheck: true })).toMatchObject({ written: 0, skipped: 0, regions: 3 });
    expect([a, b].map((f) => readFileSync(f))).toEqual(bytes);
    // Import reads none of facegpu's own regions back (in the photos now); of a's, it reads
    // only the other tool's Bob, where facegpu found no face.
    expect(await importXmpNames(dir)).toMatchObject({ regions: 1, already: 0, named: [], unmatched: [{ file: a, name: 'Bob' }] });

    // Back to sidecars: the regions leave the photos (Bob stays), and the sidecars have them again.
    expect(await exportXmpRegions(dir)).toMatchObject({ written: 2, regions: 3, failed: [] });
    expect(named(await regionsOf(a))).toEqual(['Face:Bob']);
    expect(await regionsOf(b)).toEqual([]);
    expect(named(await regionsOf(sidecarOf(a)))).toEqual(['Face:Ann', 'Face:Cy', 'Pet:Rex']);
    expect(named(await regionsOf(sidecarOf(b)))).toEqual(['Face:Ann']);
    expect(await scan()).toMatchObject({ unchanged: 2, changed: [], touched: [] });
    // The CLI's flag, in a dry run.
    const { stdout } = await exec('node', [CLI, 'gallery', 'export-xmp', dir, '--into-photos', '--dry-run'], { timeout: 120_000 });
    expect(stdout.trim()).toBe('2 photos with named faces: 2 photos would be written, 3 faces named in them');
    expect(await regionsOf(b)).toEqual([]);
  });

  it('into the photos, a sidecar that cannot be cleaned fails the photo after it was written and recorded; the next run finishes it', async () => {
    const { dir, paths: [a] } = await oneFaceEach('p12', 'g12', ['a.jpg']);
    await exportXmpRegions(dir);
    const blocker = `${sidecarOf(a)}_exiftool_tmp`;
    writeFileSync(blocker, 'another ExifTool at work');
    const r = await exportXmpRegions(dir, { intoPhotos: true });
    expect(r).toMatchObject({ written: 0, failed: [{ file: a, error: `${blocker} is in the way: another ExifTool may be writing ${sidecarOf(a)} (run again when it is done, or delete that file)` }] });
    expect(named(await regionsOf(a))).toEqual(['Face:Ann']);
    // The photo's new bytes are the library's already: not "changed since it was indexed".
    const p = withStore(dir, (s) => s.photos()[0]);
    expect(p).toMatchObject({ size: statSync(a).size, mtimeMs: statSync(a).mtimeMs });
    rmSync(blocker);
    expect(await exportXmpRegions(dir, { intoPhotos: true })).toMatchObject({ written: 1, regions: 1, failed: [] });
    expect(named(await regionsOf(a))).toEqual(['Face:Ann']);
    expect(await regionsOf(sidecarOf(a))).toEqual([]);
    expect(await exportXmpRegions(dir, { intoPhotos: true })).toMatchObject({ written: 0, skipped: 1 });
  });

  it('turns regions back for a photo stored sideways, and a dry run writes nothing', async () => {
    const [a] = await greyPhotos('p3', [['sideways.jpg', 6]]); // stored 100 wide, shown 200 wide
    const { dir, ids } = await library('g3', [{ path: a, width: 200, height: 100, boxes: [[20, 10, 40, 40]] }]);
    withStore(dir, (s) => s.namePerson(ids[0], 'Ann'));
    const dry = await exportXmpRegions(dir, { dryRun: true });
    expect(dry).toMatchObject({ photos: 1, written: 1, regions: 1, dryRun: true });
    expect(existsSync(sidecarOf(a))).toBe(false);
    await exportXmpRegions(dir);
    const tags = await et.read(sidecarOf(a));
    expect(tags.RegionInfo?.AppliedToDimensions).toEqual({ W: 100, H: 200, Unit: 'pixel' });
    // Shown x 20..60 of 200, y 10..50 of 100; orientation 6 stores a shown column u at row 1 - u.
    expect((tags.RegionInfo!.RegionList as MwgRegion[])[0].Area).toEqual({ X: 0.3, Y: 0.8, W: 0.4, H: 0.2, Unit: 'normalized' });
  });

  it('with recognize, also writes the faces nobody named that identify names, but not one taken off that person', async () => {
    const [a, b] = await greyPhotos('p6', ['a.jpg', 'b.jpg']);
    const ann = gaussian(prng, new Float32Array(DIM));
    const like = () => ann.map((v) => v + 0.05 * gaussian(prng, new Float32Array(1))[0]);
    const { dir, ids } = await library('g6', [
      { path: a, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40], [80, 60, 20, 20]], descriptors: [like(), like(), gaussian(prng, new Float32Array(DIM))] },
      { path: b, width: 200, height: 100, boxes: [[20, 10, 40, 40]], descriptors: [like()] },
    ]);
    await nameFaces(dir, [ids[0][0], ids[1][0]], 'Ann');
    await unnameFaces(dir, [ids[1][0]]); // b's face: not Ann
    const r = await exportXmpRegions(dir, { recognize: { threshold: 0.9 } });
    expect(r).toMatchObject({ photos: 1, written: 1, regions: 2, recognized: 1, dropped: 0 });
    expect((await regionsOf(sidecarOf(a))).map((x) => `${x.Name}@${x.Area?.X}`).sort()).toEqual(['Ann@0.2', 'Ann@0.7']);
    expect(existsSync(sidecarOf(b))).toBe(false);
    // Nothing was named: without recognize, the recognized region goes again.
    expect(withStore(dir, (s) => s.faceEntries().filter((f) => f.person === 'Ann').map((f) => f.id))).toEqual([ids[0][0]]);
    expect(await exportXmpRegions(dir)).toMatchObject({ written: 1, regions: 1, recognized: 0, dropped: 1 });
  });

  it('recognize with nobody named is refused before any photo is read, the CLI saying how to name someone', async () => {
    const [a] = await greyPhotos('p7', ['a.jpg']);
    const { dir } = await library('g7', [{ path: a, width: 200, height: 100, boxes: [[20, 10, 40, 40]] }]);
    const err = await exportXmpRegions(dir, { recognize: { far: 0.01 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemedyError);
    expect((err as RemedyError).hint).toEqual({ case: 'nobody-named', dir });
    expect((err as Error).message).toBe(`${dir}: nobody is named yet, so nobody can be recognized (name a cluster first: nameCluster)`);
    const run = await exec('node', [CLI, 'gallery', 'export-xmp', dir, '--far', '0.01'], { timeout: 120_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect((run as { code?: number }).code).toBe(1);
    expect(run.stderr.trim()).toBe(`facegpu: ${dir}: nobody is named yet, so nobody can be recognized (name a cluster first: facegpu cluster ${dir}, then facegpu gallery name ${dir} <cluster> <person>)`);
    expect(existsSync(sidecarOf(a))).toBe(false);
  });

  it("clears ExifTool's temporary file left by a stopped write, and fails only that photo while one is fresh", async () => {
    const { dir, paths: [a, b] } = await oneFaceEach('p8', 'g8', ['a.jpg', 'b.jpg']);
    const stale = `${sidecarOf(a)}_exiftool_tmp`;
    const fresh = `${sidecarOf(b)}_exiftool_tmp`;
    writeFileSync(stale, 'half a sidecar');
    utimesSync(stale, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    writeFileSync(fresh, 'being written');
    const notices: string[] = [];
    const r = await exportXmpRegions(dir, { onNotice: (m) => notices.push(m) });
    expect(r).toMatchObject({ photos: 2, written: 1, regions: 1, failed: [{ file: b, error: `${fresh} is in the way: another ExifTool may be writing ${sidecarOf(b)} (run again when it is done, or delete that file)` }] });
    expect(notices).toEqual([`removed ${stale}, left by a write that was stopped`]);
    expect(existsSync(stale)).toBe(false);
    expect(named(await regionsOf(sidecarOf(a)))).toEqual(['Face:Ann']);
    expect(existsSync(sidecarOf(b))).toBe(false);
    expect(readFileSync(fresh, 'utf8')).toBe('being written');
    // Gone: the next run writes it.
    rmSync(fresh);
    expect(await exportXmpRegions(dir)).toMatchObject({ written: 1, skipped: 1, regions: 2, failed: [] });
    expect(named(await regionsOf(sidecarOf(b)))).toEqual(['Face:Ann']);
  });

  it('a sidecar that is not XMP, cut short, or a folder fails that photo and is left as it is; an empty one is written into', async () => {
    const { dir, paths: [a, b, c, d] } = await oneFaceEach('p10', 'g10', ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']);
    writeFileSync(sidecarOf(a), '<?xpacket begin=');
    writeFileSync(sidecarOf(b), 'not XMP at all');
    mkdirSync(sidecarOf(c));
    writeFileSync(sidecarOf(d), ''); // empty: a sidecar with nothing in it yet
    const notXmp = { file: b, error: `its sidecar ${sidecarOf(b)} is not XMP (ExifTool reads it as TXT)` };
    const folder = { file: c, error: `its sidecar ${sidecarOf(c)} is not a file` };
    expect(await exportXmpRegions(dir)).toMatchObject({
      photos: 4,
      written: 1,
      regions: 1,
      // a's is cut short: ExifTool reads it as holding nothing, and refuses to write into it.
      failed: [{ file: a, error: `cannot write its sidecar ${sidecarOf(a)} (Format error in file)` }, notXmp, folder],
    });
    expect([a, b].map((f) => readFileSync(sidecarOf(f), 'utf8'))).toEqual(['<?xpacket begin=', 'not XMP at all']);
    expect(named(await regionsOf(sidecarOf(d)))).toEqual(['Face:Ann']);
    // Import does not read a sidecar that is not XMP as one without regions (nor fall back to the photo's).
    expect(await importXmpNames(dir)).toMatchObject({ photos: 4, failed: [notXmp, folder] });
  });

  it('the CLI reports a photo that is gone in one line, does the others and exits 2', async () => {
    const { dir, paths: [a, b] } = await oneFaceEach('p4', 'g4', ['a.jpg', 'b.jpg']);
    rmSync(b);
    const run = await exec('node', [CLI, 'gallery', 'export-xmp', dir, '--json'], { timeout: 120_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect((run as { code?: number }).code).toBe(2);
    expect(run.stderr).toContain(`${b}: the photo is gone (index the library again)`);
    const r = JSON.parse(run.stdout);
    // The JSON's fields, pinned: scripts read them.
    expect(Object.keys(r).sort()).toEqual(['dropped', 'dryRun', 'failed', 'kept', 'photos', 'recognized', 'regions', 'skipped', 'written']);
    expect(r).toMatchObject({ photos: 2, written: 1, regions: 1, failed: [{ file: b }] });
    expect(named(await regionsOf(sidecarOf(a)))).toEqual(['Face:Ann']);
    await jpeg(b, 200, 100); // back, but not the photo that was indexed: still one line
    const text = await exec('node', [CLI, 'gallery', 'export-xmp', dir], { timeout: 120_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect((text as { code?: number }).code).toBe(2);
    expect(text.stdout).toMatch(/^2 photos with named faces: 0 sidecars written \(1 already as the library has them, not read\), 1 face named in them, 1 failed$/m);
    expect(text.stderr.trim().split('\n').filter((l) => l.includes(b))).toHaveLength(1);
  });
});

describe('gallery import-xmp', () => {
  it("names the faces under other tools' regions, from a sidecar or the photo itself, and leaves facegpu's names and corrections alone", async () => {
    const [a, b, c] = await greyPhotos('p5', ['a.jpg', ['b.jpg', 6], 'c.jpg']); // b stored sideways
    const photos = join(tmp, 'p5');
    // b's names are inside the photo (as a camera or Picasa puts them), on the stored image:
    // its face (shown x 20..60, y 10..50) is stored at x 0.3, y 0.8 (see above); drawn a little larger there.
    await et.write(b, { RegionInfo: { AppliedToDimensions: { W: 100, H: 200, Unit: 'pixel' }, RegionList: [{ Area: { X: 0.31, Y: 0.79, W: 0.5, H: 0.25, Unit: 'normalized' }, Name: 'Ann', Type: 'Face' }] } } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });
    const { dir, ids } = await library('g5', [
      { path: a, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40], [80, 60, 20, 20]] },
      { path: b, width: 200, height: 100, boxes: [[20, 10, 40, 40]] },
      { path: c, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40]] },
    ]);
    // facegpu's own: c's first face is Cy; a's third was taken off Dan.
    await nameFaces(dir, [ids[2][0]], 'Cy');
    await nameFaces(dir, [ids[0][2]], 'Dan');
    await unnameFaces(dir, [ids[0][2]]);
    // digiKam's sidecar for a: Ann (a box drawn larger), Bob, Dan on the face taken off him, a face where facegpu found none.
    const region = (x: number, y: number, w: number, h: number, name: string) => ({ Area: { X: x, Y: y, W: w, H: h, Unit: 'normalized' }, Name: name, Type: 'Face' });
    await et.write(sidecarOf(a), { RegionInfo: { AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' }, RegionList: [region(0.2, 0.32, 0.26, 0.5, 'Ann'), region(0.7, 0.3, 0.2, 0.4, 'Bob'), region(0.45, 0.7, 0.1, 0.2, 'Dan'), region(0.95, 0.9, 0.05, 0.1, 'Eve')] } } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });
    // Lightroom's sidecar for c (photo.xmp): Cy's face named Dan, the other Bob.
    await et.write(join(photos, 'c.xmp'), { RegionInfo: { AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' }, RegionList: [region(0.2, 0.3, 0.2, 0.4, 'Dan'), region(0.7, 0.3, 0.2, 0.4, 'Bob')] } } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });

    const dry = await importXmpNames(dir, { dryRun: true });
    expect(dry.named).toEqual([{ person: 'Ann', faces: 2 }, { person: 'Bob', faces: 2 }]);
    expect(withStore(dir, (s) => s.faceEntries().filter((f) => f.person === 'Ann').length)).toBe(0);

    const r = await importXmpNames(dir);
    expect(r).toMatchObject({ photos: 3, regions: 7, already: 0, failed: [], dryRun: false });
    expect(r.named).toEqual([{ person: 'Ann', faces: 2 }, { person: 'Bob', faces: 2 }]);
    expect(r.kept).toEqual([{ file: c, face: ids[2][0], name: 'Cy', theirs: 'Dan' }]);
    expect(r.notThem).toEqual([{ file: a, face: ids[0][2], name: 'Dan' }]);
    expect(r.unmatched).toEqual([{ file: a, name: 'Eve' }]);
    const people = withStore(dir, (s) => new Map(s.faceEntries().map((f) => [f.id, f.person])));
    expect([ids[0][0], ids[1][0], ids[0][1], ids[2][1], ids[2][0], ids[0][2]].map((id) => people.get(id))).toEqual(['Ann', 'Ann', 'Bob', 'Bob', 'Cy', null]);
    // In the gallery too, so identify knows them.
    expect((await loadGallery(dir)).people().map((p) => `${p.name}:${p.faces}`).sort()).toEqual(['Ann:2', 'Bob:2', 'Cy:1']);

    // Again: no photo, sidecar or face changed, so nothing is read; read anyway, nothing new.
    expect(await importXmpNames(dir)).toMatchObject({ photos: 3, skipped: 3, regions: 0, named: [] });
    expect(await importXmpNames(dir, { recheck: true })).toMatchObject({ skipped: 0, named: [], already: 4 });
    // Exported (every sidecar changes), then imported: facegpu's own regions are not read back as another tool's.
    await exportXmpRegions(dir);
    // c's names went into Lightroom's c.xmp (a second sidecar would hide it), Cy left out there.
    expect(existsSync(sidecarOf(c))).toBe(false);
    expect(named(await regionsOf(join(photos, 'c.xmp')))).toEqual(['Face:Bob', 'Face:Dan']);
    const after = await importXmpNames(dir);
    // c.xmp came out as it was (Bob's region was facegpu's already, Cy's face left to Dan), so c is not read again;
    // b's own region, in the photo beside facegpu's in its sidecar now, names its face Ann already.
    expect(after).toMatchObject({ skipped: 1, named: [], regions: 3, already: 1, kept: [], notThem: [{ face: ids[0][2] }], unmatched: [{ name: 'Eve' }] });
    const json = JSON.parse((await exec('node', [CLI, 'gallery', 'import-xmp', dir, '--dry-run', '--recheck', '--json'], { timeout: 120_000 })).stdout);
    expect(Object.keys(json).sort()).toEqual(['already', 'dryRun', 'failed', 'kept', 'named', 'notThem', 'photos', 'regions', 'skipped', 'unmatched']);
    expect(json).toMatchObject({ photos: 3, skipped: 0, regions: 4, already: 1, named: [], kept: [{ file: c, face: ids[2][0], name: 'Cy', theirs: 'Dan' }], unmatched: [{ file: a, name: 'Eve' }], dryRun: true });
    const skipping = await exec('node', [CLI, 'gallery', 'import-xmp', dir, '--dry-run'], { timeout: 120_000 });
    expect(skipping.stdout).toBe('3 photos with faces (3 as at their last import, not read), 0 named face regions read: 0 faces would be named; 0 named so already\n');
    const { stdout } = await exec('node', [CLI, 'gallery', 'import-xmp', dir, '--dry-run', '--recheck'], { timeout: 120_000 });
    expect(stdout.split('\n')).toEqual([
      '3 photos with faces, 4 named face regions read: 0 faces would be named; 1 named so already',
      `  ${c}: face ${ids[2][0]} left as Cy, its metadata says "Dan" (if that is right: facegpu gallery name-faces ${dir} Dan ${ids[2][0]})`,
      `  ${a}: face ${ids[0][2]} left unnamed, taken off Dan before`,
      `  1 region with no face found under it, e.g. ${a}: "Eve" (faces under --min-face, turned away, or a name facegpu refuses)`,
      '',
    ]);
  });

  it("reads the sidecar's regions and the photo's together, and Microsoft's: each face named once, the sidecar's name first", async () => {
    const [x] = await greyPhotos('p13', ['x.jpg']);
    const region = (x: number, y: number, w: number, h: number, name: string) => ({ Area: { X: x, Y: y, W: w, H: h, Unit: 'normalized' }, Name: name, Type: 'Face' });
    // In the photo: Lightroom named the first face Ann and the second Zed; Windows Photo Gallery
    // named the third Cat (x, y from the top left corner), Ann again, and marked a face ignored.
    await et.write(x, {
      RegionInfo: { AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' }, RegionList: [region(0.2, 0.3, 0.2, 0.4, 'Ann'), region(0.7, 0.3, 0.2, 0.4, 'Zed')] },
      RegionInfoMP: { Regions: [{ PersonDisplayName: 'Cat', Rectangle: '0.4, 0.6, 0.1, 0.2' }, { PersonDisplayName: 'Ann', Rectangle: '0.1, 0.1, 0.2, 0.4' }, { PersonDisplayName: 'ffffffffffffffff', Rectangle: '0.8, 0.7, 0.1, 0.2' }] },
    } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });
    // In its sidecar, written later by digiKam: the second face is Bob.
    await et.write(sidecarOf(x), { RegionInfo: { AppliedToDimensions: { W: 200, H: 100, Unit: 'pixel' }, RegionList: [region(0.7, 0.3, 0.2, 0.4, 'Bob')] } } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });
    const { dir, ids } = await library('g13', [{ path: x, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40], [80, 60, 20, 20]] }]);

    const r = await importXmpNames(dir);
    expect(r).toMatchObject({ photos: 1, regions: 3, already: 0, kept: [], notThem: [], unmatched: [], failed: [] });
    expect(r.named).toEqual([{ person: 'Ann', faces: 1 }, { person: 'Bob', faces: 1 }, { person: 'Cat', faces: 1 }]);
    const people = withStore(dir, (s) => new Map(s.faceEntries().map((f) => [f.id, f.person])));
    expect(ids[0].map((id) => people.get(id))).toEqual(['Ann', 'Bob', 'Cat']);
  });

  it("reads IPTC's image regions: rectangles relative or in pixels, the person a region names, not a product's name nor a circle", async () => {
    const [x] = await greyPhotos('p14', ['x.jpg']);
    const rect = (unit: string, x: number, y: number, w: number, h: number) => ({ RbShape: 'rectangle', RbUnit: unit, RbX: x, RbY: y, RbW: w, RbH: h });
    const type = (t: string) => [{ Identifier: [`http://cv.iptc.org/newscodes/imageregiontype/${t}`] }];
    // As Photini or an agency's tool writes them: the first face by its person (the region's
    // own name a label), the second a human region in pixels named by its name; a product's
    // label over the third face, and a circle.
    await et.write(x, {
      ImageRegion: [
        { RegionBoundary: rect('relative', 0.1, 0.1, 0.2, 0.4), Name: 'Face', PersonInImage: ['Ann'] },
        { RegionBoundary: rect('pixel', 120, 10, 40, 40), RCtype: type('human'), Name: 'Bob' },
        { RegionBoundary: rect('relative', 0.4, 0.6, 0.1, 0.2), RCtype: type('product'), Name: 'Logo' },
        { RegionBoundary: { RbShape: 'circle', RbUnit: 'relative', RbX: 0.45, RbY: 0.7, RbRx: 0.05 }, Name: 'Cat' },
      ],
    } as unknown as WriteTags, { writeArgs: ['-overwrite_original'] });
    const { dir, ids } = await library('g14', [{ path: x, width: 200, height: 100, boxes: [[20, 10, 40, 40], [120, 10, 40, 40], [80, 60, 20, 20]] }]);
    const r = await importXmpNames(dir);
    expect(r).toMatchObject({ photos: 1, regions: 2, already: 0, kept: [], notThem: [], unmatched: [], failed: [] });
    expect(r.named).toEqual([{ person: 'Ann', faces: 1 }, { person: 'Bob', faces: 1 }]);
    const people = withStore(dir, (s) => new Map(s.faceEntries().map((f) => [f.id, f.person])));
    expect(ids[0].map((id) => people.get(id) ?? null)).toEqual(['Ann', 'Bob', null]);
  });

  it('an IPTC region naming several people names nobody; its one detailed person is read before the rest', () => {
    const stored = { width: 200, height: 100 };
    const box = { RbShape: 'Rectangle', RbUnit: 'Relative', RbX: '0.1', RbY: '0.1', RbW: '0.2', RbH: '0.4' };
    expect(iptcRegions([{ RegionBoundary: box, PersonInImage: ['Ann', 'Bob'] }], stored)).toEqual([]);
    expect(iptcRegions([{ RegionBoundary: box, PersonInImage: ['Ann'], PersonInImageWDetails: [{ PersonName: 'Ann B' }], Name: 'x' }], stored).map((r) => r.Name)).toEqual(['Ann B']);
    // Pixels are of the stored image: its centre and size, normalized.
    expect(iptcRegions([{ RegionBoundary: { ...box, RbUnit: 'Pixel', RbX: 100, RbY: 50, RbW: 20, RbH: 10 }, Name: 'Cy' }], stored)).toEqual([{ Area: { X: 0.55, Y: 0.55, W: 0.1, H: 0.1, Unit: 'normalized' }, Name: 'Cy', Type: 'Face' }]);
    expect(iptcRegions([{ RegionBoundary: box, RCtype: [{ Identifier: ['http://cv.iptc.org/newscodes/imageregiontype/face'] }], Name: 'Di' }], stored).map((r) => r.Name)).toEqual(['Di']);
    expect(iptcRegions('not a list', stored)).toEqual([]);
  });
});

describe('ExifTool stopped under a job', () => {
  // In a process of its own: only there does nothing else keep the process alive, as in the CLI.
  const run = (code: string) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: join(import.meta.dirname, '..'), timeout: 60_000 });
  const xmp = JSON.stringify(join(import.meta.dirname, '..', 'src', 'library', 'xmp-node.ts'));

  it('its Perl process killed, the task goes on in another (it waited on nothing and the process exited 0, photos unwritten)', async () => {
    const photo = JSON.stringify(join(tmp, 'killed.png'));
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#345' } }).png().toFile(join(tmp, 'killed.png'));
    const { stdout } = await run(
      `import { startExifTool } from ${xmp}; const et = await startExifTool(1); for (const pid of await et.pids) process.kill(pid, 'SIGKILL'); ` +
        `const tags = await et.read(${photo}); console.log('read', tags.ImageWidth); await et.end();`,
    );
    expect(stdout).toBe('read 8\n');
  });

  it('the process stopped by a signal takes its Perl processes with it (they stayed, idle)', async () => {
    const { stdout } = await run(`import { startExifTool } from ${xmp}; const et = await startExifTool(1); console.log((await et.pids).join(' ')); process.kill(process.pid, 'SIGTERM'); await new Promise((r) => setTimeout(r, 5000));`).catch((e) => e);
    const pids = String(stdout).trim().split(' ').map(Number);
    expect(pids.length).toBeGreaterThan(0);
    const running = () =>
      pids.filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
    // Sent SIGTERM as the process went; given a moment to go.
    for (let t = Date.now(); running().length && Date.now() - t < 5000; ) await new Promise((r) => setTimeout(r, 100));
    expect(running()).toEqual([]);
  });
});
