// One photo whose faces cannot be found (an error no check before foresaw) costs only its own
// answer: FaceDescriber.describeEach gives it its Error and answers the photos around it, and
// identify, enroll, verify, embed and the photo library's batches answer the others. A lost
// device still fails the call. The failure is made by the detector refusing one marked photo
// (a PGM 93 pixels wide, ORL's are 92), the rest runs on the GPU as always.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BlazeFaceDetector } from '../src/detect/blazeface.ts';
import { describeFiles, openFaceDescriber } from '../src/faces/node.ts';
import type { FaceDescriber } from '../src/faces/describe.ts';
import { DEFAULT_PREPROCESSING } from '../src/faces/framing.ts';
import type { Gpu } from '../src/gpu/device.ts';
import { loadImageRaw } from '../src/image/decode.ts';
import { Gallery, openVerifier } from '../src/identity/node.ts';
import { embedPhotos } from '../src/library/embed-node.ts';
import { indexLibrary } from '../src/library/index-run-node.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { openEngine } from '../src/node.ts';

const ORL = join(import.meta.dirname, '../../shared/datasets/orl-faces');
const orl = (person: number, photo: number) => join(ORL, `s${person}`, `${photo}.pgm`);
const MARK = 93;

let gpu: Gpu;
let engine: MobileNetEngine;
let describer: FaceDescriber;
let dir: string;
let poison: string;
/** The detector refuses the marked photo while set. */
let refusing = true;
/** Run as the detector refuses (the device lost meanwhile, say). */
let onRefusal: (() => void) | null = null;

beforeAll(async () => {
  ({ gpu, engine } = await openEngine());
  describer = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING);
  dir = await mkdtemp(join(tmpdir(), 'facegpu-describe-each-'));
  // A face photo a pixel wider than ORL's: decodes like any, and is the one the detector refuses.
  const src = await readFile(orl(3, 1));
  const w = 92;
  const h = 112;
  const pixels = src.subarray(src.length - w * h);
  const wider = Buffer.alloc(MARK * h);
  for (let y = 0; y < h; y++) pixels.copy(wider, y * MARK, y * w, (y + 1) * w);
  poison = join(dir, 'refused.pgm');
  await writeFile(poison, Buffer.concat([Buffer.from(`P5\n${MARK} ${h}\n255\n`), wider]));
  const detectMany = BlazeFaceDetector.prototype.detectMany;
  vi.spyOn(BlazeFaceDetector.prototype, 'detectMany').mockImplementation(function (this: BlazeFaceDetector, images) {
    if (refusing && images.some((i) => i.width === MARK)) {
      onRefusal?.();
      return Promise.reject(new Error('the detector refused it'));
    }
    return detectMany.call(this, images);
  });
}, 120_000);

afterAll(async () => {
  vi.restoreAllMocks();
  describer?.destroy();
  engine?.destroy();
  gpu?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('describeEach', () => {
  it('gives the refused photo its error and the photos around it their faces, as alone', async () => {
    const images = await Promise.all([orl(1, 1), poison, orl(2, 1)].map(loadImageRaw));
    const each = await describer.describeEach(images);
    expect(each).toHaveLength(3);
    expect(each[1]).toBeInstanceOf(Error);
    expect((each[1] as Error).message).toBe('the detector refused it');
    const alone = await describer.describe([images[0], images[2]]);
    for (const [k, i] of [[0, 0], [1, 2]]) {
      const got = each[i];
      if (got instanceof Error) throw got;
      expect(got.length).toBe(1);
      expect(got[0].box).toEqual(alone[k][0].box);
      expect(Array.from(got[0].descriptor)).toEqual(Array.from(alone[k][0].descriptor));
    }
    // describe itself still fails on it.
    await expect(describer.describe(images)).rejects.toThrow('the detector refused it');
  });

  it('fails the call where the device was lost, before a batch or during it', async () => {
    const images = await Promise.all([orl(1, 1), poison].map(loadImageRaw));
    const before = gpu.lost;
    const lose = () => (gpu.lost = { reason: 'unknown', message: 'made up by the test' } as GPUDeviceLostInfo);
    try {
      lose();
      await expect(describer.describeEach(images)).rejects.toThrow('the WebGPU device was lost (unknown): made up by the test');
      gpu.lost = before;
      onRefusal = lose;
      await expect(describer.describeEach(images)).rejects.toThrow('the WebGPU device was lost (unknown): made up by the test');
    } finally {
      gpu.lost = before;
      onRefusal = null;
    }
  });
});

describe("a failure that is not the photo's", () => {
  it('a describer destroyed (its gallery closed while a call ran) fails the call, naming why, not each photo', async () => {
    const own = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING);
    own.destroy();
    const images = await Promise.all([orl(1, 1), orl(2, 1)].map(loadImageRaw));
    await expect(own.describeEach(images)).rejects.toThrow('the face describer has been destroyed');

    const gallery = await Gallery.load(join(dir, 'closing'), { gpu, engine, create: true });
    await gallery.enroll('one', [orl(1, 1)]);
    const call = gallery.identify([orl(1, 2), orl(1, 3), orl(2, 2)]);
    gallery.close();
    await expect(call).rejects.toThrow('the face describer has been destroyed');
  });

  it("destroy frees the detector's weights: describers opened and destroyed leave no tensors behind", async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) (await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING)).destroy();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a gallery handed out by Gallery.update is closed after it, and says so when used', async () => {
    const at = join(dir, 'updated');
    const kept = await Gallery.update(at, { gpu, engine, create: true }, async (g) => {
      await g.enroll('one', [orl(1, 1)]);
      return g;
    });
    await expect(kept.identify([orl(1, 2)])).rejects.toThrow(`gallery ${at}: cannot identify: it was closed`);
  });
});

