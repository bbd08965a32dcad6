// Face detection with BlazeFace (the "back camera" model, 256x256, that ships with
// @vladmandic/human as models/blazeface.json), run by TensorFlow.js on whatever backend the
// caller has set up: in facegpu that is tfjs' WebGPU backend on the engine's own device
// (src/train/tf-backend.ts). It is a preprocessing step in front of the backbone, not part
// of it: the backbone stays on our shaders.
//
// Platform-neutral: the caller hands over the model files as a tf.io handler (Node: from
// node_modules, see node.ts; a page: tf.io.browserHTTPRequest(url)) and decoded RGB pixels.
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { anchorCentres, BLAZEFACE_INPUT, BLAZEFACE_LAYERS } from './anchors.ts';
import { boxIou, type Box } from './region.ts';
import type { PixelRect, RgbImage } from '../image/rgb.ts';
import { PatientWait } from '../gpu/patient-wait.ts';
import { fuseResidualJoins, type TopologyNode } from './fuse.ts';
import { letterboxInto } from './letterbox.ts';

export type { RgbImage };

export interface FaceDetection extends Box {
  /** The model's confidence, 0..1 (sigmoid of its logit). */
  score: number;
  /**
   * BlazeFace's 6 landmarks [x, y] in the image's pixel coordinates (mapped back from the
   * letterboxed input exactly as the box is), in the model's order (KEYPOINT): 0 the
   * person's right eye (on the image's left in a frontal photo), 1 the left eye, 2 the nose
   * tip, 3 the mouth centre, 4 the right ear tragion, 5 the left ear tragion.
   */
  keypoints: [number, number][];
}

/** What the detector looks at: a rectangle of an image (the whole of it, or a tile), zoomed out or not (letterboxInto). */
interface View {
  image: RgbImage;
  region: PixelRect;
  zoomOut?: number;
}

/**
 * A face whose box spans this much of the photo's shorter side or more fills the photo. BlazeFace
 * misses many such faces (a passport photo, an avatar, ORL's 92x112 portraits): seen whole, a
 * face over ~0.8 of the detector's input gave a box on one spectacle lens or an eye instead,
 * or nothing (all 10 photos of ORL's s34; s31/3, s4/8, s14/1 also gave a second box on a lens).
 * A photo where no face this big was found, but none at all or one of PART_OF_FACE or more (a
 * lens, an eye), is looked at again zoomed out (ZOOM_OUT), and the faces this big found there
 * replace the boxes that lie on or inside them. A photo whose faces are all smaller (a group,
 * a crowd) is not: a face filling it would have been found as a face or as part of one.
 * Measured on ORL and 5-celebrity-faces (518 photos, lavapipe): 23 photos changed, the 10 of
 * s34 and 3 of s31 boxed on the face instead of a lens, 3 of s37 where no face was found now
 * found; detection 25.4 -> 30.8 ms a photo (one run each, the machine otherwise idle). A
 * photo without a face is always looked at twice: 48 made-up faceless 1600x1200 photos took
 * 34-40 ms a photo with the second look switched off and 65-73 with it (three runs each,
 * lavapipe, idle): a library of landscapes pays double detection. A gate on the first look's
 * best score (below minScore) would not pay: on 40 faceless wallpapers (Debian's
 * plasma-workspace-wallpapers and mate-backgrounds) it was 0.073-0.481, on the 17 tight face
 * crops (of 636: the celebrities' faces cut at their boxes, ORL whole) that only the second
 * look found a face in, 0.149-0.497; skipping below 0.15 would spare half the wallpapers.
 */
export const FILLING_FACE = 0.5;
/** The part of a photo's shorter side from which a face found may be part of one filling it (FILLING_FACE). */
export const PART_OF_FACE = 0.2;
/** How much smaller a photo is seen the second time (its longer side 1 / ZOOM_OUT of the detector's input). */
export const ZOOM_OUT = 1.5;

