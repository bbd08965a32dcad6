// How a face is cut out of its photo for the backbone, recorded wherever descriptors are kept
// (galleries) so that every later query frames faces the same way. Two framings: eyes
// aligned by a similarity transform from BlazeFace's eye keypoints (level, at fixed places),
// or today's axis-aligned square around the detector's box. Both are one affine warp on the
// GPU (src/detect/warp.ts); only the transform differs. Platform-neutral.
import { checkAlignRecord, eyeTransform, squareTransform, uprightSquareTransform, type Affine, type AlignRecord } from '../detect/align.ts';
import type { FaceDetection } from '../detect/blazeface.ts';
import { squareRegion } from '../detect/region.ts';

export type FaceFraming =
  | AlignRecord
  /** The square around the detector's box, axis-aligned (today's crop for trained heads). */
  | { method: 'square'; margin: number }
  /** The same square turned so that the eyes are level. */
  | { method: 'upright'; margin: number };

/** Detection and framing settings: what turns a photo into backbone inputs. */
export interface FacePreprocessing {
  detector: 'blazeface';
  /** Faces below this detector score are not faces. */
  minScore: number;
  framing: FaceFraming;
}

/**
 * Chosen by verification TAR at FAR 1e-3 (scripts/calibrate-backbone.ts, src/faces/README.md):
 * the square at margin 1.5 turned upright by the eyes beat both the axis-aligned square of
 * the trained heads (margin 1.3) and eyes pinned at fixed places (DEFAULT_ALIGN), which
 * zooms with the eyes' distance and so with the head's yaw.
 */
export const DEFAULT_PREPROCESSING: FacePreprocessing = { detector: 'blazeface', minScore: 0.5, framing: { method: 'upright', margin: 1.5 } };

export function checkPreprocessing(p: unknown, where: string): asserts p is FacePreprocessing {
  const r = p as FacePreprocessing | undefined;
  if (r?.detector !== 'blazeface' || !(r.minScore >= 0 && r.minScore <= 1)) {
    throw new Error(`${where}: unknown face preprocessing ${JSON.stringify(p)}; this facegpu knows {"detector": "blazeface", "minScore", "framing"}`);
  }
  const f = r.framing as FaceFraming | undefined;
  if (f?.method === 'square' || f?.method === 'upright') {
    if (!(f.margin > 0)) throw new Error(`${where}: ${f.method} framing needs a positive margin, got ${JSON.stringify(f)}`);
    return;
  }
  checkAlignRecord(f, where);
}

/** The warp that takes `face` of a width x height photo to a size x size backbone input. */
export function framingTransform(face: FaceDetection, framing: FaceFraming, size: number, width: number, height: number): Affine {
  if (framing.method === 'square') return squareTransform(squareRegion(face, framing.margin, width, height), size);
  if (framing.method === 'upright') return uprightSquareTransform(face, framing.margin, size);
  return eyeTransform(face, size, framing);
}
