// Face alignment: the transform arithmetic (src/detect/align.ts), BlazeFace's keypoints on
// real photos (order, and mapped back to the photo as the box is), every face of a photo
// found, and eye-aligned crops warped on the GPU (src/detect/warp.ts) that put the eyes where
// the record says; written to test-output/align-*.png to be looked at.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alignRecord, applyAffine, checkAlignRecord, DEFAULT_ALIGN, eyeTransform, squareTransform, type AlignRecord } from '../src/detect/align.ts';
import { KEYPOINT, type BlazeFaceDetector, type FaceDetection } from '../src/detect/blazeface.ts';
import { loadBlazeFace } from '../src/detect/node.ts';
import { squareRegion } from '../src/detect/region.ts';
import { FaceWarper } from '../src/detect/warp.ts';
import { readBuffer } from '../src/gpu/buffers.ts';
import type { Gpu } from '../src/gpu/device.ts';
import { loadImageRaw } from '../src/image/decode.ts';
import type { RgbImage } from '../src/image/rgb.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { openEngine } from '../src/node.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { alignFile, writeRgbPng } from './helpers/align.ts';
import { CELEB, ORL } from './helpers/faces.ts';

const OUT = fileURLToPath(new URL('../test-output/', import.meta.url));

/** A face whose eyes are `span` apart around (cx, cy), the line between them turned by `deg` (clockwise on screen: y points down). */
function tilted(cx: number, cy: number, span: number, deg: number): Pick<FaceDetection, 'keypoints'> {
  const r = (deg * Math.PI) / 180;
  const dx = (Math.cos(r) * span) / 2;
  const dy = (Math.sin(r) * span) / 2;
  return { keypoints: [[cx - dx, cy - dy], [cx + dx, cy + dy], [cx, cy + span / 2], [cx, cy + span], [cx - span, cy], [cx + span, cy]] };
}

function expectNear([x, y]: [number, number], [ex, ey]: [number, number], tol = 1e-9): void {
  expect(Math.abs(x - ex)).toBeLessThan(tol);
  expect(Math.abs(y - ey)).toBeLessThan(tol);
}

describe('alignment transforms', () => {
  const rec: AlignRecord = { method: 'eyes', eyeY: 0.4, eyeDistance: 0.25 };

  it('puts the eyes level where the record says: right eye (image left) at size/2 - D/2, left eye at size/2 + D/2, both at eyeY', () => {
    const face = tilted(300, 200, 80, 0);
    const m = eyeTransform(face, 224, rec);
    const D = 0.25 * 224;
    expectNear(applyAffine(m, 112 - D / 2, 0.4 * 224), face.keypoints[KEYPOINT.rightEye]);
    expectNear(applyAffine(m, 112 + D / 2, 0.4 * 224), face.keypoints[KEYPOINT.leftEye]);
    // Level eyes: no rotation, 80 source pixels over 56 output pixels, no shear.
    expect(m.b).toBeCloseTo(0, 12);
    expect(m.d).toBeCloseTo(0, 12);
    expect(m.a).toBeCloseTo(80 / 56, 12);
    expect(m.e).toBeCloseTo(80 / 56, 12);
  });

  it.each([20, -35, 90, 170])('a face tilted by %d degrees comes out upright: the map turns by that angle', (deg) => {
    const face = tilted(150, 250, 60, deg);
    const m = eyeTransform(face, 112, rec);
    expect((Math.atan2(m.d, m.a) * 180) / Math.PI).toBeCloseTo(deg, 9);
    // A similarity: a rotation times a uniform scale.
    expect(m.e).toBeCloseTo(m.a, 12);
    expect(m.b).toBeCloseTo(-m.d, 12);
    expect(Math.hypot(m.a, m.d)).toBeCloseTo(60 / (0.25 * 112), 12);
    const D = 0.25 * 112;
    expectNear(applyAffine(m, 56 - D / 2, 0.4 * 112), face.keypoints[0], 1e-9);
    expectNear(applyAffine(m, 56 + D / 2, 0.4 * 112), face.keypoints[1], 1e-9);
    // The nose (below the eyes' midpoint, square to the eye line) comes out straight below it.
    const inv = (sx: number, sy: number) => {
      const det = m.a * m.e - m.b * m.d;
      const x = sx - m.c;
      const y = sy - m.f;
      return [(m.e * x - m.b * y) / det, (-m.d * x + m.a * y) / det];
    };
    const r = (deg * Math.PI) / 180;
    const [nx, ny] = inv(150 - Math.sin(r) * 30, 250 + Math.cos(r) * 30);
    expect(nx).toBeCloseTo(56, 9);
    expect(ny).toBeGreaterThan(0.4 * 112);
  });

  it('the square crop as a transform is the crop: its corners and pixel centres land on the rectangle\'s', () => {
    const rect = { left: 40, top: 25, width: 130, height: 130 };
    const m = squareTransform(rect, 130);
    expect(applyAffine(m, 0, 0)).toEqual([40, 25]);
    expect(applyAffine(m, 130, 130)).toEqual([170, 155]);
    expect(applyAffine(m, 7 + 0.5, 3 + 0.5)).toEqual([47.5, 28.5]); // output pixel (7, 3) is source pixel (47, 28)
    const shrink = squareTransform(rect, 65);
    expect(applyAffine(shrink, 65, 65)).toEqual([170, 155]);
    expect(shrink.a).toBe(2);
  });

  it('checks records with a clear one-line error', () => {
    checkAlignRecord(DEFAULT_ALIGN, 'x');
    expect(alignRecord(0.38, 0.3)).toEqual({ method: 'eyes', eyeY: 0.38, eyeDistance: 0.3 });
    for (const bad of [undefined, { method: 'square', margin: 1.3 }, { method: 'eyes', eyeY: 0, eyeDistance: 0.3 }, { method: 'eyes', eyeY: 0.4, eyeDistance: 1.5 }, { method: 'eyes', eyeY: 0.4 }]) {
      expect(() => checkAlignRecord(bad, 'gallery.json')).toThrow(/^gallery.json: unknown face alignment .*; this facegpu knows \{"method": "eyes", "eyeY": 0..1, "eyeDistance": 0..1\}/);
    }
    expect(() => eyeTransform({ keypoints: [] }, 224, DEFAULT_ALIGN)).toThrow(/no eye keypoints/);
    expect(() => eyeTransform({ keypoints: [[5, 5], [5, 5]] }, 224, DEFAULT_ALIGN)).toThrow(/eyes coincide/);
    expect(() => eyeTransform(tilted(0, 0, 10, 0), 0, DEFAULT_ALIGN)).toThrow(/positive integer/);
  });
});

