// Small faces in big photos. The detector sees a photo letterboxed into 256 x 256 and finds a
// face from about 20 of those pixels across: in a 4000x3000 photo, faces of 12 people pasted
// at 300 pixels wide were found 11 of 12 times, at 250 pixels 9, at 200 pixels 3, at 150
// pixels 1 and at 100 pixels none (5-celebrity-faces val/ faces on a plain ground). A group
// photo's faces are that small. To find faces down to `minFace` pixels wide, the detector
// also looks at overlapping tiles of the photo, each small enough that such a face spans
// DETECTABLE input pixels, in levels of doubling size up to the whole photo:
//
// - level l's tiles are T_l = minFace * 2^l * input / DETECTABLE pixels square; it is there for
//   faces from minFace * 2^l to twice that, and its tiles overlap by that larger width, so
//   each such face lies whole inside one of them;
// - a detection touching a tile's edge inside the photo is a cut face, and dropped: the face
//   lies whole in a neighbouring tile or, when larger than the tile, in a higher level or the
//   whole photo;
// - every level's detections and the whole photo's are merged best first, a box dropped when
//   it overlaps a better one as the detector's own suppression does, or lies mostly inside it.
//
// Panoramas. A photo twice as long as it is high or more fills only part of the detector's
// square input, so its faces are small there however large they are in it: in a 6000x1500
// photo, 6 faces 400 pixels wide (over a quarter of its height) were found 2 times, 250 pixels
// wide none. Such a photo is also looked at in square windows as high as the photo, half
// overlapping (panoramaTiles), whether or not minFace is asked for: a 6000x1500 photo makes 7.
// A face over half the photo's height cut by every window's edge is left to the whole photo,
// which finds it unless the panorama is over ~5 times as long as high.
//
// Each tile is one more run of the detector: minFace 100 on a 4000x3000 photo makes 20 + 6
// tiles beside the whole photo, minFace 80 makes 38. Tiles are letterboxed from the photo in
// place (detectRegions): cutting each out first cost 291 ms against 197 for those 38 (median
// of 8, one core), and a copy of up to 31 MB each. With minFace 80 the photo of 12 pasted
// faces took 2.4-3.3 s on lavapipe here, its faces described, against 0.1-0.8 s without; 12
// faces were found at each width tried, 80 to 600 pixels.
import type { PixelRect } from '../image/rgb.ts';
import { dropContained, type FaceDetection } from './blazeface.ts';
import { boxIou } from './region.ts';

/** Width in the detector's input pixels at which a face is counted on being found. */
export const DETECTABLE = 24;

/**
 * The smallest face worth looking for: smaller, a face holds too few pixels for its descriptor
 * (it is enlarged ~9 times into a 224-pixel backbone input with its margin), and the tiles for
 * it are the detector's own 256 pixels square already.
 */
export const MIN_FACE_PIXELS = 24;

/**
 * What is wrong with `n` as the smallest face to look for (0: none, the whole photo only;
 * else a whole number of pixels from MIN_FACE_PIXELS), to follow its name; null if nothing.
 */
export function minFaceProblem(n: number): string | null {
  return n === 0 || (Number.isInteger(n) && n >= MIN_FACE_PIXELS) ? null : `must be 0 (the whole photo only) or a whole number of pixels from ${MIN_FACE_PIXELS}, got ${n}`;
}

/**
 * The tiles that find faces down to `minFace` pixels wide in a width x height photo whose
 * whole is seen at `input` x `input`; [] when the whole photo already does.
 */
export function detectionTiles(width: number, height: number, minFace: number, input: number): PixelRect[] {
  if (!(minFace > 0)) throw new Error(`the smallest face to find must be a positive number of pixels, got ${minFace}`);
  const tiles: PixelRect[] = [];
  for (let face = minFace; ; face *= 2) {
    const side = Math.floor((face * input) / DETECTABLE);
    if (side >= Math.max(width, height)) break;
    const overlap = 2 * face;
    const xs = spread(width, Math.min(side, width), side - overlap);
    const ys = spread(height, Math.min(side, height), side - overlap);
    for (const top of ys) for (const left of xs) tiles.push({ left, top, width: Math.min(side, width), height: Math.min(side, height) });
  }
  return tiles;
}

