// Test pictures made from a seed: the same bytes on every run.
import type { RgbImage } from '../../src/image/rgb.ts';

/** A width x height RGB image of seeded noise (a linear congruential generator's top bytes). */
export function noiseImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height };
}
