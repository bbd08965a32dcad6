// Where to cut the face out of a photo: the detector's box made square, enlarged by a margin
// and kept inside the image. Pure arithmetic, shared by every platform's cropper.
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
