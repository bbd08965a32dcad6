// Every face of a photo with its descriptor: BlazeFace finds the faces (all above the score
// threshold, overlaps suppressed), each is framed by one affine warp on the GPU (eyes level
// at fixed places, or a square around the box) straight into the backbone's input, and the
// backbone's raw descriptors come back. Pixels of the crops never visit the CPU.
// Platform-neutral: decoding is the caller's (Node: sharp; a page: a canvas).
import { BLAZEFACE_INPUT } from '../detect/anchors.ts';
import type { BlazeFaceDetector, FaceDetection } from '../detect/blazeface.ts';
import { detectionTiles, fromTile, mergeDetections, MIN_FACE_PIXELS, minFaceProblem, panoramaTiles, findsFrom } from '../detect/tiles.ts';
import { WARP_OUTPUT_USAGE, type FaceWarper } from '../detect/warp.ts';
import { assertAlive, GpuLostError } from '../gpu/device.ts';
import type { RgbImage } from '../image/rgb.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { framingTransform, type FacePreprocessing } from './framing.ts';

export interface DescribedFace {
  /** [x, y, width, height] in the photo's pixels. */
  box: [number, number, number, number];
  score: number;
  /** BlazeFace's six keypoints in the photo's pixels: right eye, left eye, nose, mouth, right ear, left ear. */
  keypoints: [number, number][];
  /** The backbone's raw descriptor (not normalised). */
  descriptor: Float32Array;
}

/** Where the time went, ms, summed over calls. */
export interface DescribeTimes {
  images: number;
  faces: number;
  detectMs: number;
  alignMs: number;
  embedMs: number;
}

/** Photos per run of the detector. */
export const DETECT_BATCH = 16;

export interface DescriberOptions {
  /**
   * Find faces down to this many pixels wide in big photos, where the detector's view of the
   * whole photo misses them (in a 4000x3000 photo, below ~250): it also looks at overlapping
   * tiles (src/detect/tiles.ts), one more run of the detector each. 0 or absent: the whole
   * photo only; else a whole number from MIN_FACE_PIXELS.
   */
  minFace?: number;
}

/** `opts.minFace` checked (0: none, null), or `otherwise` where it is not given. */
function minFaceOf(opts: DescriberOptions, otherwise: number | null): number | null {
  if (opts.minFace === undefined) return otherwise;
  const problem = minFaceProblem(opts.minFace);
  if (problem) throw new Error(`minFace ${problem}`);
  return opts.minFace || null;
}

export class FaceDescriber {
  readonly times: DescribeTimes = { images: 0, faces: 0, detectMs: 0, alignMs: 0, embedMs: 0 };
  private cropsGpu: GPUBuffer | null = null;
  private destroyed = false;
  /** The last piece of GPU work begun (serial): each waits for the one before it. */
  private turn: Promise<unknown> = Promise.resolve();

  /** DescriberOptions.minFace, or null. */
  readonly minFace: number | null;

  constructor(
    readonly detector: BlazeFaceDetector,
    readonly warper: FaceWarper,
    readonly engine: MobileNetEngine,
    readonly preprocessing: FacePreprocessing,
    opts: DescriberOptions = {},
  ) {
    this.minFace = minFaceOf(opts, null);
  }

  /**
   * The faces of each image, best detector score first ([] where there is none). `opts.minFace`
   * overrides the describer's for this call (a page's photo looked at closer than its camera's
   * frames).
   *
   * Calls may overlap (Promise.all over photos): each batch of a call (detection, warp into the
   * describer's crop buffer, descriptors) runs as one piece, after the pieces begun before it,
   * so every call gets its own faces. A single call batches as it would alone.
   */
  async describe(images: readonly RgbImage[], opts: DescriberOptions = {}): Promise<DescribedFace[][]> {
    const each = await this.describeEach(images, opts);
    const failed = each.find((r) => r instanceof Error);
    if (failed) throw failed;
    return each as DescribedFace[][];
  }

