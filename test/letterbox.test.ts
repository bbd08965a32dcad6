// The detector's CPU letterbox (src/detect/letterbox.ts). Below AVERAGE_FROM, against the tfjs
// formulation it replaced: CropAndResize (bilinear, extrapolation 0) with the letterboxing crop
// box, then x / 127.5 - 1, on tfjs' CPU backend. From there on, each output pixel is the mean
// of k x k source pixels: against that mean written out, and for what it is for (grain
// averaged away, nothing moved).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AVERAGE_FROM, MAX_AVERAGED, letterboxInto } from '../src/detect/letterbox.ts';
import type { RgbImage } from '../src/image/rgb.ts';
import { cut } from '../src/detect/warp-parts.ts';
import { noiseImage } from './helpers/images.ts';

function reference({ data, width, height }: RgbImage, size: number): Float32Array {
  const side = Math.max(width, height);
  const offX = (side - width) / 2;
  const offY = (side - height) / 2;
  return tf.tidy(() => {
    const pixels = tf.tensor4d(Float32Array.from(data), [1, height, width, 3]);
    const box = [-offY / (height - 1), -offX / (width - 1), (side - offY - 1) / (height - 1), (side - offX - 1) / (width - 1)];
    const out = tf.sub(tf.div(tf.image.cropAndResize(pixels, [box], [0], [size, size], 'bilinear', 0), 127.5), 1);
    return out.dataSync() as Float32Array;
  });
}

const shrinkOf = (w: number, h: number, size: number) => (Math.max(w, h) - 1) / (size - 1);

/** The averaged letterbox written out pixel by pixel: the mean of k x k points, black outside. */
function averaged({ data, width, height }: RgbImage, size: number): Float32Array {
  const side = Math.max(width, height);
  const step = shrinkOf(width, height, size);
  const k = Math.min(MAX_AVERAGED, Math.ceil(step));
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let j = 0; j < k; j++) {
          for (let i = 0; i < k; i++) {
            const sx = Math.round((x + (i + 0.5) / k - 0.5) * step - (side - width) / 2);
            const sy = Math.round((y + (j + 0.5) / k - 0.5) * step - (side - height) / 2);
            if (sx >= 0 && sx < width && sy >= 0 && sy < height) sum += data[(sy * width + sx) * 3 + c];
          }
        }
        out[(y * size + x) * 3 + c] = sum / (k * k) / 127.5 - 1;
      }
    }
  }
  return out;
}

/** Mean and standard deviation of the letterbox's values inside [from, to) of each axis. */
function spread(values: Float32Array, size: number, from: number, to: number): { mean: number; sd: number } {
  const picked: number[] = [];
  for (let y = from; y < to; y++) for (let x = from; x < to; x++) for (let c = 0; c < 3; c++) picked.push(values[(y * size + x) * 3 + c]);
  const mean = picked.reduce((a, b) => a + b, 0) / picked.length;
  return { mean, sd: Math.sqrt(picked.reduce((a, b) => a + (b - mean) ** 2, 0) / picked.length) };
}

