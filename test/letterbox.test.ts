// The detector's CPU letterbox (src/detect/letterbox.ts) against the tfjs formulation it
// replaced: CropAndResize (bilinear, extrapolation 0) with the letterboxing crop box, then
// x / 127.5 - 1, on tfjs' CPU backend.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { letterboxInto } from '../src/detect/letterbox.ts';
import type { RgbImage } from '../src/image/rgb.ts';
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
    it(`${w}x${h} into 64x64 and 256x256 matches CropAndResize`, () => {
      const img = noiseImage(w, h, w * 31 + h);
      for (const size of [64, 256]) {
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
});
