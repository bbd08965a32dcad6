// Small faces in big photos (src/detect/tiles.ts): the tiles cover every face size they are
// for, a panorama is windowed, cut faces are dropped, a face found twice is kept once; and on
// the GPU, a 4000x3000 photo of small faces gives them all with `minFace` where the whole
// photo alone misses most, and a panorama's faces are found without it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLAZEFACE_INPUT } from '../src/detect/anchors.ts';
import type { FaceDetection } from '../src/detect/blazeface.ts';
import { DETECTABLE, detectionTiles, findsFrom, fromTile, mergeDetections, panoramaTiles } from '../src/detect/tiles.ts';
import { DEFAULT_PREPROCESSING } from '../src/faces/framing.ts';
import { openFaceDescriber } from '../src/faces/node.ts';
import { FaceDescriber } from '../src/faces/describe.ts';
import type { Gpu } from '../src/gpu/device.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { openEngine } from '../src/node.ts';
import { groupPhoto, panoramaPhoto } from './helpers/group-photo.ts';

const face = (x: number, y: number, size: number, score: number): FaceDetection => ({
  x,
  y,
  width: size,
  height: size,
  score,
  keypoints: [[x + size / 3, y + size / 3]],
});

describe('detectionTiles', () => {
  it('puts every face from minFace up to what the whole photo finds wholly inside a tile that shows it large enough', () => {
    for (const [width, height, minFace] of [
      [4000, 3000, 100],
      [4000, 3000, 40],
      [3000, 4000, 64],
      [12000, 2000, 90],
      [1600, 1200, 50],
    ]) {
      const tiles = detectionTiles(width, height, minFace, BLAZEFACE_INPUT);
      const wholeFinds = (DETECTABLE * Math.max(width, height)) / BLAZEFACE_INPUT;
      expect(tiles.length, `${width}x${height} from ${minFace}`).toBeGreaterThan(0);
      for (const t of tiles) {
        expect(t.left >= 0 && t.top >= 0 && t.left + t.width <= width && t.top + t.height <= height).toBe(true);
      }
      let seed = width + minFace;
      const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
      for (let k = 0; k < 400; k++) {
        const size = minFace * (wholeFinds / minFace) ** rnd();
        if (size >= wholeFinds) continue;
        const x = rnd() * (width - size);
        const y = rnd() * (height - size);
        const seen = tiles.some(
          (t) => x >= t.left && y >= t.top && x + size <= t.left + t.width && y + size <= t.top + t.height && (size * BLAZEFACE_INPUT) / Math.max(t.width, t.height) >= DETECTABLE - 1e-9,
        );
        expect(seen, `${width}x${height} from ${minFace}: a ${size.toFixed(0)}-pixel face at ${x.toFixed(0)},${y.toFixed(0)}`).toBe(true);
      }
    }
  });

  it('makes no tiles where the whole photo already finds faces of minFace, and refuses a size that is not positive', () => {
    expect(detectionTiles(640, 480, 80, BLAZEFACE_INPUT)).toEqual([]);
    expect(() => detectionTiles(4000, 3000, 0, BLAZEFACE_INPUT)).toThrow(/positive/);
  });
});

describe('findsFrom and FaceDescriber.missedBelow', () => {
  // missedBelow uses no GPU: a describer over nothing answers it.
  const none = {} as never;
  const describer = (minFace?: number) => new FaceDescriber(none, none, none, none, { minFace });
  it('says from what width the whole photo (or a panorama\'s windows) finds faces', () => {
    expect(findsFrom(4000, 3000, BLAZEFACE_INPUT)).toBe(375);
    expect(findsFrom(3000, 4000, BLAZEFACE_INPUT)).toBe(375);
    expect(findsFrom(6000, 1500, BLAZEFACE_INPUT)).toBe(141); // its windows are 1500 square
    expect(findsFrom(92, 112, BLAZEFACE_INPUT)).toBe(11);
  });
  it('tells of small faces not looked for only where minFace is not set and would look for faces the whole photo misses', () => {
    expect(describer().missedBelow({ width: 4000, height: 3000 })).toBe(375);
    expect(describer().missedBelow({ width: 640, height: 480 })).toBe(60);
    expect(describer().missedBelow({ width: 500, height: 400 })).toBeNull(); // 47: the whole photo finds faces from twice the smallest worth looking for
    expect(describer(80).missedBelow({ width: 4000, height: 3000 })).toBeNull();
    expect(describer(80).missedBelow({ width: 4000, height: 3000 }, { minFace: 0 })).toBe(375);
    expect(describer().missedBelow({ width: 4000, height: 3000 }, { minFace: 80 })).toBeNull();
    expect(() => describer().missedBelow({ width: 4000, height: 3000 }, { minFace: 10 })).toThrow(/minFace must be 0 .* got 10/);
    expect(() => describer(10)).toThrow(/minFace must be 0/);
  });
});