  /**
   * describe, photo by photo: a photo whose faces could not be found or embedded (an error no
   * check before foresaw) gets its Error in its place, and the others are answered. A batch
   * that fails is done again a photo at a time, so that one photo costs only its own answer.
   * A failure that is the describer's (photoError) fails the call, as no photo after it
   * would be answered.
   */
  async describeEach(images: readonly RgbImage[], opts: DescriberOptions = {}): Promise<(DescribedFace[] | Error)[]> {
    const minFace = minFaceOf(opts, this.minFace);
    const out: (DescribedFace[] | Error)[] = [];
    for (let at = 0; at < images.length; at += DETECT_BATCH) {
      const batch = images.slice(at, at + DETECT_BATCH);
      this.assertUsable();
      try {
        out.push(...(await this.serial(() => this.describeBatch(batch, minFace))));
        continue;
      } catch (err) {
        // Thrown where it is the describer's; a photo's own where the batch was that photo.
        const failure = this.photoError(err);
        if (batch.length === 1) {
          out.push(failure);
          continue;
        }
      }
      for (const image of batch) {
        try {
          out.push(...(await this.serial(() => this.describeBatch([image], minFace))));
        } catch (err) {
          out.push(this.photoError(err));
        }
      }
    }
    return out;
  }

  /**
   * A batch's error as one photo's (an Error); thrown again where it is not the photo's but
   * the describer's: the device lost, or the describer or its engine destroyed (by a close
   * while the call ran, say), which every photo after it would meet too.
   */
  private photoError(err: unknown): Error {
    if (err instanceof GpuLostError) throw err;
    this.assertUsable();
    return err instanceof Error ? err : new Error(String(err));
  }

  /** Throw, naming why, where the describer cannot work any more. */
  private assertUsable(): void {
    assertAlive(this.engine.gpu);
    if (this.destroyed) throw new Error('the face describer has been destroyed (its gallery closed?)');
    if (this.engine.isDestroyed) throw new Error('the engine has been destroyed');
  }

  /** One batch of describe: detected, framed and embedded (inside serial). */
  private async describeBatch(batch: readonly RgbImage[], minFace: number | null): Promise<DescribedFace[][]> {
    const t = performance.now();
    const found = await this.detector.detectMany(batch);
    for (let i = 0; i < batch.length; i++) found[i] = await this.withTiles(batch[i], found[i], minFace);
    this.times.detectMs += performance.now() - t;
    const faces = found.map((f) => f.filter((d) => d.score >= this.preprocessing.minScore));
    const described = await this.frameAndEmbed(batch, faces);
    this.times.images += batch.length;
    return described;
  }

  /**
   * Run `work` once the work begun before it (other calls' batches) has finished. The crop
   * buffer is the describer's, written by the warp and read by the engine a wait later: two
   * calls interleaved there would embed each other's faces.
   */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(work, work);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /**
   * Where no face was found in `image`: the width under which faces were not looked for, when
   * minFace would have looked for them (a photo big enough that the whole photo's view misses
   * faces over twice MIN_FACE_PIXELS wide, and no minFace set, here or in `opts` as given to
   * describe); else null. A front end tells it with its way to set minFace.
   */
  missedBelow(image: { width: number; height: number }, opts: DescriberOptions = {}): number | null {
    if (minFaceOf(opts, this.minFace)) return null;
    const below = findsFrom(image.width, image.height, BLAZEFACE_INPUT);
    return below > 2 * MIN_FACE_PIXELS ? below : null;
  }

  /**
   * `whole` (the detector's faces of the whole image) with those found in its tiles: a
   * panorama's square windows, and with a minFace the tiles for faces down to it.
   */
  private async withTiles(image: RgbImage, whole: FaceDetection[], minFace: number | null): Promise<FaceDetection[]> {
    const { width, height } = image;
    const tiles = [...panoramaTiles(width, height), ...(minFace ? detectionTiles(width, height, minFace, BLAZEFACE_INPUT) : [])];
    if (!tiles.length) return whole;
    const lists = [whole];
    for (let at = 0; at < tiles.length; at += DETECT_BATCH) {
      const part = tiles.slice(at, at + DETECT_BATCH);
      const found = await this.detector.detectRegions(image, part);
      part.forEach((tile, k) => lists.push(fromTile(found[k], tile, image.width, image.height)));
    }
    return mergeDetections(lists, this.detector.opts.iouThreshold);
  }

  /**
   * Frame the faces of several images into one GPU buffer (a warp per image, each submitted
   * in queue order) and embed them all in one call of the engine. Serialised with describe's
   * batches (calls may overlap).
   */
  describeDetected(images: readonly RgbImage[], faces: readonly (readonly FaceDetection[])[]): Promise<DescribedFace[][]> {
    return this.serial(() => this.frameAndEmbed(images, faces));
  }