describe('letterboxInto', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const [w, h] of [
    [115, 170],
    [300, 202],
    [140, 140],
    [37, 5],
    [400, 613],
  ]) {
    it(`${w}x${h} into 64x64 and 256x256 matches CropAndResize where it shrinks less than AVERAGE_FROM`, () => {
      const img = noiseImage(w, h, w * 31 + h);
      for (const size of [64, 256]) {
        if (shrinkOf(w, h, size) >= AVERAGE_FROM) continue;
        const got = new Float32Array(size * size * 3 + 6).fill(7);
        letterboxInto(img, size, got, 3);
        const want = reference(img, size);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[3 + i] - want[i]));
        // tfjs computes sample coordinates in float32: on a 600-pixel side that is ~7e-5 of a
        // pixel, up to ~1.4e-4 after scaling to [-1, 1]; a wrong sample is off by far more.
        expect(worst, `${w}x${h} at ${size}`).toBeLessThan(2e-4);
        // Nothing written outside its place; black margins where the photo is not square.
        expect([...got.subarray(0, 3), ...got.subarray(3 + want.length)]).toEqual([7, 7, 7, 7, 7, 7]);
        if (w !== h) expect(got[3]).toBe(-1);
      }
    });
  }

  for (const [w, h, size] of [
    [400, 613, 64],
    [1000, 1000, 128],
    [2400, 1800, 128],
    [3000, 40, 128],
  ]) {
    it(`${w}x${h} into ${size}x${size} (a shrink of AVERAGE_FROM or more) is the mean of k x k pixels`, () => {
      expect(shrinkOf(w, h, size)).toBeGreaterThanOrEqual(AVERAGE_FROM);
      const img = noiseImage(w, h, w * 17 + h);
      const got = new Float32Array(size * size * 3 + 6).fill(7);
      letterboxInto(img, size, got, 3);
      const want = averaged(img, size);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[3 + i] - want[i]));
      expect(worst).toBeLessThan(1e-5);
      expect([...got.subarray(0, 3), ...got.subarray(3 + want.length)]).toEqual([7, 7, 7, 7, 7, 7]);
      if (w !== h) expect(got[3]).toBe(-1);
    });
  }

  it('a region read in place comes out bit for bit as its pixels cut out, sampled or averaged; one outside the image is refused', () => {
    const img = noiseImage(900, 700, 4242);
    for (const [region, size] of [
      [{ left: 0, top: 0, width: 900, height: 700 }, 256], // the whole image (a shrink of 3.5: sampled)
      [{ left: 123, top: 45, width: 300, height: 410 }, 256], // sampled
      [{ left: 600, top: 1, width: 300, height: 699 }, 64], // averaged, to the right and bottom edges
      [{ left: 7, top: 650, width: 880, height: 50 }, 128], // a wide strip, averaged
    ] as const) {
      const got = new Float32Array(size * size * 3 + 6).fill(7);
      const want = new Float32Array(size * size * 3 + 6).fill(7);
      letterboxInto(img, size, got, 3, region);
      letterboxInto(cut(img, region, 1), size, want, 3);
      expect(got, JSON.stringify(region)).toEqual(want);
    }
    const out = new Float32Array(64 * 64 * 3);
    expect(() => letterboxInto(img, 64, out, 0, { left: 800, top: 0, width: 101, height: 10 })).toThrow('letterbox: region 101x10 at (800, 0) is not inside the 900x700 image');
    expect(() => letterboxInto(img, 64, out, 0, { left: 0, top: -1, width: 10, height: 10 })).toThrow(/not inside/);
  });

  it("averages a big photo's grain away: a flat grey under +-40 of noise per pixel comes out flat", () => {
    const [w, h, size] = [2400, 2400, 128];
    const grain = noiseImage(w, h, 99);
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = 128 + Math.round((grain.data[i] / 255 - 0.5) * 80);
    const got = new Float32Array(size * size * 3);
    letterboxInto({ data, width: w, height: h }, size, got, 0);
    // Inside the edges: an edge pixel's square reaches past the photo, into the black.
    const { mean, sd } = spread(got, size, 1, size - 1);
    // Per pixel the grain's sd is ~23/127.5 = 0.18; one bilinear sample keeps most of it
    // (0.12 measured with the sampling used below AVERAGE_FROM), 64 averaged pixels ~1/8 of it.
    expect(Math.abs(mean - (128 / 127.5 - 1))).toBeLessThan(0.01);
    expect(sd).toBeLessThan(0.04);
  });

  it('moves nothing: a ramp across a big photo comes out where the bilinear sample puts it', async () => {
    const [w, h, size] = [3000, 2000, 128];
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(Math.round((x * 255) / (w - 1)), (y * w + x) * 3, (y * w + x) * 3 + 3);
    const img = { data, width: w, height: h };
    const got = new Float32Array(size * size * 3);
    letterboxInto(img, size, got, 0);
    const want = reference(img, size);
    // Away from the photo's edges, where the averaged square reaches past the photo and takes
    // in black.
    const top = Math.ceil(((size - 1) * ((w - h) / 2)) / (w - 1)) + 1;
    let worst = 0;
    for (let y = top; y < size - top; y++) {
      for (let i = (y * size + 1) * 3; i < ((y + 1) * size - 1) * 3; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    }
    // One step of the ramp is 1/127.5 = 0.008 in these units; a point rounded to a pixel
    // moves it by at most half of that.
    expect(worst).toBeLessThan(0.01);
  });
});
