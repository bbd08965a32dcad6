// Face framing records and the detector's containment rule: pure arithmetic, no GPU.
import { describe, expect, it } from 'vitest';
import { applyAffine, uprightSquareTransform } from '../src/detect/align.ts';
import { dropContained } from '../src/detect/blazeface.ts';
import { checkPreprocessing, DEFAULT_PREPROCESSING, framingTransform } from '../src/faces/framing.ts';
import { largestFace } from '../src/faces/describe.ts';

const face = (x: number, y: number, w: number, eyes: [[number, number], [number, number]]) => ({ x, y, width: w, height: w, score: 0.9, keypoints: [...eyes, [0, 0], [0, 0], [0, 0], [0, 0]] as [number, number][] });

describe('upright square framing', () => {
  it('a level face: the square around the box at the margin, unrotated', () => {
    const m = uprightSquareTransform(face(100, 50, 80, [[120, 80], [160, 80]]), 1.5, 224);
    const [x0, y0] = applyAffine(m, 0, 0);
    const [x1, y1] = applyAffine(m, 224, 224);
    expect(x0).toBeCloseTo(140 - 60, 6);
    expect(y0).toBeCloseTo(90 - 60, 6);
    expect(x1).toBeCloseTo(140 + 60, 6);
    expect(y1).toBeCloseTo(90 + 60, 6);
  });

  it('a tilted face comes out with its eyes level, centred on the box, at the same scale', () => {
    const eyes: [[number, number], [number, number]] = [[120, 70], [160, 90]]; // tilted by atan(0.5)
    const m = uprightSquareTransform(face(100, 50, 80, eyes), 1.5, 224);
    // Output points on one row map to source points along the eyes' direction.
    const [ax, ay] = applyAffine(m, 50, 100);
    const [bx, by] = applyAffine(m, 150, 100);
    expect((by - ay) / (bx - ax)).toBeCloseTo(0.5, 6);
    expect(Math.hypot(bx - ax, by - ay)).toBeCloseTo((100 * 120) / 224, 6);
    const [cx, cy] = applyAffine(m, 112, 112);
    expect([cx, cy]).toEqual([expect.closeTo(140, 6), expect.closeTo(90, 6)]);
  });

  it('the default framing is the upright square, and records are checked', () => {
    expect(DEFAULT_PREPROCESSING.framing).toEqual({ method: 'upright', margin: 1.5 });
    expect(() => checkPreprocessing(DEFAULT_PREPROCESSING, 'g')).not.toThrow();
    expect(() => checkPreprocessing({ ...DEFAULT_PREPROCESSING, framing: { method: 'upright', margin: -1 } }, 'g.json')).toThrow(/g\.json: upright framing needs a positive margin/);
    expect(() => checkPreprocessing({ ...DEFAULT_PREPROCESSING, framing: { method: 'spiral' } }, 'g.json')).toThrow(/g\.json: unknown face alignment/);
    expect(() => checkPreprocessing({ detector: 'mtcnn', minScore: 0.5, framing: { method: 'square', margin: 1 } }, 'g.json')).toThrow(/unknown face preprocessing/);
    const sq = framingTransform(face(10, 10, 20, [[15, 15], [25, 15]]), { method: 'square', margin: 1 }, 20, 100, 100);
    expect(applyAffine(sq, 0, 0)).toEqual([10, 10]);
  });
});

describe('detections inside better ones are dropped', () => {
  const box = (x: number, y: number, w: number, h: number) => ({ x, y, width: w, height: h });
  it('keeps side-by-side faces, drops a box mostly inside a better one', () => {
    const kept = dropContained([box(0, 0, 60, 60), box(10, 30, 30, 30), box(100, 0, 60, 60), box(50, 0, 40, 40)]);
    // (10,30,30,30) lies inside the first; (50,0,40,40) overlaps the first by 10x40 = 25% of its area: kept.
    expect(kept).toEqual([box(0, 0, 60, 60), box(100, 0, 60, 60), box(50, 0, 40, 40)]);
  });
  it('largestFace picks by box area', () => {
    expect(largestFace([{ box: [0, 0, 10, 10] }, { box: [0, 0, 30, 20] }, { box: [5, 5, 20, 20] }])).toBe(1);
    expect(largestFace([])).toBe(-1);
  });
});