let gpu: Gpu;
let engine: MobileNetEngine;
let detector: BlazeFaceDetector;
let warper: FaceWarper;
beforeAll(async () => {
  ({ gpu, engine } = await openEngine());
  await useGpuForTfjs(gpu);
  detector = await loadBlazeFace();
  warper = new FaceWarper(engine.runner, gpu);
  mkdirSync(OUT, { recursive: true });
});
afterAll(() => {
  warper?.destroy();
  engine?.destroy();
  gpu?.destroy();
});

const VAL = readdirSync(join(CELEB, 'val'))
  .sort()
  .flatMap((p) => readdirSync(join(CELEB, 'val', p)).sort().map((f) => join(CELEB, 'val', p, f)));
const ORL_1 = join(ORL, 's1/1.pgm');

const raw = (image: RgbImage) => sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
const asImage = ({ data, info }: { data: Buffer; info: { width: number; height: number } }): RgbImage => ({ data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height });

describe('BlazeFace keypoints', () => {
  it('come in BlazeFace\'s order on every 5-celebrity-faces val/ photo and an ORL one: eyes (image-left first) in the box\'s upper half, nose between and below them, mouth below the nose', async () => {
    const files = [...VAL, ORL_1];
    const images = await Promise.all(files.map((f) => loadImageRaw(f)));
    const found = await detector.detectMany(images);
    const eyes: { y: number; d: number }[] = [];
    found.forEach((faces, i) => {
      const where = files[i];
      expect(faces.length, where).toBeGreaterThanOrEqual(1);
      const f = faces[0];
      expect(f.keypoints, where).toHaveLength(6);
      const [re, le, nose, mouth, rear, lear] = f.keypoints;
      for (const [x, y] of [re, le]) {
        expect(y, where).toBeGreaterThan(f.y);
        expect(y, where).toBeLessThan(f.y + f.height / 2);
        expect(x, where).toBeGreaterThan(f.x);
        expect(x, where).toBeLessThan(f.x + f.width);
      }
      expect(re[0], where).toBeLessThan(le[0]);
      expect(nose[1], where).toBeGreaterThan((re[1] + le[1]) / 2);
      expect(nose[0], where).toBeGreaterThan(re[0]);
      expect(nose[0], where).toBeLessThan(le[0]);
      expect(mouth[1], where).toBeGreaterThan(nose[1]);
      expect(mouth[1], where).toBeLessThan(f.y + f.height);
      expect(rear[0], where).toBeLessThan(lear[0]);
      // Framing of today's square crop (margin 1.3): where its eyes are, for DEFAULT_ALIGN.
      const r = squareRegion(f, 1.3, images[i].width, images[i].height);
      eyes.push({ y: ((re[1] + le[1]) / 2 - r.top) / r.height, d: Math.hypot(le[0] - re[0], le[1] - re[1]) / r.width });
    });
    const mean = (k: 'y' | 'd') => eyes.reduce((s, e) => s + e[k], 0) / eyes.length;
    console.log(`square crop at margin 1.3, ${eyes.length} photos: eyes at ${mean('y').toFixed(3)} of its height, ${mean('d').toFixed(3)} of its side apart; DEFAULT_ALIGN ${JSON.stringify(DEFAULT_ALIGN)}`);
    expect(mean('y')).toBeGreaterThan(0.3);
    expect(mean('y')).toBeLessThan(0.4);
    expect(mean('d')).toBeGreaterThan(0.28);
    expect(mean('d')).toBeLessThan(0.36);
  });

  it('are mapped back to the photo as the box is: they move with the photo on a larger canvas, scale with it, and mirror with it', async () => {
    const image = await loadImageRaw(VAL[1]);
    const [a] = await detector.detect(image);
    // As the box test in detect.test.ts: the letterbox's scale changes with the canvas, and
    // BlazeFace's outputs with it by a few of its input pixels; the ears, at the face's edge, most.
    const tols = [0.08, 0.08, 0.08, 0.08, 0.12, 0.12].map((t) => t * a.width);
    const dx = 150;
    const dy = 40;
    const moved = asImage(await raw(image).extend({ left: dx, top: dy, right: 60, bottom: 90, background: { r: 128, g: 128, b: 128 } }).raw().toBuffer({ resolveWithObject: true }));
    const [b] = await detector.detect(moved);
    b.keypoints.forEach(([x, y], k) => {
      expect(Math.abs(x - (a.keypoints[k][0] + dx))).toBeLessThan(tols[k]);
      expect(Math.abs(y - (a.keypoints[k][1] + dy))).toBeLessThan(tols[k]);
    });
    // Twice the size: the same letterboxed input, so the same outputs mapped through twice the scale (to ~1 pixel here).
    const doubled = asImage(await raw(image).resize(image.width * 2, image.height * 2).raw().toBuffer({ resolveWithObject: true }));
    const [c] = await detector.detect(doubled);
    c.keypoints.forEach(([x, y], k) => {
      expect(Math.abs(x - 2 * a.keypoints[k][0])).toBeLessThan(0.02 * 2 * a.width);
      expect(Math.abs(y - 2 * a.keypoints[k][1])).toBeLessThan(0.02 * 2 * a.width);
    });
    // Mirrored, the eye on the image's left is the mirror image of the one that was on its right (to ~3 pixels here).
    const mirrored = asImage(await raw(image).flop().raw().toBuffer({ resolveWithObject: true }));
    const [m] = await detector.detect(mirrored);
    const swap = [1, 0, 2, 3, 5, 4];
    m.keypoints.forEach(([x, y], k) => {
      expect(Math.abs(x - (image.width - a.keypoints[swap[k]][0]))).toBeLessThan(0.04 * a.width);
      expect(Math.abs(y - a.keypoints[swap[k]][1])).toBeLessThan(0.04 * a.width);
    });
  });

  it('finds both faces of two photos of different people side by side, each with its own keypoints', async () => {
    const left = await loadImageRaw(join(CELEB, 'val/ben_afflek/httpcsvkmeuadecafjpg.jpg'));
    const right = await loadImageRaw(join(CELEB, 'val/madonna/httpcdnfuncheapcomwpcontentuploadsVOGUEjpg.jpg'));
    const h = 300;
    const a = await raw(left).resize({ height: h }).raw().toBuffer({ resolveWithObject: true });
    const b = await raw(right).resize({ height: h }).raw().toBuffer({ resolveWithObject: true });
    const width = a.info.width + b.info.width;
    const pair = asImage(
      await sharp({ create: { width, height: h, channels: 3, background: { r: 0, g: 0, b: 0 } } })
        .composite([
          { input: a.data, raw: { width: a.info.width, height: h, channels: 3 }, left: 0, top: 0 },
          { input: b.data, raw: { width: b.info.width, height: h, channels: 3 }, left: a.info.width, top: 0 },
        ])
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true }),
    );
    await writeRgbPng(join(OUT, 'align-pair.png'), pair.data, pair.width, pair.height);
    const faces = await detector.detect(pair);
    expect(faces).toHaveLength(2);
    expect(faces[0].score).toBeGreaterThanOrEqual(faces[1].score);
    const [l, r] = [...faces].sort((p, q) => p.x - q.x);
    for (const [f, from, to] of [[l, 0, a.info.width], [r, a.info.width, width]] as const) {
      expect(f.x + f.width / 2).toBeGreaterThan(from);
      expect(f.x + f.width / 2).toBeLessThan(to);
      for (const [x, y] of f.keypoints.slice(0, 4)) {
        expect(x).toBeGreaterThan(f.x);
        expect(x).toBeLessThan(f.x + f.width);
        expect(y).toBeGreaterThan(f.y);
        expect(y).toBeLessThan(f.y + f.height);
      }
    }
    // Both aligned in one warp.
    const crops = await warper.warpToBytes(pair, faces.map((f) => eyeTransform(f, 112, DEFAULT_ALIGN)), 112);
    expect(crops.length).toBe(2 * 112 * 112 * 3);
    await writeRgbPng(join(OUT, 'align-pair-faces.png'), crops, 112, 2 * 112); // the two crops one above the other
  });
});

