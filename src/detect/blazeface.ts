// Face detection with BlazeFace (the "back camera" model, 256x256, that ships with
// @vladmandic/human as models/blazeface.json), run by TensorFlow.js on whatever backend the
// caller has set up: in facegpu that is tfjs' WebGPU backend on the engine's own device
// (src/train/tf-backend.ts). It is a preprocessing step in front of the backbone, not part
// of it: the backbone stays on our shaders.
//
// Platform-neutral: the caller loads the graph model (Node: from node_modules, see node.ts;
// a page: tf.loadGraphModel(url)) and hands over decoded RGB pixels.
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { anchorCentres, BLAZEFACE_INPUT, BLAZEFACE_LAYERS } from './anchors.ts';
import type { Box } from './region.ts';

/** Decoded pixels: packed 8-bit RGB, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface FaceDetection extends Box {
  /** The model's confidence, 0..1 (sigmoid of its logit). */
  score: number;
}

export interface DetectorOptions {
  /** Detections below this score are dropped. */
  minScore?: number;
  /** Overlap (intersection over union) above which the weaker of two boxes is suppressed. */
  iouThreshold?: number;
  /** At most this many faces per image. */
  maxFaces?: number;
}

export const DEFAULT_DETECTOR: Required<DetectorOptions> = { minScore: 0.5, iouThreshold: 0.3, maxFaces: 10 };

/** Values per anchor in the regressor outputs: box centre offset (2), box size (2), 6 landmarks (12). */
const REGRESSORS = 16;

export class BlazeFaceDetector {
  private readonly anchors = anchorCentres(BLAZEFACE_INPUT);
  private readonly opts: Required<DetectorOptions>;

  constructor(
    private readonly model: GraphModel,
    opts: DetectorOptions = {},
  ) {
    this.opts = { ...DEFAULT_DETECTOR, ...opts };
    const input = model.inputs[0]?.shape;
    if (!input || input[1] !== BLAZEFACE_INPUT || input[2] !== BLAZEFACE_INPUT || input[3] !== 3) {
      throw new Error(`not the BlazeFace model facegpu expects: input shape [${input}], expected [1, ${BLAZEFACE_INPUT}, ${BLAZEFACE_INPUT}, 3]`);
    }
  }

  /** Faces in `image`, best first, in the image's pixel coordinates (empty: no face found). */
  async detect(image: RgbImage): Promise<FaceDetection[]> {
    const { width, height } = image;
    if (image.data.length !== width * height * 3) throw new Error(`detect: ${image.data.length} bytes for a ${width}x${height} RGB image`);
    // The photo is letterboxed into the model's square input: scaled so its longer side
    // fits, centred, the rest black. One cropAndResize does scaling and padding at once
    // (samples outside the photo take the extrapolation value); side/offset map back.
    const side = Math.max(width, height);
    const offX = (side - width) / 2;
    const offY = (side - height) / 2;
    const outputs = tf.tidy(() => {
      const pixels = tf.cast(tf.tensor4d(Int32Array.from(image.data), [1, height, width, 3], 'int32'), 'float32');
      // cropAndResize's normalised coordinates put 0 and 1 on the first and last pixel centres.
      const y0 = -offY / Math.max(1, height - 1);
      const x0 = -offX / Math.max(1, width - 1);
      const y1 = (side - offY - 1) / Math.max(1, height - 1);
      const x1 = (side - offX - 1) / Math.max(1, width - 1);
      const input = tf.image.cropAndResize(pixels, [[y0, x0, y1, x1]], [0], [BLAZEFACE_INPUT, BLAZEFACE_INPUT], 'bilinear', 0);
      return this.model.execute(tf.sub(tf.div(input, 127.5), 1)) as tf.Tensor[];
    });
    let scores: Float32Array;
    let regressors: Float32Array;
    try {
      ({ scores, regressors } = await this.concatHeads(outputs));
    } finally {
      tf.dispose(outputs);
    }
    return this.decode(scores, regressors, side / BLAZEFACE_INPUT, offX, offY);
  }

  /**
   * The model's four outputs, put in anchor order: per head a score [1, n, 1] and regressors
   * [1, n, 16], n = 512 for the stride-16 head and 384 for the stride-32 head. Told apart by
   * shape, not by output name, which depends on how the model was converted.
   */
  private async concatHeads(outputs: tf.Tensor[]): Promise<{ scores: Float32Array; regressors: Float32Array }> {
    const count = this.anchors.length / 2;
    const scores = new Float32Array(count);
    const regressors = new Float32Array(count * REGRESSORS);
    let at = 0;
    for (const { stride, perCell } of BLAZEFACE_LAYERS) {
      const n = Math.ceil(BLAZEFACE_INPUT / stride) ** 2 * perCell;
      const score = outputs.find((t) => t.shape[1] === n && t.shape[2] === 1);
      const box = outputs.find((t) => t.shape[1] === n && t.shape[2] === REGRESSORS);
      if (!score || !box) throw new Error(`BlazeFace outputs [${outputs.map((t) => `[${t.shape}]`).join(', ')}] lack the ${n}-anchor head`);
      scores.set((await score.data()) as Float32Array, at);
      regressors.set((await box.data()) as Float32Array, at * REGRESSORS);
      at += n;
    }
    return { scores, regressors };
  }

  /** Boxes from anchors + regressors, scores from logits, overlaps suppressed, mapped back to the photo. */
  private async decode(logits: Float32Array, regressors: Float32Array, scale: number, offX: number, offY: number): Promise<FaceDetection[]> {
    const { minScore, iouThreshold, maxFaces } = this.opts;
    const candidates: FaceDetection[] = [];
    const corners: number[] = [];
    for (let i = 0; i < logits.length; i++) {
      const score = 1 / (1 + Math.exp(-logits[i]));
      if (score < minScore) continue;
      const r = i * REGRESSORS;
      const cx = this.anchors[2 * i] + regressors[r];
      const cy = this.anchors[2 * i + 1] + regressors[r + 1];
      const w = regressors[r + 2];
      const h = regressors[r + 3];
      if (!(w > 0 && h > 0)) continue;
      candidates.push({ x: (cx - w / 2) * scale - offX, y: (cy - h / 2) * scale - offY, width: w * scale, height: h * scale, score });
      corners.push(cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2); // [y1, x1, y2, x2], as tf's NMS takes them
    }
    if (!candidates.length) return [];
    const boxes = tf.tensor2d(corners, [candidates.length, 4]);
    const scores = tf.tensor1d(candidates.map((c) => c.score));
    const keep = await tf.image.nonMaxSuppressionAsync(boxes, scores, maxFaces, iouThreshold, minScore);
    const kept = Array.from((await keep.data()) as Int32Array, (k) => candidates[k]);
    tf.dispose([boxes, scores, keep]);
    return kept.sort((a, b) => b.score - a.score);
  }
}
