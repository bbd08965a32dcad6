// A made-up group photo: 12 ORL portraits (s1..s12, one photo each) scaled to `width` pixels
// wide, in a 4 x 3 grid on a plain 4000x3000 ground, as small as a group photo's faces are.
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImageRaw } from '../../src/image/decode.ts';
import type { RgbImage } from '../../src/image/rgb.ts';
import { ORL } from './faces.ts';

export interface GroupPhoto {
  image: RgbImage;
  /** Which portrait (0..11: person s1..s12) a box [x, y, w, h] is centred on, or -1. */
  placeOf(box: readonly number[]): number;
}

export async function groupPhoto(width: number, photo = 1): Promise<GroupPhoto> {
  const height = Math.round((width * 112) / 92);
  const places = Array.from({ length: 12 }, (_, i) => ({ left: 300 + (i % 4) * 950, top: 300 + Math.floor(i / 4) * 950 }));
  const portraits = await Promise.all(
    places.map(async (at, i) => {
      const p = await loadImageRaw(join(ORL, `s${i + 1}`, `${photo}.pgm`));
      const input = await sharp(Buffer.from(p.data), { raw: { width: p.width, height: p.height, channels: 3 } }).resize(width, height, { kernel: 'cubic' }).raw().toBuffer();
      return { input, raw: { width, height, channels: 3 as const }, ...at };
    }),
  );
  const data = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: { r: 118, g: 112, b: 104 } } })
    .composite(portraits)
    .removeAlpha()
    .raw()
    .toBuffer();
  return {
    image: { data: new Uint8Array(data), width: 4000, height: 3000 },
    placeOf: ([x, y, w, h]) => places.findIndex((p) => x + w / 2 > p.left && x + w / 2 < p.left + width && y + h / 2 > p.top && y + h / 2 < p.top + height),
  };
}

/** groupPhoto written to `file` as PNG. */
export async function writeGroupPhoto(file: string, width: number, photo = 1): Promise<GroupPhoto> {
  const g = await groupPhoto(width, photo);
  await sharp(Buffer.from(g.image.data), { raw: { width: g.image.width, height: g.image.height, channels: 3 } }).png().toFile(file);
  return g;
}
