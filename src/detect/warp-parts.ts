// Where a photo is too big for the device to bind in one storage buffer (a 48-megapixel phone
// photo is 146 MB as packed RGB; most devices bind 128 MiB), the face warp reads parts of it
// instead: the rectangle each view samples (its footprint, widened by the bilinear taps'
// reach), cut out on the CPU, with the view's map moved onto it. That is exact: a view never
// samples outside its footprint, and where the footprint crosses the photo's edge the part
// ends there too, so edge pixels repeat as they do for the whole photo. Only a part that is
// still too big alone is shrunk (box-averaged by a whole factor, its map scaled with it); a
// view that reads that many pixels shrinks them tens of times over anyway.
import type { PixelRect, RgbImage } from '../image/rgb.ts';
import type { Affine } from './align.ts';

/** A source for some of a warp's views: `maps` are views first, first + 1, ... of the call. */
export interface SourcePart {
  image: RgbImage;
  maps: Affine[];
  first: number;
}

/** Pixels beyond a sample that bilinear interpolation may read (the pixel below and the one past it). */
const REACH = 2;

/** Bytes a width x height packed RGB image takes in a buffer (whole words). */
export const packedBytes = (width: number, height: number) => Math.ceil((width * height * 3) / 4) * 4;

/**
 * The pixels a size x size view under `m` samples, inside the photo (at least one pixel, on
 * the photo's edge when the view lies wholly outside it: that edge is what it repeats).
 */
export function footprint(m: Affine, size: number, width: number, height: number): PixelRect {
  const xs = [0, size].flatMap((X) => [0, size].map((Y) => m.a * X + m.b * Y + m.c));
  const ys = [0, size].flatMap((X) => [0, size].map((Y) => m.d * X + m.e * Y + m.f));
  const left = Math.min(width - 1, Math.max(0, Math.floor(Math.min(...xs)) - REACH));
  const top = Math.min(height - 1, Math.max(0, Math.floor(Math.min(...ys)) - REACH));
  const right = Math.max(left + 1, Math.min(width, Math.ceil(Math.max(...xs)) + REACH));
  const bottom = Math.max(top + 1, Math.min(height, Math.ceil(Math.max(...ys)) + REACH));
  return { left, top, width: right - left, height: bottom - top };
}

/** The smallest rectangle holding both. */
function union(a: PixelRect, b: PixelRect): PixelRect {
  const left = Math.min(a.left, b.left);
  const top = Math.min(a.top, b.top);
  return { left, top, width: Math.max(a.left + a.width, b.left + b.width) - left, height: Math.max(a.top + a.height, b.top + b.height) - top };
}

/**
 * The sources of a warp of `maps` (size x size views) from `image`, each at most `maxBytes`:
 * the photo itself when it fits; else the part all views read, when that fits (or when views
 * cannot be written one at a time: size x size x 3 bytes not whole words); else one part per
 * view. A part too big alone is shrunk by the smallest whole factor that makes it fit.
 */
export function sourceParts(image: RgbImage, maps: readonly Affine[], size: number, maxBytes: number): SourcePart[] {
  const { width, height } = image;
  if (packedBytes(width, height) <= maxBytes) return [{ image, maps: [...maps], first: 0 }];
  const boxes = maps.map((m) => footprint(m, size, width, height));
  const all = boxes.reduce(union);
  if (packedBytes(all.width, all.height) <= maxBytes || (size * size * 3) % 4 !== 0) {
    const s = shrinkFor(all, maxBytes);
    return [{ image: cut(image, all, s), maps: maps.map((m) => moved(m, all, s)), first: 0 }];
  }
  return maps.map((m, j) => {
    const s = shrinkFor(boxes[j], maxBytes);
    return { image: cut(image, boxes[j], s), maps: [moved(m, boxes[j], s)], first: j };
  });
}

/** The smallest whole factor that shrinks `box` to at most `maxBytes`. */
function shrinkFor(box: PixelRect, maxBytes: number): number {
  let s = 1;
  while (packedBytes(Math.ceil(box.width / s), Math.ceil(box.height / s)) > maxBytes) s++;
  return s;
}

/** `box` of `image`, each s x s block averaged into one pixel (blocks cut short at the box's far edges average what they hold). */
export function cut(image: RgbImage, box: PixelRect, s: number): RgbImage {
  const { data, width } = image;
  const w = Math.ceil(box.width / s);
  const h = Math.ceil(box.height / s);
  const out = new Uint8Array(w * h * 3);
  if (s === 1) {
    for (let y = 0; y < h; y++) out.set(data.subarray(((box.top + y) * width + box.left) * 3, ((box.top + y) * width + box.left + box.width) * 3), y * w * 3);
    return { data: out, width: w, height: h };
  }
  const sums = new Float64Array(w * 3);
  const counts = new Float64Array(w);
  for (let by = 0; by < h; by++) {
    sums.fill(0);
    counts.fill(0);
    for (let y = box.top + by * s; y < Math.min(box.top + (by + 1) * s, box.top + box.height); y++) {
      for (let x = box.left; x < box.left + box.width; x++) {
        const i = Math.floor((x - box.left) / s);
        const at = (y * width + x) * 3;
        sums[i * 3] += data[at];
        sums[i * 3 + 1] += data[at + 1];
        sums[i * 3 + 2] += data[at + 2];
        counts[i]++;
      }
    }
    for (let i = 0; i < w * 3; i++) out[by * w * 3 + i] = Math.round(sums[i] / counts[Math.floor(i / 3)]);
  }
  return { data: out, width: w, height: h };
}

/** `m` onto the part `box` of its photo, shrunk s times: source positions less the box's corner, over s. */
export function moved(m: Affine, box: PixelRect, s: number): Affine {
  return { a: m.a / s, b: m.b / s, c: (m.c - box.left) / s, d: m.d / s, e: m.e / s, f: (m.f - box.top) / s };
}
