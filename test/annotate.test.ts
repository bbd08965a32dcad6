// identify --annotate's pieces that need no GPU: where each photo's drawing goes
// (src/cli/annotate.ts) and what is drawn (src/faces/annotate-node.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { annotatedPaths, annotator } from '../src/cli/annotate.ts';
import { annotatedJpeg, colourOf, marksSvg, UNKNOWN_COLOUR } from '../src/faces/annotate-node.ts';

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