/** Indices into `FaceDetection.keypoints`, as BlazeFace orders its landmarks (checked on real photos in test/align.test.ts). */
export const KEYPOINT = { rightEye: 0, leftEye: 1, nose: 2, mouth: 3, rightEar: 4, leftEar: 5 } as const;

export interface DetectorOptions {
  /** Detections below this score are dropped. */
  minScore?: number;
  /** Overlap (intersection over union) above which the weaker of two boxes is suppressed. */
  iouThreshold?: number;
  /** At most this many faces per image. */
  maxFaces?: number;
}

// maxFaces: a group photo holds more than 10 faces (the bound was 10, and the rest of a group
// was lost); the 896 anchors bound it anyway, and suppressing overlaps costs the same.
export const DEFAULT_DETECTOR: Required<DetectorOptions> = { minScore: 0.5, iouThreshold: 0.3, maxFaces: 100 };

/**
 * Values per anchor in the regressor outputs: box centre offset (2), box size (2), 6
 * landmarks (12: x, y offsets from the anchor's centre in input pixels, like the box centre).
 */
const REGRESSORS = 16;
const KEYPOINTS = 6;

/** BlazeFace (short range) on tfjs: every face of an image with its box, score and six keypoints. */
export class BlazeFaceDetector {
  private readonly anchors = anchorCentres(BLAZEFACE_INPUT);
  readonly opts: Required<DetectorOptions>;
  private readonly patience = new PatientWait();

  private constructor(
    private readonly model: GraphModel,
    /** The four convolutions that feed the model's reshapes to [1, anchors, 1 | 16]. */
    private readonly heads: string[],
    opts: DetectorOptions,
  ) {
    this.opts = { ...DEFAULT_DETECTOR, ...opts };
  }

  /**
   * Free the model's weights (tensors on tfjs' backend: about 0.5 MB and 112 tensors, which
   * each describer opened and closed had left behind). The detector is not used after it.
   */
  dispose(): void {
    this.model.dispose();
  }

  /**
   * Load the model from `files` onto tfjs' current backend. The graph is made to take a batch:
   * as converted, its input is fixed at batch 1 and its outputs are reshaped to [1, n, k].
   * We read the four convolutions before those reshapes instead ([batch, grid, grid, anchors
   * x k], the same values in the same order) and let the input's batch size vary, so that
   * several photos share one run (on a CPU adapter each op's dispatch costs more than its
   * arithmetic). Its residual joins are fused into the convolutions before them (fuse.ts).
   */
  static async load(files: tf.io.IOHandler, opts: DetectorOptions = {}): Promise<BlazeFaceDetector> {
    let heads: string[] = [];
    const batched: tf.io.IOHandler = {
      load: async () => {
        const artifacts = await files.load!();
        heads = openBatch(artifacts);
        const nodes = (artifacts.modelTopology as { node: TopologyNode[] }).node;
        fuseResidualJoins(nodes, new Map((artifacts.weightSpecs ?? []).map((w) => [w.name, w.shape])));
        return artifacts;
      },
    };
    return new BlazeFaceDetector(await loadGraphModel(batched), heads, opts);
  }

  /**
   * Every face in `image` scoring at least minScore (at most maxFaces, overlaps suppressed),
   * best first, in the image's pixel coordinates: continuous coordinates in which pixel
   * (i, j) covers [i, i+1) x [j, j+1), its centre at (i + 0.5, j + 0.5). Empty: no face.
   */
  async detect(image: RgbImage): Promise<FaceDetection[]> {
    return (await this.detectMany([image]))[0];
  }

