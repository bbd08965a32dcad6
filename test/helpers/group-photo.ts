// Made-up photos of several people: ORL portraits (s1, s2, ..., one photo each) scaled to
// `faceWidth` pixels wide on a plain ground, as small as a group photo's faces are, or along a
// panorama.
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImageRaw } from '../../src/image/decode.ts';
import type { RgbImage } from '../../src/image/rgb.ts';
import { ORL } from './faces.ts';

export interface GroupPhoto {
  image: RgbImage;
  /** Which portrait (0, 1, ...: person s1, s2, ...) a box [x, y, w, h] is centred on, or -1. */
  placeOf(box: readonly number[]): number;
}

/** Portraits of s1, s2, ... (or of `people`) with their top-left corners at `places`, on a width x height ground. */
async function portraitsPhoto(width: number, height: number, places: { left: number; top: number }[], faceWidth: number, photo: number, people = places.map((_, i) => i + 1)): Promise<GroupPhoto> {
  const faceHeight = Math.round((faceWidth * 112) / 92);
  const portraits = await Promise.all(
    places.map(async (at, i) => {
      const p = await loadImageRaw(join(ORL, `s${people[i]}`, `${photo}.pgm`));
      const input = await sharp(Buffer.from(p.data), { raw: { width: p.width, height: p.height, channels: 3 } }).resize(faceWidth, faceHeight, { kernel: 'cubic' }).raw().toBuffer();
      return { input, raw: { width: faceWidth, height: faceHeight, channels: 3 as const }, ...at };
    }),
  );
  const data = await sharp({ create: { width, height, channels: 3, background: { r: 118, g: 112, b: 104 } } })
    .composite(portraits)
    .removeAlpha()
    .raw()
    .toBuffer();
  return {
    image: { data: new Uint8Array(data), width, height },
    placeOf: ([x, y, w, h]) => places.findIndex((p) => x + w / 2 > p.left && x + w / 2 < p.left + faceWidth && y + h / 2 > p.top && y + h / 2 < p.top + faceHeight),
  };
}

/** 12 portraits `faceWidth` wide in a 4 x 3 grid on 4000x3000. */
export function groupPhoto(faceWidth: number, photo = 1): Promise<GroupPhoto> {
  const places = Array.from({ length: 12 }, (_, i) => ({ left: 300 + (i % 4) * 950, top: 300 + Math.floor(i / 4) * 950 }));
  return portraitsPhoto(4000, 3000, places, faceWidth, photo);
}

/** `count` portraits `faceWidth` wide in a row along a width x height panorama, evenly spaced, centred on its height. */
export function panoramaPhoto(width: number, height: number, faceWidth: number, count: number): Promise<GroupPhoto> {
  const faceHeight = Math.round((faceWidth * 112) / 92);
  const places = Array.from({ length: count }, (_, i) => ({ left: Math.round(((i + 0.5) * width) / count - faceWidth / 2), top: Math.round(height / 2 - faceHeight / 2) }));
  return portraitsPhoto(width, height, places, faceWidth, 1);
}

async function writePng(file: string, g: GroupPhoto): Promise<GroupPhoto> {
  await sharp(Buffer.from(g.image.data), { raw: { width: g.image.width, height: g.image.height, channels: 3 } }).png().toFile(file);
  return g;
}

/** groupPhoto written to `file` as PNG. */
export async function writeGroupPhoto(file: string, faceWidth: number, photo = 1): Promise<GroupPhoto> {
  return writePng(file, await groupPhoto(faceWidth, photo));
}

/** One person far off: ORL photo `photo` of s`person`, `faceWidth` wide, in a 4000x3000 photo, written to `file` as PNG. */
export async function writeFarPhoto(file: string, person: number, photo: number, faceWidth: number): Promise<GroupPhoto> {
  return writePng(file, await portraitsPhoto(4000, 3000, [{ left: 2300, top: 1100 }], faceWidth, photo, [person]));
}
