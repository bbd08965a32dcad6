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

/** The crop a model records when it was trained on BlazeFace face squares. */
export function faceCropRecord(margin = DEFAULT_FACE_MARGIN, minScore = 0.5): FaceCrop {
  return { method: 'face', detector: 'blazeface', margin, minScore };
}

/** The largest crop margin (side of the crop / side of the face box) a model may record. */
export const MAX_FACE_MARGIN = 10;

export function checkCropRecord(c: unknown, where: string): asserts c is CropRecord {
  const r = c as CropRecord | undefined;
  if (r?.method === 'none') return;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (r?.method === 'face' && r.detector === 'blazeface') {
    if (!num(r.margin) || !(r.margin > 0 && r.margin <= MAX_FACE_MARGIN)) throw new Error(`${where}: crop margin ${JSON.stringify(r.margin)} must be a number in (0, ${MAX_FACE_MARGIN}]`);
    if (!num(r.minScore) || r.minScore < 0 || r.minScore > 1) throw new Error(`${where}: crop minScore ${JSON.stringify(r.minScore)} must be a number in [0, 1]`);
    return;
  }
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

/** Where the crop of one photo is: the face used (null: none found, the whole image) and the square cut. */
export interface FaceLocation {
  face: FaceDetection | null;
  rect: PixelRect | null;
}

export interface FaceCropResult extends FaceLocation {
  pixels: Uint8Array;
}

/** Photos per run of the detector, at most. */
const DETECT_BATCH = 16;

interface PendingDetection {
  image: RgbImage;
  resolve(faces: FaceDetection[]): void;
  reject(err: unknown): void;
}

/**
 * Crops faces out of photos for the backbone; counts what it did. Callers ask for one photo
 * at a time (the training loaders decode a batch with Promise.all); photos decoded together
 * are detected together, in one run of the model, one run at a time.
 */
export class FaceCropper<Source> {
  readonly stats: FaceCropStats = { images: 0, noFace: 0, detectMs: 0 };
  private decoding = 0;
  private pending: PendingDetection[] = [];
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly detector: BlazeFaceDetector,
    private readonly io: CropIo<Source>,
    private readonly record: FaceCrop,
  ) {}

  /** The detector's warm-up (BlazeFaceDetector.warmUp), outside `stats`. */
  warmUp(): Promise<void> {
    return this.detector.warmUp();
  }

  /**
   * The face crop of `source` at size x size. No face: the whole image, and the result's
   * `face` is null (callers warn, naming the file: never a silent fallback).
   */
  async crop(source: Source, size: number): Promise<FaceCropResult> {
    this.decoding++;
    let image: RgbImage;
    try {
      image = await this.io.decode(source);
    } catch (err) {
      this.decoding--;
      this.flushWhenDecoded(); // others may be waiting for this decode
      throw err;
    }
    this.decoding--;
    const faces = await new Promise<FaceDetection[]>((resolve, reject) => {
      this.pending.push({ image, resolve, reject });
      this.flushWhenDecoded();
    });
    const at = this.place(faces, image);
    return { pixels: await this.io.cut(image, at.rect, size), ...at };
  }

  /**
   * Find the crop of every source, a batch of photos per run of the detector, before any
   * backbone work (training does this as a phase of its own). A source that cannot be decoded
   * gets its error, for the caller to skip it as it would any unreadable file.
   */
  async locate(sources: readonly Source[], onProgress?: (done: number, total: number) => void): Promise<(FaceLocation | { error: Error })[]> {
    const out: (FaceLocation | { error: Error })[] = [];
    for (let at = 0; at < sources.length; at += DETECT_BATCH) {
      const decoded = await Promise.all(sources.slice(at, at + DETECT_BATCH).map((s) => this.io.decode(s).then((image) => ({ image }), (error: Error) => ({ error }))));
      const images = decoded.flatMap((d) => ('image' in d ? [d.image] : []));
      const t0 = performance.now();
      const faces = await this.detector.detectMany(images);
      this.stats.detectMs += performance.now() - t0;
      let k = 0;
      for (const d of decoded) out.push('image' in d ? this.place(faces[k++], d.image) : d);
      onProgress?.(out.length, sources.length);
    }
    return out;
  }

  /** The crop at `where` (from `locate`) of `source`, at size x size. */
  async cutAt(source: Source, where: FaceLocation, size: number): Promise<Uint8Array> {
    return this.io.cut(await this.io.decode(source), where.rect, size);
  }

  /** The best face of `faces` in `image` and the square to cut around it; counted. */
  private place(faces: FaceDetection[], image: RgbImage): FaceLocation {
    this.stats.images++;
    const face = faces.find((f) => f.score >= this.record.minScore) ?? null;
    if (!face) this.stats.noFace++;
    return { face, rect: face ? squareRegion(face, this.record.margin, image.width, image.height) : null };
  }

  /** Once no decode is in flight, queue a detection run for what has been decoded. */
  private flushWhenDecoded(): void {
    if (this.decoding > 0) return; // the last decode to finish flushes
    while (this.pending.length) {
      const jobs = this.pending.splice(0, DETECT_BATCH);
      this.running = this.running.then(async () => {
        const t0 = performance.now();
        try {
          const faces = await this.detector.detectMany(jobs.map((j) => j.image));
          jobs.forEach((j, i) => j.resolve(faces[i]));
        } catch (err) {
          for (const j of jobs) j.reject(err);
        } finally {
          this.stats.detectMs += performance.now() - t0;
        }
      });
    }
  }
}

/**
 * Locate the faces of a whole training set first (one `Source` per id), then a loader that
 * cuts each photo where its face was found: what training on any platform does. `onNoFace`
 * hears of every id where none was found (its whole image goes in). Sources that cannot be
 * decoded fail in the loader, as without a crop (training skips them, naming them).
 */
export async function locatedFaceLoader<Source>(
  cropper: FaceCropper<Source>,
  ids: readonly string[],
  sourceOf: (id: string) => Source,
  size: number,
  opts: { onNoFace: (id: string) => void; onProgress?: (done: number, total: number) => void },
): Promise<(id: string) => Promise<Uint8Array>> {
  const located = await cropper.locate(ids.map(sourceOf), opts.onProgress);
  const where = new Map(ids.map((id, i) => [id, located[i]]));
  located.forEach((l, i) => {
    if ('face' in l && !l.face) opts.onNoFace(ids[i]);
  });
  return async (id) => {
    const at = where.get(id);
    if (!at) throw new Error(`${id}: not among the photos whose faces were located`);
    if ('error' in at) throw at.error;
    return cropper.cutAt(sourceOf(id), at, size);
  };
}