  /**
   * Create the model's pipelines, then run it once on a blank image, so that a driver that
   * compiles pipelines at their first dispatch (lavapipe; src/gpu/first-use.ts) compiles its
   * kernels now.
   *
   * On tfjs' WebGPU backend the pipelines are created first, in its compile-only mode
   * (`WEBGPU_ENGINE_COMPILE_ONLY`: each program's pipeline made with
   * createComputePipelineAsync, nothing recorded), and awaited. Otherwise tfjs creates each
   * one synchronously as it first runs it, and on lavapipe a creation waits until the
   * dispatches before it are compiled: the JavaScript thread was held for most of a cold
   * warm-up (17-23 s), so nothing could tell the user what it waited for in time.
   */
  async warmUp(): Promise<void> {
    await this.createPipelines();
    const side = 64;
    await this.detectMany([{ width: side, height: side, data: new Uint8Array(side * side * 3) }]);
  }

  /** The model's pipelines, made in tfjs' compile-only mode (see warmUp); nothing on other backends. */
  private async createPipelines(): Promise<void> {
    const backend = tf.backend() as { checkCompileCompletionAsync?: () => Promise<void> };
    if (typeof backend.checkCompileCompletionAsync !== 'function') return;
    const flag = 'WEBGPU_ENGINE_COMPILE_ONLY';
    const was = tf.env().getBool(flag);
    tf.env().set(flag, true);
    try {
      // Nothing runs, so the input's values do not matter.
      tf.dispose(this.forward(new Float32Array(BLAZEFACE_INPUT * BLAZEFACE_INPUT * 3), 1));
    } finally {
      tf.env().set(flag, was);
    }
    await backend.checkCompileCompletionAsync();
  }

  /**
   * `detect` for several images in one run of the model, and one more for those where no face
   * filling the photo was found, zoomed out (FILLING_FACE).
   */
  async detectMany(images: readonly RgbImage[]): Promise<FaceDetection[][]> {
    const views: View[] = images.map((image) => ({ image, region: { left: 0, top: 0, width: image.width, height: image.height } }));
    const found = await this.detectViews(views);
    const spans = (f: FaceDetection, image: RgbImage) => Math.max(f.width, f.height) / Math.min(image.width, image.height);
    const filling = (f: FaceDetection, image: RgbImage) => spans(f, image) >= FILLING_FACE;
    const lookAgain = (faces: FaceDetection[], image: RgbImage) => !faces.length || (!faces.some((f) => filling(f, image)) && faces.some((f) => spans(f, image) >= PART_OF_FACE));
    const again = views.flatMap((v, i) => (lookAgain(found[i], v.image) ? [i] : []));
    if (!again.length) return found;
    const zoomed = await this.detectViews(again.map((i) => ({ ...views[i], zoomOut: ZOOM_OUT })));
    again.forEach((i, k) => (found[i] = withFillingFaces(zoomed[k].filter((f) => filling(f, images[i])), found[i], this.opts.iouThreshold)));
    return found;
  }

  /**
   * `detect` for rectangles of one image (tiles of a big photo), in one run of the model, each
   * read in place as if it had been cut out: boxes and keypoints are in the rectangle's pixels.
   */
  detectRegions(image: RgbImage, regions: readonly PixelRect[]): Promise<FaceDetection[][]> {
    return this.detectViews(regions.map((region) => ({ image, region })));
  }

  private async detectViews(views: readonly View[]): Promise<FaceDetection[][]> {
    if (!views.length) return [];
    for (const { data, width, height } of new Set(views.map((v) => v.image))) {
      if (data.length !== width * height * 3) throw new Error(`detect: ${data.length} bytes for a ${width}x${height} RGB image`);
    }
    const perImage = (this.anchors.length / 2) * (1 + REGRESSORS);
    const values = await this.run(views);
    const out: FaceDetection[][] = [];
    for (let i = 0; i < views.length; i++) {
      const { width, height } = views[i].region;
      const side = Math.max(width, height) * (views[i].zoomOut ?? 1);
      out.push(await this.decode(values.subarray(i * perImage, (i + 1) * perImage), side / BLAZEFACE_INPUT, (side - width) / 2, (side - height) / 2));
    }
    return out;
  }