describe('the callers answer the other photos', () => {
  it('identify, enroll and verify (the Node API), embed and the photo library', async () => {
    const gallery = await Gallery.load(join(dir, 'gallery'), { gpu, engine, create: true });
    try {
      const enrolled = await gallery.enroll('one', [orl(1, 1), poison, orl(1, 2)]);
      expect(enrolled.added).toBe(2);
      expect(enrolled.skipped).toEqual([{ file: poison, reason: `${poison}: its faces could not be found: the detector refused it`, unreadable: true }]);
      await gallery.enroll('two', [orl(2, 1), orl(2, 2)]);

      // Each answered as its nearest person (a threshold from two people would call them strangers).
      const found = await gallery.identify([orl(1, 3), poison, orl(2, 3)]);
      expect(found.map((r) => ('error' in r ? r.error : r.faces.map((f) => f.candidates[0].label)))).toEqual([['one'], `${poison}: its faces could not be found: the detector refused it`, ['two']]);
    } finally {
      gallery.close();
    }

    const verifier = await openVerifier({ gpu, engine });
    try {
      const pairs = await verifier.verifyPairs([
        [orl(1, 1), orl(1, 4)],
        [orl(1, 1), poison],
      ]);
      expect('same' in pairs[0] && pairs[0].faces).toEqual([1, 1]);
      expect('error' in pairs[1] && pairs[1].error).toBe(`${poison}: its faces could not be found: the detector refused it`);
    } finally {
      verifier.destroy();
    }

    const files = await describeFiles(describer, [poison, orl(4, 1)]);
    expect(files.map((f) => ('error' in f ? f.error : f.faces.length))).toEqual([`${poison}: its faces could not be found: the detector refused it`, 1]);

    const photos = await embedPhotos(describer, [orl(5, 1), poison]);
    expect(photos.map((p) => ('error' in p ? p.error : p.faces.length))).toEqual([1, `${poison}: its faces could not be found: the detector refused it`]);
  });
});

describe('the photo library', () => {
  it('stores the photo as failed, and reads it again at the next run (the device may have been at fault)', async () => {
    const root = join(dir, 'photos');
    await mkdir(root);
    await copyFile(orl(6, 1), join(root, 'a.pgm'));
    await copyFile(poison, join(root, 'b.pgm'));
    const library = join(dir, 'library');
    const first = await indexLibrary(root, library);
    expect(first).toMatchObject({ photos: 2, new: 2 });
    expect(first.failed.map((f) => f.error)).toEqual([`${join(root, 'b.pgm')}: its faces could not be found: the detector refused it`]);
    // Still refused: read again and failing again (not "again": that is a stored error told anew).
    const second = await indexLibrary(root, library);
    expect(second.failed).toEqual([{ file: join(root, 'b.pgm'), error: first.failed[0].error }]);
    // A copy of its bytes is searched, not given the stored failure.
    await copyFile(poison, join(root, 'c.pgm'));
    const third = await indexLibrary(root, library);
    expect(third).toMatchObject({ new: 1, copied: 0 });
    expect(third.failed.map((f) => f.file).sort()).toEqual([join(root, 'b.pgm'), join(root, 'c.pgm')]);
    // The trouble gone, both are read again and found.
    refusing = false;
    try {
      const fourth = await indexLibrary(root, library);
      expect(fourth.failed).toEqual([]);
      expect(fourth).toMatchObject({ photos: 3, changed: 2 });
    } finally {
      refusing = true;
    }
  });
});
