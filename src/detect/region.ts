// Where to cut the face out of a photo: the detector's box made square, enlarged by a margin
// and kept inside the image, and how much two boxes overlap. Pure arithmetic, shared by every
// platform's cropper, the detector's tiles and the photo library.
import type { PixelRect } from '../image/rgb.ts';

/** An axis-aligned box in image pixels (x, y: top-left corner). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type { PixelRect };

/**
 * The square around `box`'s centre whose side is `margin` times the box's longer side,
 * shifted (not cut) to lie inside a `width` x `height` image and no larger than its shorter
 * side. Shifting keeps the face's scale and never stretches it; the image's edge only moves
 * the face off-centre in the crop.
 */
export function squareRegion(box: Box, margin: number, width: number, height: number): PixelRect {
  if (!(margin > 0)) throw new Error(`the crop margin must be positive, got ${margin}`);
  const side = Math.max(1, Math.min(Math.round(Math.max(box.width, box.height) * margin), width, height));
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.min(Math.max(0, Math.round(cx - side / 2)), width - side);
  const top = Math.min(Math.max(0, Math.round(cy - side / 2)), height - side);
  return { left, top, width: side, height: side };
}

/** Intersection over union of two boxes (0 when they do not overlap). */
export function boxIou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const both = w * h;
  return both / (a.width * a.height + b.width * b.height - both);
}