  /**
   * The model's raw outputs per view, in anchor order: scores (896), then regressors
   * (896 x 16). One read back for the whole batch.
   */
  private async run(views: readonly View[]): Promise<Float32Array> {
    const n = views.length;
    const size = BLAZEFACE_INPUT;
    const pixels = new Float32Array(n * size * size * 3);
    views.forEach(({ image, region, zoomOut }, i) => letterboxInto(image, size, pixels, i * size * size * 3, region, zoomOut));
    const result = this.forward(pixels, n);
    await this.gpuDone(`batch ${n}`);
    try {
      return (await result.data()) as Float32Array;
    } finally {
      result.dispose();
    }
  }

  /** The model on `n` letterboxed inputs: scores and regressors of every anchor, [n, 896 x 17]. */
  private forward(pixels: Float32Array, n: number): tf.Tensor {
    const size = BLAZEFACE_INPUT;
    return tf.tidy(() => {
      const outputs = this.model.execute(tf.tensor4d(pixels, [n, size, size, 3]), this.heads) as tf.Tensor4D[];
      const scores: tf.Tensor[] = [];
      const boxes: tf.Tensor[] = [];
      for (const { stride, perCell } of BLAZEFACE_LAYERS) {
        const grid = Math.ceil(BLAZEFACE_INPUT / stride);
        // Told apart by shape, not by node name, which depends on how the model was converted.
        const find = (k: number) => outputs.find((t) => t.shape[1] === grid && t.shape[2] === grid && t.shape[3] === perCell * k);
        const score = find(1);
        const box = find(REGRESSORS);
        if (!score || !box) throw new Error(`BlazeFace outputs [${outputs.map((t) => `[${t.shape}]`).join(', ')}] lack the stride-${stride} head`);
        scores.push(tf.reshape(score, [n, -1]));
        boxes.push(tf.reshape(box, [n, -1]));
      }
      return tf.concat([...scores, ...boxes], 1);
    });
  }

  /**
   * On tfjs' WebGPU backend: submit the run and wait for it patiently (src/gpu/patient-wait.ts)
   * before reading back. A read back's mapAsync left pending for the whole run would keep Dawn's
   * Node binding polling the whole run, on a CPU adapter in slices (src/gpu/dawn-wait.ts) but
   * blocking the thread all the same. Other backends: nothing to do.
   */
  private async gpuDone(key: string): Promise<void> {
    const backend = tf.backend() as { submitQueue?: () => void; endComputePassEncoder?: () => void; commandEncoder?: GPUCommandEncoder | null; device?: GPUDevice };
    if (typeof backend.submitQueue !== 'function' || typeof backend.endComputePassEncoder !== 'function' || !backend.device?.queue) return;
    const since = performance.now();
    backend.endComputePassEncoder();
    if (backend.commandEncoder) backend.submitQueue();
    const queue = backend.device.queue;
    await this.patience.until(key, since, () => queue.onSubmittedWorkDone());
  }

