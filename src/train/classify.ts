// A trained face model in use: descriptors from the engine (kept on the GPU and handed to
// tfjs in place), class probabilities from the head, top-K with an "unknown" threshold.
// Browser-safe: tfjs, WebGPU and the engine only.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Gpu } from '../gpu/device.ts';
import { STORAGE } from '../gpu/buffers.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { checkBackbone, checkHeadScale, type FaceModelMeta } from './model-format.ts';
import { useGpuForTfjs } from './tf-backend.ts';

export const UNKNOWN = 'unknown';

/**
 * Below this top probability a prediction is "unknown". Measured (src/train/README.md): a
 * head's softmax says nothing of "is this anyone I know", so strangers get high
 * probabilities; 0.99 kept 98-100% of known faces named right while naming 0.9% of strangers
 * (ORL s6-s40 against a model of s1-s5) and 16% (ORL faces against a 5-celebrity model). Use
 * a gallery (src/gallery) for open-set identity at a stated false-accept rate.
 */
export const DEFAULT_THRESHOLD = 0.99;

export interface Guess {
  label: string;
  probability: number;
}

export interface Prediction {
  /** The best class, or "unknown" when its probability is below the threshold. */
  label: string;
  probability: number;
  /** The K most probable classes, best first. */
  top: Guess[];
}

/** A trained recognizer: the engine's descriptors through the head, probabilities per person. */
export class FaceClassifier {
  private constructor(
    readonly engine: MobileNetEngine,
    readonly head: tfl.LayersModel,
    readonly meta: FaceModelMeta,
  ) {}

  /**
   * Pair a loaded head with an engine; refuses an engine with another backbone, and a model
   * trained on face crops unless the caller says it crops faces as the model records
   * (`facesCropped`): whole photos would be misjudged without a word.
   */
  static async create(gpu: Gpu, engine: MobileNetEngine, head: tfl.LayersModel, meta: FaceModelMeta, where: string, opts: { facesCropped?: boolean } = {}): Promise<FaceClassifier> {
    checkBackbone(meta, engine.manifest, where);
    const crop = meta.preprocessing.crop;
    if (crop.method === 'face' && !opts.facesCropped) {
      throw new Error(
        `${where}: this model was trained on face crops (BlazeFace, margin ${crop.margin}) and needs them for prediction, ` +
          `and this caller feeds whole photos; crop faces as the model records (src/detect) and say so with facesCropped: true, as load() and the web page do, or use a model trained on whole photos (crop method "none")`,
      );
    }
    await useGpuForTfjs(gpu, engine.runner.shaders);
    checkHeadScale(meta, head, where);
    const out = head.outputs[0].shape[1];
    if (out !== meta.labels.length) throw new Error(`${where}: the head has ${out} outputs but ${meta.labels.length} labels`);
    return new FaceClassifier(engine, head, meta);
  }

  get labels(): string[] {
    return this.meta.labels;
  }

  /** Class probabilities [n, classes] of n packed RGB images at the engine's input size. */
  async probabilities(pixels: Uint8Array, n: number): Promise<Float32Array> {
    const device = this.engine.gpu.device;
    const buffer = device.createBuffer({ label: 'descriptors', size: n * this.engine.outputDim * 4, usage: STORAGE });
    try {
      await this.engine.embedInto(pixels, n, buffer);
      const x = tf.tensor({ buffer, zeroCopy: true }, [n, this.engine.outputDim], 'float32');
      const probs = this.head.predict(x) as tf.Tensor;
      try {
        return (await probs.data()) as Float32Array;
      } finally {
        tf.dispose([x, probs]);
      }
    } finally {
      buffer.destroy();
    }
  }

  /** Class probabilities [n, classes] of n descriptors the engine already made ([n, outputDim]). */
  async probabilitiesOf(descriptors: Float32Array, n: number): Promise<Float32Array> {
    if (descriptors.length !== n * this.engine.outputDim) throw new Error(`expected ${n} descriptors of ${this.engine.outputDim} values, got ${descriptors.length} values`);
    const x = tf.tensor2d(descriptors, [n, this.engine.outputDim]);
    const probs = this.head.predict(x) as tf.Tensor;
    try {
      return (await probs.data()) as Float32Array;
    } finally {
      tf.dispose([x, probs]);
    }
  }

  /** Predictions for n images: best label (or "unknown" below `threshold`) and the top K. */
  async predict(pixels: Uint8Array, n: number, opts: { top?: number; threshold?: number } = {}): Promise<Prediction[]> {
    const probs = await this.probabilities(pixels, n);
    return rankProbabilities(probs, this.labels, opts);
  }
}

/** The best labels of one softmax output, most probable first; `unknown` below `threshold`. */
export function rankProbabilities(probs: Float32Array, labels: readonly string[], opts: { top?: number; threshold?: number } = {}): Prediction[] {
  const k = labels.length;
  const top = Math.min(Math.max(1, opts.top ?? 1), k);
  const threshold = opts.threshold ?? DEFAULT_THRESHOLD;
  const out: Prediction[] = [];
  for (let i = 0; i * k < probs.length; i++) {
    const row = Array.from(probs.subarray(i * k, (i + 1) * k), (probability, c) => ({ label: labels[c], probability }));
    row.sort((a, b) => b.probability - a.probability);
    const best = row[0];
    out.push({ label: best.probability >= threshold ? best.label : UNKNOWN, probability: best.probability, top: row.slice(0, top) });
  }
  return out;
}

/** Index of the largest value of each row. */
export function argmaxRows(probs: Float32Array, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i * k < probs.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    out.push(best);
  }
  return out;
}
