// Face detection in front of the backbone (src/detect): BlazeFace on tfjs' WebGPU backend on
// our device finds the face in real photos; a photo without a face goes in whole, and says so;
// the crop square stays inside the image; a model trained on face crops is refused by a
// caller that does not crop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anchorCentres } from '../src/detect/anchors.ts';
import { KEYPOINT, withFillingFaces, type BlazeFaceDetector } from '../src/detect/blazeface.ts';
import { faceCropRecord } from '../src/detect/face-crop.ts';
import { loadBlazeFace, NODE_CROP_IO, nodeFaceCropper } from '../src/detect/node.ts';
import { squareRegion } from '../src/detect/region.ts';
import type { Gpu } from '../src/gpu/device.ts';
import { loadImageRaw, loadImageRGB } from '../src/image/decode.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { openEngine } from '../src/node.ts';
import { FaceClassifier } from '../src/train/classify.ts';
import { buildHead } from '../src/train/head.ts';
import { backboneIdentity, MODEL_FORMAT, MODEL_VERSION, preprocessingOf, validateMeta, type FaceModelMeta } from '../src/train/model-format.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { CELEB, ORL } from './helpers/faces.ts';
import { facegpu } from './helpers/train-data.ts';

let tmp: string;
let gpu: Gpu;
let engine: MobileNetEngine;
let detector: BlazeFaceDetector;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-detect-'));
  ({ gpu, engine } = await openEngine());
  const backend = await useGpuForTfjs(gpu);
  expect(backend.device).toBe(gpu.device); // detection runs on our device, through tfjs' WebGPU backend
  detector = await loadBlazeFace();
});
afterAll(() => {
  engine?.destroy();
  gpu?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

const PHOTOS = [
  join(CELEB, 'val/ben_afflek/httpcsvkmeuadecafjpg.jpg'),
  join(CELEB, 'val/elton_john/httpafilesbiographycomimageuploadcfillcssrgbdprgfacehqwMTEODAOTcxNjcMjczMjkzjpg.jpg'),
  join(CELEB, 'train/madonna/httpiamediaimdbcomimagesMMVBMTANDQNTAxNDVeQTJeQWpwZBbWUMDIMjQOTYVUXCRALjpg.jpg'),
  join(ORL, 's1/1.pgm'),
];

describe('BlazeFace', () => {
  it('has 896 anchors: a 16x16 grid of 2 at stride 16, then an 8x8 grid of 6 at stride 32', () => {
    const a = anchorCentres(256);
    expect(a.length).toBe(896 * 2);
    expect([a[0], a[1], a[2], a[3], a[4], a[5]]).toEqual([8, 8, 8, 8, 24, 8]); // two per cell, then the next column
    expect([a[2 * 511], a[2 * 511 + 1]]).toEqual([248, 248]);
    expect([a[2 * 512], a[2 * 512 + 1]]).toEqual([16, 16]);
    expect([a[2 * 895], a[2 * 895 + 1]]).toEqual([240, 240]);
  });

  it.each(PHOTOS)('finds one confident face inside %s', async (file) => {
    const image = await loadImageRaw(file);
    const faces = await detector.detect(image);
    expect(faces.length).toBeGreaterThanOrEqual(1);
    const [f] = faces;
    expect(f.score).toBeGreaterThan(0.75);
    // A face box: square-ish, a sizeable part of these portraits, (nearly) inside the image.
    expect(f.width / f.height).toBeGreaterThan(0.8);
    expect(f.width / f.height).toBeLessThan(1.25);
    const short = Math.min(image.width, image.height);
    expect(f.width).toBeGreaterThan(0.15 * short);
    expect(f.width).toBeLessThan(1.1 * short);
    const slack = 0.05 * short;
    expect(f.x).toBeGreaterThan(-slack);
    expect(f.y).toBeGreaterThan(-slack);
    expect(f.x + f.width).toBeLessThan(image.width + slack);
    expect(f.y + f.height).toBeLessThan(image.height + slack);
  });

  it('finds the face where it is: moving the photo inside a larger canvas moves the box with it', async () => {
    const image = await loadImageRaw(PHOTOS[1]);
    const [a] = await detector.detect(image);
    const dx = 150;
    const dy = 40;
    const bigger = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .extend({ left: dx, top: dy, right: 60, bottom: 90, background: { r: 128, g: 128, b: 128 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const [b] = await detector.detect({ data: new Uint8Array(bigger.data), width: bigger.info.width, height: bigger.info.height });
    const tol = 0.08 * a.width;
    expect(Math.abs(b.x - (a.x + dx))).toBeLessThan(tol);
    expect(Math.abs(b.y - (a.y + dy))).toBeLessThan(tol);
    expect(Math.abs(b.width - a.width)).toBeLessThan(tol);
  });

  it('detects a batch of photos of different sizes as it detects each alone', async () => {
    const images = await Promise.all(PHOTOS.map((f) => loadImageRaw(f)));
    const alone = await Promise.all(images.map((im) => detector.detect(im)));
    const together = await detector.detectMany(images);
    expect(together).toHaveLength(images.length);
    together.forEach((faces, i) => {
      expect(faces.length).toBe(alone[i].length);
      expect(faces[0].score).toBeCloseTo(alone[i][0].score, 4);
      expect(faces[0].x).toBeCloseTo(alone[i][0].x, 2);
      expect(faces[0].width).toBeCloseTo(alone[i][0].width, 2);
    });
  });

  it('finds every face of a group: 16 portraits in one photo give 16 faces, one in each place', async () => {
    // The model's NMS kept at most 10 faces per photo, so a group of more lost the rest.
    const [cols, rows, w, h, gap] = [4, 4, 92, 112, 24];
    const places = Array.from({ length: cols * rows }, (_, i) => ({ left: gap + (i % cols) * (w + gap), top: gap + Math.floor(i / cols) * (h + gap) }));
    const tiles = await Promise.all(
      places.map(async (at, i) => {
        const portrait = await loadImageRaw(join(ORL, `s${i + 1}`, '1.pgm'));
        return { input: Buffer.from(portrait.data), raw: { width: w, height: h, channels: 3 as const }, ...at };
      }),
    );
    const width = gap + cols * (w + gap);
    const height = gap + rows * (h + gap);
    const group = await sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .composite(tiles)
      .removeAlpha()
      .raw()
      .toBuffer();
    const faces = await detector.detect({ data: new Uint8Array(group), width, height });
    const placeOf = (f: { x: number; y: number; width: number; height: number }) =>
      places.findIndex((p) => f.x + f.width / 2 > p.left && f.x + f.width / 2 < p.left + w && f.y + f.height / 2 > p.top && f.y + f.height / 2 < p.top + h);
    expect(faces.map(placeOf).sort((a, b) => a - b)).toEqual(places.map((_, i) => i));
  });

  it('a face filling the photo is boxed whole, not on a spectacle lens, and found where the whole photo gave nothing (zoomed out)', async () => {
    // Seen whole, BlazeFace boxed a lens (~35 of 92 pixels) on every photo of ORL s34 and on
    // s31/3, and found nothing in s37/4; s34/7 gave two lens boxes.
    for (const photo of ['s34/1.pgm', 's34/7.pgm', 's31/3.pgm', 's37/4.pgm']) {
      const image = await loadImageRaw(join(ORL, photo));
      const faces = await detector.detect(image);
      expect(faces.length, photo).toBe(1);
      const [f] = faces;
      expect(f.width / image.width, photo).toBeGreaterThan(0.75);
      // The box is on the face: both eyes inside it, in its upper half, left of right.
      const [right, left] = [f.keypoints[KEYPOINT.rightEye], f.keypoints[KEYPOINT.leftEye]];
      expect(right[0], photo).toBeLessThan(left[0]);
      for (const [x, y] of [right, left]) {
        expect(x > f.x && x < f.x + f.width && y > f.y && y < f.y + f.height / 2 + 0.1 * f.height, photo).toBe(true);
      }
    }
  });

  it('withFillingFaces: a face filling the photo replaces the boxes on or inside it, whatever their scores; other faces stay', () => {
    const face = (x: number, y: number, size: number, score: number) => ({ x, y, width: size, height: size, score, keypoints: [] });
    const lens = face(10, 25, 35, 0.9);
    const whole = face(2, 20, 85, 0.8);
    const elsewhere = face(200, 20, 40, 0.7);
    expect(withFillingFaces([whole], [lens, elsewhere], 0.3)).toEqual([whole, elsewhere]);
    expect(withFillingFaces([], [lens, elsewhere], 0.3)).toEqual([lens, elsewhere]);
    // A box overlapping the filling face (not inside it) goes too.
    const shifted = face(20, 30, 85, 0.95);
    expect(withFillingFaces([whole], [shifted], 0.3)).toEqual([whole]);
  });

  it('finds no face in a flat grey image', async () => {
    expect(await detector.detect({ data: new Uint8Array(300 * 200 * 3).fill(128), width: 300, height: 200 })).toEqual([]);
  });
});

describe('face crop', () => {
  it('squares the box, enlarges it by the margin and keeps it inside the image', () => {
    expect(squareRegion({ x: 100, y: 100, width: 50, height: 40 }, 1.4, 400, 300)).toEqual({ left: 90, top: 85, width: 70, height: 70 });
    // Near an edge: shifted in, same size.
    expect(squareRegion({ x: -10, y: 250, width: 60, height: 60 }, 1.5, 400, 300)).toEqual({ left: 0, top: 210, width: 90, height: 90 });
    // Larger than the image's short side: that side.
    expect(squareRegion({ x: 10, y: 10, width: 80, height: 100 }, 1.6, 92, 112)).toEqual({ left: 0, top: 14, width: 92, height: 92 });
    expect(() => squareRegion({ x: 0, y: 0, width: 1, height: 1 }, 0, 10, 10)).toThrow(/margin/);
  });

  it('crops the face of a photo to the backbone input size', async () => {
    const cropper = await nodeFaceCropper(faceCropRecord(1.3));
    const r = await cropper.crop(PHOTOS[0], 224);
    expect(r.face).not.toBeNull();
    expect(r.pixels.length).toBe(224 * 224 * 3);
    expect(r.rect!.width).toBe(Math.round(Math.max(r.face!.width, r.face!.height) * 1.3));
    const whole = await loadImageRGB(PHOTOS[0], 224);
    expect(Buffer.from(r.pixels).equals(Buffer.from(whole))).toBe(false);
    expect(cropper.stats).toMatchObject({ images: 1, noFace: 0 });
    expect(cropper.stats.detectMs).toBeGreaterThan(0);
  });

  it('locating a set first, then cutting, gives the same crops as cropping each photo', async () => {
    const cropper = await nodeFaceCropper(faceCropRecord(1.3));
    const files = [...PHOTOS, join(CELEB, 'no-such-photo.jpg')];
    const progress: number[] = [];
    const located = await cropper.locate(files, (done) => progress.push(done));
    expect(progress.at(-1)).toBe(files.length);
    const missing = located[PHOTOS.length];
    expect('error' in missing ? missing.error.message : 'located').toMatch(/no-such-photo\.jpg: cannot read/);
    for (let i = 0; i < PHOTOS.length; i++) {
      const at = located[i];
      if (!('face' in at)) throw new Error(`${PHOTOS[i]}: ${at.error.message}`);
      const alone = await cropper.crop(PHOTOS[i], 224);
      expect(at.rect).toEqual(alone.rect);
      expect(Buffer.from(await cropper.cutAt(PHOTOS[i], at, 224)).equals(Buffer.from(alone.pixels))).toBe(true);
    }
  });

  it('a photo without a face goes in whole, and is counted', async () => {
    const grey = join(tmp, 'grey.png');
    await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 120, g: 120, b: 120 } } }).png().toFile(grey);
    const cropper = await nodeFaceCropper(faceCropRecord(1.3));
    const r = await cropper.crop(grey, 224);
    expect(r.face).toBeNull();
    expect(r.rect).toBeNull();
    expect(Buffer.from(r.pixels).equals(Buffer.from(await loadImageRGB(grey, 224)))).toBe(true);
    expect(cropper.stats).toMatchObject({ images: 1, noFace: 1 });
  });

  it('a file that is not an image is an error naming it', async () => {
    await expect(NODE_CROP_IO.decode(join(CELEB, '..', 'no-such-file.jpg'))).rejects.toThrow(/no-such-file\.jpg: cannot read/);
  });

  it('a model trained on face crops is refused by a caller that feeds whole photos', async () => {
    const head = buildHead(engine.outputDim, 2, 1);
    const meta = {
      labels: ['a', 'b'],
      backbone: backboneIdentity(engine.manifest),
      preprocessing: preprocessingOf(engine.manifest, faceCropRecord(1.3)),
    } as FaceModelMeta;
    await expect(FaceClassifier.create(gpu, engine, head, meta, 'model-x')).rejects.toThrow(/model-x: this model was trained on face crops/);
    const ok = await FaceClassifier.create(gpu, engine, head, meta, 'model-x', { facesCropped: true });
    expect(ok.labels).toEqual(['a', 'b']);
    const whole = { ...meta, preprocessing: preprocessingOf(engine.manifest) } as FaceModelMeta;
    expect((await FaceClassifier.create(gpu, engine, head, whole, 'model-y')).meta.preprocessing.crop).toEqual({ method: 'none' });
    head.dispose();
  });

  it('the model records the crop; older models without it mean whole photos; an unknown crop is refused', () => {
    const base = { format: MODEL_FORMAT, version: MODEL_VERSION, labels: ['a', 'b'], backbone: { id: 'face', weightsSha256: 'x' } };
    const old: any = { ...base, preprocessing: { inputSize: 224 } };
    validateMeta(old, 'old/facegpu.json');
    expect(old.preprocessing.crop).toEqual({ method: 'none' });
    const face: any = { ...base, preprocessing: { crop: faceCropRecord(1.3) } };
    validateMeta(face, 'face/facegpu.json');
    expect(face.preprocessing.crop).toEqual({ method: 'face', detector: 'blazeface', margin: 1.3, minScore: 0.5 });
    expect(() => validateMeta({ ...base, preprocessing: { crop: { method: 'eyes' } } }, 'odd/facegpu.json')).toThrow(/odd\/facegpu.json: unknown preprocessing crop/);
  });

  it('facegpu train refuses an unknown --crop or a margin that is not positive, before starting the GPU', async () => {
    const bad = await facegpu(['train', ORL, '--out', join(tmp, 'never'), '--crop', 'eyes']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--crop must be face or none, got "eyes"');
    const zero = await facegpu(['train', ORL, '--out', join(tmp, 'never'), '--crop-margin', '0']);
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toContain('--crop-margin must be positive');
  });
});