describe('panoramaTiles', () => {
  it("covers a panorama with half-overlapping squares as high as it is, and nothing else", () => {
    expect(panoramaTiles(4000, 3000)).toEqual([]);
    expect(panoramaTiles(2999, 1500)).toEqual([]);
    // Strips narrower than the smallest face looked for: no windows (a 600x1 banner was an
    // endless list of 1-pixel windows, "Invalid array length", and the whole run lost).
    for (const [w, h] of [[600, 1], [1, 1000], [20000, 1], [2, 1], [1000, 2], [5000, 23]]) expect(panoramaTiles(w, h)).toEqual([]);
    expect(panoramaTiles(5000, 24).length).toBeGreaterThan(0);
    for (const [w, h] of [
      [6000, 1500],
      [1200, 5000],
      [12000, 1100],
    ]) {
      const tiles = panoramaTiles(w, h);
      const short = Math.min(w, h);
      const starts = tiles.map((t) => (w > h ? t.left : t.top));
      expect(tiles.every((t) => t.width === short && t.height === short && (w > h ? t.top : t.left) === 0)).toBe(true);
      expect(starts[0]).toBe(0);
      expect(starts.at(-1)).toBe(Math.max(w, h) - short);
      for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeLessThanOrEqual(short / 2);
    }
    expect(panoramaTiles(6000, 1500)).toHaveLength(7);
  });
});

describe('fromTile and mergeDetections', () => {
  const tile = { left: 1000, top: 500, width: 800, height: 800 };

  it("moves a tile's faces into the photo and drops those cut by an edge inside the photo", () => {
    const kept = fromTile([face(100, 100, 80, 0.9), face(0, 300, 60, 0.9), face(300, 760, 60, 0.9)], tile, 4000, 3000);
    expect(kept).toEqual([{ ...face(1100, 600, 80, 0.9) }]);
    // At the photo's own edge a face is not cut.
    const corner = { left: 0, top: 0, width: 800, height: 800 };
    expect(fromTile([face(0, 0, 60, 0.8)], corner, 4000, 3000)).toHaveLength(1);
  });

  it('keeps a face found twice once, its best box, and a face inside a better one not at all', () => {
    const merged = mergeDetections([[face(100, 100, 80, 0.7)], [face(104, 98, 82, 0.9), face(500, 500, 40, 0.6)], [face(110, 110, 30, 0.95)]], 0.3);
    expect(merged.map((f) => [f.x, f.score])).toEqual([
      [110, 0.95],
      [500, 0.6],
    ]);
  });
});

describe('on the GPU', () => {
  let gpu: Gpu;
  let engine: MobileNetEngine;
  let whole: FaceDescriber;
  let tiled: FaceDescriber;
  beforeAll(async () => {
    ({ gpu, engine } = await openEngine());
    whole = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING, { onNotice: () => {} });
    tiled = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING, { onNotice: () => {}, minFace: 80 });
  });
  afterAll(() => {
    whole?.destroy();
    tiled?.destroy();
    engine?.destroy();
    gpu?.destroy();
  });

  it('finds 12 portraits 120 pixels wide in a 4000x3000 photo, each once, where the whole photo alone finds few', async () => {
    const { image, placeOf } = await groupPhoto(120);
    const [alone] = await whole.describe([image]);
    const [found] = await tiled.describe([image]);
    expect(alone.length).toBeLessThan(3);
    expect(found.map((f) => placeOf(f.box)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // minFace given to one call overrides the describer's own, either way.
    const [asked] = await whole.describe([image], { minFace: 80 });
    expect(asked.map((f) => placeOf(f.box)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect((await tiled.describe([image], { minFace: 0 }))[0].length).toBeLessThan(3);
  });

  it('finds big faces once: tiles add nothing where the whole photo sees them', async () => {
    const { image, placeOf } = await groupPhoto(600);
    const [alone] = await whole.describe([image]);
    const [found] = await tiled.describe([image]);
    expect(alone.map((f) => placeOf(f.box)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(found.map((f) => placeOf(f.box)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('finds the faces along a panorama without being asked: 6 faces 400 pixels wide in 6000x1500', async () => {
    const { image, placeOf } = await panoramaPhoto(6000, 1500, 400, 6);
    const [found] = await whole.describe([image]);
    expect(found.map((f) => placeOf(f.box)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
