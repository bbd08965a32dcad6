// identify --annotate's pieces that need no GPU: where each photo's drawing goes
// (src/cli/annotate.ts) and what is drawn (src/faces/annotate-node.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { annotatedPaths, annotator } from '../src/cli/annotate.ts';
import { annotatedJpeg, colourOf, faceSheetJpeg, faceTile, marksSvg, UNKNOWN_COLOUR } from '../src/faces/annotate-node.ts';
import { SHEET_FACES, sheetFaces, sheetTitle } from '../src/library/sheets-node.ts';

const tmp = mkdtempSync(join(tmpdir(), 'facegpu-annotate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('annotatedPaths', () => {
  it("keeps the photos' tree under their shared folder, JPEG names as they are, others with .jpg added, none twice", () => {
    const paths = annotatedPaths('/out', ['/p/a/1.jpg', '/p/a/2.PNG', '/p/b/1.jpeg', '/p/b/1.jpeg.jpg', '/p/x.png.jpg', '/p/x.png']);
    expect([...paths.values()]).toEqual(['/out/a/1.jpg', '/out/a/2.PNG.jpg', '/out/b/1.jpeg', '/out/b/1.jpeg.jpg', '/out/x.png.jpg', '/out/x.png-2.jpg']);
    // One photo: its name in the folder; photos under different roots keep their paths from /.
    expect([...annotatedPaths('/out', ['/p/a/1.jpg']).values()]).toEqual(['/out/1.jpg']);
    expect([...annotatedPaths('/out', ['/p/1.jpg', '/q/1.jpg']).values()]).toEqual(['/out/p/1.jpg', '/out/q/1.jpg']);
  });
});

describe('marks', () => {
  it('gives each person one colour in every run, strangers grey, and writes names as text, not markup', () => {
    expect(colourOf('Ana')).toBe(colourOf('Ana'));
    expect(colourOf(null)).toBe(UNKNOWN_COLOUR);
    expect(new Set(['Ana', 'Bob', 'Cy', 'Di', 'Ed'].map(colourOf)).size).toBeGreaterThan(1);
    const svg = marksSvg(100, 100, [{ box: [10, 30, 40, 40], label: 'Tom & <Jerry>', similarity: 0.5 }]);
    expect(svg).toContain('>Tom &#38; &#60;Jerry&#62; 0.50</text>');
    expect(svg).not.toContain('<Jerry>');
  });

  it("draws a box of the person's colour on the photo, which keeps its size", async () => {
    const [w, h] = [1200, 800];
    const image = { width: w, height: h, data: new Uint8Array(w * h * 3).fill(128) };
    const jpeg = await annotatedJpeg(image, [{ box: [500, 300, 200, 200], label: 'Ana', similarity: 0.7 }]);
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([w, h]);
    const want = colourOf('Ana').match(/[0-9a-f]{2}/g)!.map((v) => parseInt(v, 16));
    const at = (400 * w + 500) * 3; // the box's left edge, halfway down
    expect([0, 1, 2].every((c) => Math.abs(data[at + c] - want[c]) < 48), `${[...data.subarray(at, at + 3)]} against ${want}`).toBe(true);
    const inside = (400 * w + 600) * 3;
    expect([...data.subarray(inside, inside + 3)].every((v) => Math.abs(v - 128) < 12)).toBe(true);
  });
});

describe('annotator', () => {
  it('writes each photo drawn, and on a write that fails tells it once and draws no more', async () => {
    const out = join(tmp, 'out');
    const image = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) };
    const errors: string[] = [];
    const a = annotator(out, ['/p/1.jpg', '/p/sub/2.jpg', '/p/3.jpg'], (m) => errors.push(m));
    await a.onIdentified({ name: '/p/1.jpg', image }, []);
    // A file where the next drawing's folder should be: that write fails.
    writeFileSync(join(out, 'sub'), 'in the way');
    await a.onIdentified({ name: '/p/sub/2.jpg', image }, []);
    await a.onIdentified({ name: '/p/3.jpg', image }, []);
    expect(a.written()).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^--annotate ${out}: .*sub.*; no more photos drawn$`));
  });
});

describe('cluster sheets', () => {
  it('show the best-scored face of each photo before a second face of any, at most 12', () => {
    const face = (id: number, path: string, score: number) => ({ id, path, box: [0, 0, 10, 10] as [number, number, number, number], score, person: null, cluster: 1, notPeople: [] });
    const faces = [face(1, 'a', 0.7), face(2, 'a', 0.9), face(3, 'b', 0.8), face(4, 'c', 0.6), face(5, 'b', 0.95)];
    expect(sheetFaces(faces).map((f) => f.id)).toEqual([5, 2, 4, 3, 1]);
    expect(sheetFaces(Array.from({ length: 30 }, (_, i) => face(i, `p${i}`, i / 30)))).toHaveLength(SHEET_FACES);
    expect(sheetTitle({ id: 3, faces: 24, photos: 20, person: null, nearest: { person: 'Ana', similarity: 0.523 }, examples: [] })).toBe('cluster 3: ? (most like Ana, 0.52), 24 faces in 20 photos');
    expect(sheetTitle({ id: 4, faces: 2, photos: 2, person: 'Bob', nearest: null, examples: [] })).toBe('cluster 4: Bob, 2 faces in 2 photos');
  });

  it('a sheet is its faces in rows of 6 under a title; a face past the photo\'s edge is padded black', async () => {
    const image = { width: 300, height: 200, data: new Uint8Array(300 * 200 * 3).fill(200) };
    const boxes = Array.from({ length: 7 }, (_, i) => [i * 40, 10, 50, 50]);
    boxes.push([-30, -30, 60, 60]);
    const jpeg = await faceSheetJpeg(await Promise.all(boxes.map(async (box) => ({ tile: await faceTile(image, box) }))), 'cluster 1: ?, 8 faces in 1 photo');
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([6 * 134 + 6, 34 + 2 * 134 + 6]);
    const px = (x: number, y: number) => data[(y * info.width + x) * 3];
    expect(px(6 + 64, 34 + 64)).toBeGreaterThan(180); // inside the first face: the photo's grey
    expect(px(6 + 134 + 5, 34 + 134 + 5)).toBeLessThan(30); // the 8th face's corner, off the photo: black
  });

  it("a face's caption is written on its tile's lower edge; a face without one is left as it is", async () => {
    const image = { width: 100, height: 100, data: new Uint8Array(100 * 100 * 3).fill(200) };
    const tile = await faceTile(image, [25, 25, 50, 50]);
    const jpeg = await faceSheetJpeg([{ tile, caption: 'face 12345' }, { tile }, { tile: null }], 'cluster 0: ?, 3 faces in 1 photo');
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    // The band's darkest and brightest pixels: the caption's band is dark with white letters on it.
    const band = (left: number) => {
      let lo = 255, hi = 0;
      for (let y = 34 + 128 - 16; y < 34 + 128 - 2; y++) for (let x = left + 2; x < left + 80; x++) {
        const v = data[(y * info.width + x) * 3];
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      return { lo, hi };
    };
    const captioned = band(6);
    expect(captioned.lo).toBeLessThan(110); // grey 200 under black at 0.6: 80
    expect(captioned.hi).toBeGreaterThan(230); // the letters
    const plain = band(6 + 134);
    expect(plain.lo).toBeGreaterThan(180);
    expect(plain.hi).toBeLessThan(220);
    expect(band(6 + 2 * 134).hi).toBeLessThan(30); // no tile (a photo that cannot be read): blank
  });
});
