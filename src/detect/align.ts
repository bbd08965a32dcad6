// Face alignment as arithmetic: where in the photo each pixel of the backbone's size x size
// input comes from. A transform is a 2x3 affine map from OUTPUT to SOURCE (what a sampler
// needs: for each output pixel, where to read), built either from the eye keypoints
// (eyeTransform: rotate and scale so that the eyes land level at fixed places) or from
// today's square crop (squareTransform). The GPU applies them in warp.ts.
// Platform-neutral: no Node or browser imports.
import { KEYPOINT, type FaceDetection } from './blazeface.ts';
import type { PixelRect } from './region.ts';
import type { AffineMap } from '../kernels/warp.ts';

/**
 * An affine map from output to source coordinates:
 *
 *   source x = a * X + b * Y + c
 *   source y = d * X + e * Y + f
 *
 * Both sides use continuous pixel coordinates: pixel (i, j) covers [i, i+1) x [j, j+1) and
 * its centre is (i + 0.5, j + 0.5); the detector's boxes and keypoints are in these
 * coordinates too. So output pixel (x, y) is sampled at the source position the map gives
 * for (X, Y) = (x + 0.5, y + 0.5), and the output square [0, size] x [0, size] is the region
 * of the photo that the crop shows.
 */
export type Affine = AffineMap;

/**
 * Alignment by the eyes: the two eye keypoints land level at y = eyeY * size, centred
 * horizontally, eyeDistance * size apart (fractions of the output side, so one record fits
 * any input size). The photo is rotated and scaled uniformly (a similarity), never sheared.
 */
export interface AlignRecord {
  method: 'eyes';
  /** Height of the eye line in the output, a fraction of its side (0 top, 1 bottom). */
  eyeY: number;
  /** Distance between the eyes' centres in the output, a fraction of its side. */
  eyeDistance: number;
}

/**
 * A first default, framed like the square crop at margin 1.3 around BlazeFace's box (with
 * which the backbone's accuracy was measured so far): over the 25 5-celebrity-faces val/
 * photos and an ORL one, the eyes of that crop lie at 0.34 of its height on average and
 * 0.32 of its side apart (test/align.test.ts prints it). The whole face with some margin.
 * Plain numbers, to be swept for verification accuracy.
 */
export const DEFAULT_ALIGN: AlignRecord = { method: 'eyes', eyeY: 0.35, eyeDistance: 0.32 };

export function alignRecord(eyeY = DEFAULT_ALIGN.eyeY, eyeDistance = DEFAULT_ALIGN.eyeDistance): AlignRecord {
  const r: AlignRecord = { method: 'eyes', eyeY, eyeDistance };
  checkAlignRecord(r, 'alignRecord');
  return r;
}

export function checkAlignRecord(r: unknown, where: string): asserts r is AlignRecord {
  const a = r as AlignRecord | undefined;
  const fraction = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 1;
  if (a?.method === 'eyes' && fraction(a.eyeY) && fraction(a.eyeDistance)) return;
  throw new Error(`${where}: unknown face alignment ${JSON.stringify(r)}; this facegpu knows {"method": "eyes", "eyeY": 0..1, "eyeDistance": 0..1} (fractions of the output side)`);
}

/**
 * The map that shows `rect` of the photo stretched over the size x size output: today's
 * square crop (squareRegion) as a transform, sampled on the same grid as the eye-aligned ones.
 */
export function squareTransform(rect: PixelRect, size: number): Affine {
  checkSize(size);
  return { a: rect.width / size, b: 0, c: rect.left, d: 0, e: rect.height / size, f: rect.top };
}

/**
 * The similarity map that puts `face`'s eye keypoints level in the size x size output, at
 * the places `rec` says: the person's right eye (keypoint 0, the image's left in a frontal
 * photo) at (size/2 - D/2, eyeY * size), the left eye at (size/2 + D/2, eyeY * size),
 * D = eyeDistance * size. A face tilted by an angle in the photo comes out upright: the map's
 * rotation is that angle (atan2(d, a)), its scale the eyes' distance in the photo over D.
 * Throws when the keypoints are missing or the eyes coincide.
 */
export function eyeTransform(face: Pick<FaceDetection, 'keypoints'>, size: number, rec: AlignRecord): Affine {
  checkSize(size);
  checkAlignRecord(rec, 'eyeTransform');
  const right = face.keypoints?.[KEYPOINT.rightEye];
  const left = face.keypoints?.[KEYPOINT.leftEye];
  if (!right || !left) throw new Error('eyeTransform: the face has no eye keypoints');
  const vx = left[0] - right[0];
  const vy = left[1] - right[1];
  const span = rec.eyeDistance * size;
  if (!(Math.hypot(vx, vy) > 1e-6)) throw new Error(`eyeTransform: the eyes coincide at (${right[0]}, ${right[1]})`);
  // Output (span, 0) -> source (vx, vy): a rotation by atan2(vy, vx) scaled by |v| / span.
  const a = vx / span;
  const d = vy / span;
  const b = -d;
  const e = a;
  // The point between the eyes in the output goes to the one between them in the photo.
  const ox = size / 2;
  const oy = rec.eyeY * size;
  const mx = (left[0] + right[0]) / 2;
  const my = (left[1] + right[1]) / 2;
  return { a, b, c: mx - a * ox - b * oy, d, e, f: my - d * ox - e * oy };
}

/**
 * The square of side `margin` x the box's longer side around the box's centre, turned so
 * that the eyes come out level: the eyes fix the rotation, the detector's box the scale and
 * the place. The box's size varies less with the head's yaw than the eyes' distance does
 * (a face turned aside has its eyes close together), so faces keep one scale.
 * Parts of the square outside the photo repeat its edge (the warp's sampling).
 */
export function uprightSquareTransform(face: Pick<FaceDetection, 'keypoints' | 'x' | 'y' | 'width' | 'height'>, margin: number, size: number): Affine {
  checkSize(size);
  if (!(margin > 0)) throw new Error(`the crop margin must be positive, got ${margin}`);
  const right = face.keypoints?.[KEYPOINT.rightEye];
  const left = face.keypoints?.[KEYPOINT.leftEye];
  if (!right || !left) throw new Error('uprightSquareTransform: the face has no eye keypoints');
  const angle = Math.atan2(left[1] - right[1], left[0] - right[0]);
  const k = (margin * Math.max(face.width, face.height)) / size;
  const a = k * Math.cos(angle);
  const d = k * Math.sin(angle);
  const b = -d;
  const e = a;
  const mx = face.x + face.width / 2;
  const my = face.y + face.height / 2;
  const o = size / 2;
  return { a, b, c: mx - a * o - b * o, d, e, f: my - d * o - e * o };
}

/** Where output position (X, Y) (continuous coordinates) samples the source. */
export function applyAffine(m: Affine, X: number, Y: number): [number, number] {
  return [m.a * X + m.b * Y + m.c, m.d * X + m.e * Y + m.f];
}


function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1) throw new Error(`the output size must be a positive integer, got ${size}`);
}
