// The face-crop preprocessing step in front of the backbone: decode the whole photo, find the
// best face, cut a square around it (the detector's box enlarged by a margin) and scale it
// to the backbone's input size. The face backbone was trained on face crops; whole web photos
// give it mostly background. Platform-neutral: decoding and cutting are the caller's (Node:
// sharp; a page: a canvas), detection is BlazeFace on tfjs.
import type { BlazeFaceDetector, FaceDetection, RgbImage } from './blazeface.ts';
import { squareRegion, type PixelRect } from './region.ts';

/** How images reach the backbone, recorded in the model so that predict/eval do the same. */
export type CropRecord =
  | { method: 'none' }
  | {
      method: 'face';
      detector: 'blazeface';
      /** Side of the square crop / the longer side of the detector's box. */
      margin: number;
      minScore: number;
    };

export type FaceCrop = Extract<CropRecord, { method: 'face' }>;
export type CropMethod = CropRecord['method'];
export const CROP_METHODS: readonly CropMethod[] = ['face', 'none'];

/**
 * Square side / face box side. Chosen on 5-celebrity-faces (train/ -> val/, head seeds 1-8,
 * see src/train/README.md): the margin that gave the best mean validation accuracy.
 */
export const DEFAULT_FACE_MARGIN = 1.3;

export function faceCropRecord(margin = DEFAULT_FACE_MARGIN, minScore = 0.5): FaceCrop {
  return { method: 'face', detector: 'blazeface', margin, minScore };
}

export function checkCropRecord(c: unknown, where: string): asserts c is CropRecord {
  const r = c as CropRecord | undefined;
  if (r?.method === 'none') return;
  if (r?.method === 'face' && r.detector === 'blazeface' && r.margin > 0 && r.minScore >= 0 && r.minScore <= 1) return;
  throw new Error(`${where}: unknown preprocessing crop ${JSON.stringify(c)}; this facegpu knows {"method": "none"} and {"method": "face", "detector": "blazeface", "margin", "minScore"}`);
}

/** What a platform provides: whole-photo decoding and cutting + scaling a rectangle of it. */
export interface CropIo<Source> {
  decode(source: Source): Promise<RgbImage>;
  /** `rect` of `image` scaled to size x size packed RGB (the whole image when rect is null). */
  cut(image: RgbImage, rect: PixelRect | null, size: number): Promise<Uint8Array>;
}

export interface FaceCropStats {
  images: number;
  /** Images with no face found (the whole image was used). */
  noFace: number;
  /** Time spent inside the detector, ms. */
  detectMs: number;
}

export interface FaceCropResult {
  pixels: Uint8Array;
  /** The face used, or null when none was found and the whole image went in. */
  face: FaceDetection | null;
  rect: PixelRect | null;
}

/** Crops faces out of photos for the backbone; counts what it did. */
export class FaceCropper<Source> {
  readonly stats: FaceCropStats = { images: 0, noFace: 0, detectMs: 0 };
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly detector: BlazeFaceDetector,
    private readonly io: CropIo<Source>,
    private readonly record: FaceCrop,
  ) {}

  /**
   * The face crop of `source` at size x size. No face: the whole image, and `onNoFace` is
   * called (callers warn, naming the file: never a silent fallback).
   */
  async crop(source: Source, size: number): Promise<FaceCropResult> {
    const image = await this.io.decode(source);
    // One detection at a time: the loaders call this for a whole batch at once, and tfjs
    // work interleaved across awaits only makes each slower (and the timing meaningless).
    const faces = await this.serialized(async () => {
      const t0 = performance.now();
      try {
        return await this.detector.detect(image);
      } finally {
        this.stats.detectMs += performance.now() - t0;
      }
    });
    this.stats.images++;
    const face = faces.find((f) => f.score >= this.record.minScore) ?? null;
    if (!face) this.stats.noFace++;
    const rect = face ? squareRegion(face, this.record.margin, image.width, image.height) : null;
    return { pixels: await this.io.cut(image, rect, size), face, rect };
  }

  private serialized<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