/** Whether looking for faces down to `minFace` pixels (0: none) needs tiles in a width x height photo. */
export function needsTiles(width: number, height: number, minFace: number, input: number): boolean {
  return minFace > 0 && detectionTiles(width, height, minFace, input).length > 0;
}

/**
 * The face width under which the detector may miss a face of a width x height photo without
 * minFace's tiles: one spanning fewer than DETECTABLE input pixels (`input` square) of the whole
 * photo, or of a panorama's windows. Below that a face is found by luck (faces pasted into a
 * 4000x3000 photo: 11 of 12 found at 19 input pixels, 9 at 16, 3 at 13).
 */
export function findsFrom(width: number, height: number, input: number): number {
  const seen = isPanorama(width, height) ? Math.min(width, height) : Math.max(width, height);
  return Math.ceil((DETECTABLE * seen) / input);
}

/** A photo this many times as long as it is high (or high as wide) or more is a panorama. */
export const PANORAMA_RATIO = 2;

/** Whether a photo is looked at as a panorama (in square windows along it). */
export const isPanorama = (width: number, height: number) => Math.max(width, height) >= PANORAMA_RATIO * Math.min(width, height);

/**
 * Square windows as high (wide) as a panorama, half overlapping, along it; [] for other photos,
 * and for a strip narrower than the smallest face worth looking for (MIN_FACE_PIXELS): a
 * banner a pixel high was a window a pixel square every half pixel, an endless list.
 */
export function panoramaTiles(width: number, height: number): PixelRect[] {
  if (!isPanorama(width, height)) return [];
  const short = Math.min(width, height);
  if (short < MIN_FACE_PIXELS) return [];
  const starts = spread(Math.max(width, height), short, Math.floor(short / 2));
  return starts.map((at) => (width >= height ? { left: at, top: 0, width: short, height: short } : { left: 0, top: at, width: short, height: short }));
}

/** Starts of tiles `span` long covering 0..length, at most `stride` apart, evenly spread. */
function spread(length: number, span: number, stride: number): number[] {
  if (span >= length) return [0];
  if (!(stride >= 1)) throw new Error(`tiles ${span} long cannot cover ${length} at a stride of ${stride}`);
  const n = Math.ceil((length - span) / stride) + 1;
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - span)) / (n - 1)));
}

/**
 * Detections made in `tile`, in the photo's pixels; those touching an edge of the tile that is
 * inside the photo (cut faces) are dropped.
 */
export function fromTile(found: readonly FaceDetection[], tile: PixelRect, width: number, height: number): FaceDetection[] {
  // A cut face's box ends at the tile's edge give or take the model's error.
  const margin = 0.01 * Math.max(tile.width, tile.height);
  const inner = { left: tile.left > 0, top: tile.top > 0, right: tile.left + tile.width < width, bottom: tile.top + tile.height < height };
  return found
    .filter(
      (f) =>
        !(inner.left && f.x < margin) &&
        !(inner.top && f.y < margin) &&
        !(inner.right && f.x + f.width > tile.width - margin) &&
        !(inner.bottom && f.y + f.height > tile.height - margin),
    )
    .map((f) => ({ ...f, x: f.x + tile.left, y: f.y + tile.top, keypoints: f.keypoints.map(([x, y]) => [x + tile.left, y + tile.top] as [number, number]) }));
}

/**
 * One list from several (the whole photo's and its tiles'), best first: a face found more than
 * once is kept once, as its best-scoring box.
 */
export function mergeDetections(lists: readonly (readonly FaceDetection[])[], iouThreshold: number): FaceDetection[] {
  const all = lists.flat().sort((a, b) => b.score - a.score);
  const kept: FaceDetection[] = [];
  for (const f of all) if (kept.every((g) => boxIou(f, g) <= iouThreshold)) kept.push(f);
  return dropContained(kept);
}
