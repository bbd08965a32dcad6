// Real face images from ../shared/datasets for tests (never copied into the repo).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const ORL = join(SHARED, 'datasets/orl-faces');
export const CELEB = join(SHARED, 'datasets/5-celebrity-faces');

/** `count` ORL images (one per person) and `count` celebrity photos (round robin over people), always including the PNG named .jpg. */
export function faceImages(count: number): string[] {
  const orl = Array.from({ length: count }, (_, i) => join(ORL, `s${i + 1}`, `${(i % 10) + 1}.pgm`));
  const people = readdirSync(join(CELEB, 'train')).sort();
  const files = people.map((p) => readdirSync(join(CELEB, 'train', p)).sort().map((f) => join(CELEB, 'train', p, f)));
  const png = files.flat().find((f) => readFileSync(f).subarray(0, 4).toString('latin1') === '\x89PNG');
  const celeb: string[] = png ? [png] : [];
  for (let i = 0; celeb.length < count; i++) {
    const f = files[i % files.length][Math.floor(i / files.length)];
    if (f && f !== png) celeb.push(f);
  }
  return [...orl, ...celeb];
}