  /** describeDetected's work, inside serial. */
  private async frameAndEmbed(images: readonly RgbImage[], faces: readonly (readonly FaceDetection[])[]): Promise<DescribedFace[][]> {
    const total = faces.reduce((n, f) => n + f.length, 0);
    if (!total) return faces.map(() => []);
    const size = this.engine.inputSize;
    const per = size * size * 3; // a multiple of 4 at the backbones' sizes (224, 128, 160, 192)
    const crops = this.cropBuffer(total * per);
    let t = performance.now();
    let k = 0;
    for (let i = 0; i < images.length; i++) {
      if (!faces[i].length) continue;
      const { width, height } = images[i];
      const maps = faces[i].map((f) => framingTransform(f, this.preprocessing.framing, size, width, height));
      await this.warper.warp(images[i], maps, size, { buffer: crops, offset: k * per });
      k += faces[i].length;
    }
    // Wait for the warps, so that their GPU time is counted as alignment and not as the
    // descriptors' (one short wait per batch of photos).
    await this.engine.gpu.device.queue.onSubmittedWorkDone();
    this.times.alignMs += performance.now() - t;
    t = performance.now();
    const descriptors = await this.engine.embedGpu(crops, total);
    this.times.embedMs += performance.now() - t;
    this.times.faces += total;
    const dim = this.engine.outputDim;
    k = 0;
    return faces.map((list) =>
      list.map((f) => ({
        box: [f.x, f.y, f.width, f.height] as [number, number, number, number],
        score: f.score,
        keypoints: f.keypoints.map(([x, y]) => [x, y] as [number, number]),
        descriptor: descriptors.slice(k * dim, ++k * dim),
      })),
    );
  }

  /**
   * Run the detector and the warp once, on a blank image with a made-up face, so that a driver
   * that compiles pipelines at their first dispatch (lavapipe; src/gpu/first-use.ts) compiles
   * their kernels now. The backbone's are MobileNetEngine.warmUp's. `times` is left as it was.
   */
  warmUp(): Promise<void> {
    return this.serial(() => this.warmUpNow());
  }

  private async warmUpNow(): Promise<void> {
    await this.detector.warmUp();
    const side = 64;
    const blank: RgbImage = { width: side, height: side, data: new Uint8Array(side * side * 3) };
    const face: FaceDetection = {
      x: 16,
      y: 16,
      width: 32,
      height: 32,
      score: 1,
      keypoints: [[26, 28], [38, 28], [32, 34], [32, 40], [18, 30], [46, 30]],
    };
    const size = this.engine.inputSize;
    const map = framingTransform(face, this.preprocessing.framing, size, side, side);
    await this.warper.warp(blank, [map], size, { buffer: this.cropBuffer(size * size * 3), offset: 0 });
    await this.engine.gpu.device.queue.onSubmittedWorkDone();
  }

  /** The buffer the crops of one call go to, grown when a call needs more. */
  private cropBuffer(bytes: number): GPUBuffer {
    if (!this.cropsGpu || this.cropsGpu.size < bytes) {
      this.cropsGpu?.destroy();
      this.cropsGpu = this.engine.gpu.device.createBuffer({ label: 'face crops', size: Math.ceil(bytes / 4) * 4, usage: WARP_OUTPUT_USAGE });
    }
    return this.cropsGpu;
  }

  /** Free the describer's GPU buffers and its detector's weights (the engine is the caller's). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.detector.dispose();
    this.warper.destroy();
    this.cropsGpu?.destroy();
    this.cropsGpu = null;
  }
}

const DESCRIBE_FAILED = ': its faces could not be found: ';

/** A photo's error from describeEach as one line naming the photo. */
export const describeFailure = (name: string, err: Error): string => `${name}${DESCRIBE_FAILED}${err.message}`;

/**
 * Whether a photo's stored error is describeFailure's: the device's trouble as often as the
 * photo's (memory, a driver), so a photo library reads such a photo again, where it keeps a
 * decoding error until the bytes change.
 */
export const isDescribeFailure = (error: string): boolean => error.includes(DESCRIBE_FAILED);

/** The index of the largest face (by box area), or -1. */
export function largestFace(faces: readonly { box: [number, number, number, number] }[]): number {
  let best = -1;
  for (let i = 0; i < faces.length; i++) if (best < 0 || faces[i].box[2] * faces[i].box[3] > faces[best].box[2] * faces[best].box[3]) best = i;
  return best;
}
