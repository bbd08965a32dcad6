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

/** A synthetic picture: a disc or a square of random size, place and colours on a random background, with noise. */
export function shapePicture(kind: 'circle' | 'square', seed: number, size = 160): Buffer {
  let state = seed * 2654435761 + 12345;
  const rand = () => ((state = (Math.imul(state ^ (state >>> 15), 2246822519) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const bg = [rand() * 255, rand() * 255, rand() * 255];
  let fg = [rand() * 255, rand() * 255, rand() * 255];
  while (Math.abs(fg[0] - bg[0]) + Math.abs(fg[1] - bg[1]) + Math.abs(fg[2] - bg[2]) < 200) fg = [rand() * 255, rand() * 255, rand() * 255];
  const r = size * (0.18 + rand() * 0.14);
  const cx = r + rand() * (size - 2 * r);
  const cy = r + rand() * (size - 2 * r);
  const px = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = kind === 'circle' ? (x - cx) ** 2 + (y - cy) ** 2 <= r * r : Math.abs(x - cx) <= r * 0.886 && Math.abs(y - cy) <= r * 0.886; // same area
      const c = inside ? fg : bg;
      for (let k = 0; k < 3; k++) px[(y * size + x) * 3 + k] = Math.max(0, Math.min(255, c[k] + (rand() - 0.5) * 40));
    }
  }
  return px;
}