  /** Boxes from anchors + regressors, scores from logits, overlaps suppressed, mapped back to the photo. */
  private async decode(values: Float32Array, scale: number, offX: number, offY: number): Promise<FaceDetection[]> {
    const { minScore, iouThreshold, maxFaces } = this.opts;
    const count = this.anchors.length / 2;
    const candidates: FaceDetection[] = [];
    const corners: number[] = [];
    for (let i = 0; i < count; i++) {
      const score = 1 / (1 + Math.exp(-values[i]));
      if (score < minScore) continue;
      const r = count + i * REGRESSORS;
      const cx = this.anchors[2 * i] + values[r];
      const cy = this.anchors[2 * i + 1] + values[r + 1];
      const w = values[r + 2];
      const h = values[r + 3];
      if (!(w > 0 && h > 0)) continue;
      const keypoints: [number, number][] = [];
      for (let k = 0; k < KEYPOINTS; k++) {
        keypoints.push([(this.anchors[2 * i] + values[r + 4 + 2 * k]) * scale - offX, (this.anchors[2 * i + 1] + values[r + 5 + 2 * k]) * scale - offY]);
      }
      candidates.push({ x: (cx - w / 2) * scale - offX, y: (cy - h / 2) * scale - offY, width: w * scale, height: h * scale, score, keypoints });
      corners.push(cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2); // [y1, x1, y2, x2], as tf's NMS takes them
    }
    if (!candidates.length) return [];
    const boxes = tf.tensor2d(corners, [candidates.length, 4]);
    const scores = tf.tensor1d(candidates.map((c) => c.score));
    const keep = await tf.image.nonMaxSuppressionAsync(boxes, scores, maxFaces, iouThreshold, minScore);
    const kept = Array.from((await keep.data()) as Int32Array, (k) => candidates[k]);
    tf.dispose([boxes, scores, keep]);
    return dropContained(kept.sort((a, b) => b.score - a.score));
  }
}

/**
 * The faces of a photo seen whole (`found`, best first) with the faces filling it that the
 * zoomed-out look found (`filling`): a box of `found` overlapping one of those (over
 * `iouThreshold`) or lying mostly inside it goes, whatever its score (a lens or an eye
 * boxed on the face); best first.
 */
export function withFillingFaces(filling: readonly FaceDetection[], found: readonly FaceDetection[], iouThreshold: number): FaceDetection[] {
  if (!filling.length) return [...found];
  const kept = dropContained([...filling].sort((a, b) => b.score - a.score));
  const rest = found.filter((f) => kept.every((g) => boxIou(f, g) <= iouThreshold));
  return dropContained([...kept, ...rest]).sort((a, b) => b.score - a.score);
}

/**
 * Of boxes sorted best first, drop each one that lies mostly (over half its area) inside a
 * better one. Overlap over union lets a small box on part of a face (an eye and a brow, a
 * shifted half face) through when the face fills the photo, as in ORL's 92x112 portraits;
 * two real faces never sit half inside one another.
 */
export function dropContained<T extends Box>(faces: readonly T[], most = 0.5): T[] {
  const out: T[] = [];
  for (const f of faces) {
    const inside = out.some((g) => {
      const w = Math.min(f.x + f.width, g.x + g.width) - Math.max(f.x, g.x);
      const h = Math.min(f.y + f.height, g.y + g.height) - Math.max(f.y, g.y);
      return w > 0 && h > 0 && (w * h) / Math.min(f.width * f.height, g.width * g.height) > most;
    });
    if (!inside) out.push(f);
  }
  return out;
}

/**
 * Let a BlazeFace graph take any batch size: free the input placeholder's batch dimension and
 * return the nodes that feed its output reshapes (which fix batch 1), to be read instead.
 */
function openBatch(artifacts: tf.io.ModelArtifacts): string[] {
  const nodes = (artifacts.modelTopology as { node?: TopologyNode[] } | undefined)?.node;
  if (!Array.isArray(nodes)) throw new Error('not a tfjs graph model (no modelTopology.node)');
  const inputs = nodes.filter((n) => n.op === 'Placeholder');
  const reshapes = nodes.filter((n) => n.op === 'Reshape');
  const dims = inputs[0]?.attr?.shape?.shape?.dim as { size: string }[] | undefined;
  if (inputs.length !== 1 || reshapes.length !== 4 || dims?.length !== 4 || Number(dims[1].size) !== BLAZEFACE_INPUT || Number(dims[2].size) !== BLAZEFACE_INPUT) {
    throw new Error(`not the BlazeFace model facegpu expects (a ${BLAZEFACE_INPUT}x${BLAZEFACE_INPUT} input, four output reshapes)`);
  }
  dims[0].size = '-1';
  return reshapes.map((n) => n.input![0]);
}