describe('eye-aligned crops on the GPU', () => {
  const FILES = [
    ['align-ben_afflek.png', join(CELEB, 'val/ben_afflek/httpafilesbiographycomimageuploadcfillcssrgbdprgfacehqwMTENDgMDUODczNDcNTcjpg.jpg')],
    ['align-elton_john.png', join(CELEB, 'val/elton_john/httpcdncdnjustjaredcomwpcontentuploadsheadlineseltonjohnstillstandingbrooklynnewyearsjpg.jpg')],
    ['align-mindy_kaling.png', join(CELEB, 'val/mindy_kaling/httpdbrbzkkbdsdcloudfrontnetwpcontentuploadsMindyKalingjpg.jpg')],
    ['align-orl-s1-1.png', ORL_1],
  ] as const;

  it.each(FILES)('%s: the eyes land level where DEFAULT_ALIGN puts them (found again by BlazeFace in the crop)', async (name, file) => {
    const size = 224;
    const { faces, pixels } = await alignFile(file, detector, warper, size);
    expect(faces.length).toBeGreaterThanOrEqual(1);
    const crop = pixels.subarray(0, size * size * 3);
    await writeRgbPng(join(OUT, name), crop, size, size);
    // Found again in the crop, framed by a grey border: BlazeFace places keypoints of a face
    // that fills its whole input less well (16 pixels off on Mindy Kaling, in a crop where the
    // eyes are visibly on the line: test-output/align-mindy_kaling.png).
    const pad = size / 2;
    const framed = asImage(await raw({ data: crop, width: size, height: size }).extend({ top: pad, bottom: pad, left: pad, right: pad, background: { r: 128, g: 128, b: 128 } }).raw().toBuffer({ resolveWithObject: true }));
    const [again] = await detector.detect(framed);
    expect(again).toBeDefined();
    const [re, le] = again.keypoints.map(([x, y]) => [x - pad, y - pad] as [number, number]);
    const D = DEFAULT_ALIGN.eyeDistance * size;
    const tol = 0.06 * size; // BlazeFace's keypoints are good to a few of its 256 input pixels
    console.log(`${name}: eyes found again at (${re.map((v) => v.toFixed(1))}) and (${le.map((v) => v.toFixed(1))}); placed at (${(size / 2 - D / 2).toFixed(1)}, ${(DEFAULT_ALIGN.eyeY * size).toFixed(1)}) and (${(size / 2 + D / 2).toFixed(1)}, ${(DEFAULT_ALIGN.eyeY * size).toFixed(1)})`);
    expectNear(re, [size / 2 - D / 2, DEFAULT_ALIGN.eyeY * size], tol);
    expectNear(le, [size / 2 + D / 2, DEFAULT_ALIGN.eyeY * size], tol);
    expect(Math.abs(re[1] - le[1])).toBeLessThan(0.04 * size); // level
  });

  it('the backbone takes the crops straight from the warp\'s buffer: the same descriptors as from the read-back bytes', async () => {
    const image = await loadImageRaw(FILES[0][1]);
    const [face] = await detector.detect(image);
    const maps = [eyeTransform(face, 224, DEFAULT_ALIGN), eyeTransform(face, 224, alignRecord(0.45, 0.25))];
    const bytes = await warper.warpToBytes(image, maps, 224);
    const fromBytes = await engine.embed(bytes, 2);
    const out = await warper.warp(image, maps, 224);
    const target = gpu.device.createBuffer({ size: 2 * engine.outputDim * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    await engine.embedGpuInto(out.buffer, out.count, target, 0, out.offset);
    const fromGpu = new Float32Array(await readBuffer(gpu.device, target, target.size));
    target.destroy();
    expect(fromGpu).toEqual(fromBytes);
  });
});
