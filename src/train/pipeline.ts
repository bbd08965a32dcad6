// Training and evaluation from images, storage-agnostic: the caller lists the images and
// says how to decode one (Node: files through sharp; a page: its own decoder) and how to
// write a checkpoint. Browser-safe: tfjs, WebGPU and the engine only.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Gpu } from '../gpu/device.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { KERAS_RECIPE, type AugmentRecipe } from './augment.ts';
import { argmaxRows, type FaceClassifier } from './classify.ts';
import { extractDescriptors, type ImageItem, type PixelLoader, type SkippedFile } from './extract.ts';
import { checkFitConfig, DEFAULT_FIT, fitHead, type EpochLog, type FitConfig, type FitResult } from './fit.ts';
import { buildHead, HIDDEN_UNITS } from './head.ts';
import { measureInputScale } from './descriptor-scale.ts';
import { evaluatePredictions, type Evaluation } from './metrics.ts';
import { backboneIdentity, MODEL_FORMAT, MODEL_VERSION, preprocessingOf, HEAD_FILE, type FaceModelMeta, type SplitRecord } from './model-format.ts';
import { useGpuForTfjs } from './tf-backend.ts';
import type { CropRecord } from '../detect/face-crop.ts';

export interface TrainingSet {
  /** Class names; ImageItem.label indexes this list. */
  classes: string[];
  train: ImageItem[];
  validation: ImageItem[];
  load: PixelLoader;
  /** How the split was made (recorded in the model). */
  layout: SplitRecord['layout'];
  validationSplit: number | null;
}

export interface TrainOptions extends Partial<FitConfig> {
  /** Augmented views added per training image (0: none). */
  augment?: number;
  recipe?: AugmentRecipe;
  /**
   * The crop the set's loader applies before the backbone (default: none, whole images).
   * Recorded in the model so that predict and eval apply the same.
   */
  crop?: CropRecord;
  /** Images per forward pass of the backbone. */
  extractBatch?: number;
  /** Where the backbone's folder is (recorded in the model, so predict can find it again). */
  backbonePath?: string;
  onExtractProgress?: (done: number, total: number, phase: 'train' | 'validation') => void;
  onSkip?: (skipped: SkippedFile) => void;
  onEpoch?: (log: EpochLog, config: FitConfig) => void;
  /** Called after every improving epoch with the model as it now stands (write it atomically), before onEpoch tells it. */
  onCheckpoint?: (head: tfl.LayersModel, meta: FaceModelMeta) => Promise<void>;
  /**
   * Aborted: training ends after the epoch under way (its checkpoint made), with the best
   * weights; `fit.interrupted` is then true and the model's status stays "training".
   */
  signal?: AbortSignal;
}

export interface TrainResult {
  head: tfl.LayersModel;
  meta: FaceModelMeta;
  fit: FitResult;
  /** detectMs: locating the faces, before extraction (set by callers that crop faces). */
  timings: { extractMs: number; trainMs: number; detectMs?: number };
}

/** Train a classifier head on labelled images: descriptors from the engine, the head on tfjs-webgpu on the same device (Node and pages alike). */
export async function trainOnImages(gpu: Gpu, engine: MobileNetEngine, set: TrainingSet, opts: TrainOptions = {}): Promise<TrainResult> {
  const config: FitConfig = {
    epochs: opts.epochs ?? DEFAULT_FIT.epochs,
    batchSize: opts.batchSize ?? DEFAULT_FIT.batchSize,
    learningRate: opts.learningRate ?? DEFAULT_FIT.learningRate,
    seed: opts.seed ?? DEFAULT_FIT.seed,
    patience: opts.patience ?? DEFAULT_FIT.patience,
  };
  checkFitConfig(config);
  const augment = opts.augment ?? 0;
  if (!Number.isInteger(augment) || augment < 0) throw new Error(`augment must be a non-negative integer, got ${augment}`);
  const recipe = opts.recipe ?? KERAS_RECIPE;
  const extractBatch = opts.extractBatch ?? 16;
  if (set.classes.length < 2) throw new Error(`need at least two people to tell apart, found ${set.classes.length} (${set.classes.join(', ') || 'none'})`);
  await useGpuForTfjs(gpu, engine.runner.shaders);

  const t0 = performance.now();
  const skipped: SkippedFile[] = [];
  const onSkip = (s: SkippedFile) => {
    skipped.push(s);
    opts.onSkip?.(s);
  };
  const trainSet = await extractDescriptors(engine, set.train, set.load, {
    batchSize: extractBatch,
    augment: augment > 0 ? { views: augment, seed: config.seed, recipe } : undefined,
    onProgress: (d, t) => opts.onExtractProgress?.(d, t, 'train'),
    onSkip,
  });
  const valSet = set.validation.length
    ? await extractDescriptors(engine, set.validation, set.load, { batchSize: extractBatch, onProgress: (d, t) => opts.onExtractProgress?.(d, t, 'validation'), onSkip })
    : null;
  const extractMs = performance.now() - t0;

  const empty = set.classes.filter((_, c) => !trainSet.kept.some((i) => i.label === c));
  if (empty.length) {
    trainSet.destroy();
    valSet?.destroy();
    throw new Error(`no readable training image for ${empty.map((c) => `"${c}"`).join(', ')}: every person needs at least one`);
  }

  // The head's input scale, from the training descriptors (originals and views) alone.
  const train = trainSet.tensors();
  const inputScale = await measureInputScale(train.x);

  const meta: FaceModelMeta = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    labels: set.classes,
    backbone: { ...backboneIdentity(engine.manifest), ...(opts.backbonePath ? { path: opts.backbonePath } : {}) },
    preprocessing: preprocessingOf(engine.manifest, opts.crop),
    head: { file: HEAD_FILE, hidden: [...HIDDEN_UNITS], activation: 'relu', output: 'softmax', optimizer: 'rmsprop', loss: 'categorical_crossentropy', inputScale },
    split: {
      layout: set.layout,
      validationSplit: set.validationSplit,
      seed: set.layout === 'split' ? config.seed : null,
      train: trainSet.kept.map((i) => i.id),
      validation: valSet?.kept.map((i) => i.id) ?? [],
      skipped,
    },
    config: { ...config, augment, recipe: augment > 0 ? recipe : null, extractBatch },
    metrics: { status: 'training', bestEpoch: 0, epochsRun: 0, stoppedEarly: false, loss: NaN, accuracy: NaN, valLoss: null, valAccuracy: null, history: [] },
    adapter: gpu.adapter.id,
    createdAt: new Date().toISOString(),
  };

  const t1 = performance.now();
  const head = buildHead(engine.outputDim, set.classes.length, config.seed, inputScale.scale);
  const validation = valSet?.tensors() ?? null;
  const history: EpochLog[] = [];
  const metricsFor = (best: EpochLog, status: 'training' | 'complete', stoppedEarly: boolean, run: readonly EpochLog[] = history): FaceModelMeta['metrics'] => ({
    status,
    bestEpoch: best.epoch,
    epochsRun: run.length,
    stoppedEarly,
    loss: best.loss,
    accuracy: best.accuracy,
    valLoss: best.valLoss,
    valAccuracy: best.valAccuracy,
    history: run.slice(),
  });
  let fit: FitResult;
  try {
    fit = await fitHead(head, set.classes.length, train, validation, config, {
      onEpoch: (log, c) => {
        history.push(log);
        opts.onEpoch?.(log, c);
      },
      onBest: async (log, run) => {
        if (opts.onCheckpoint) await opts.onCheckpoint(head, { ...meta, metrics: metricsFor(log, 'training', false, run) });
      },
      signal: opts.signal,
    });
  } finally {
    tf.dispose([train.x, train.labels, ...(validation ? [validation.x, validation.labels] : [])]);
    trainSet.destroy();
    valSet?.destroy();
  }
  // Stopped before its end, the run did not finish: the model says so (predict and eval tell).
  meta.metrics = metricsFor(fit.best, fit.interrupted ? 'training' : 'complete', fit.stoppedEarly);
  return { head, meta, fit, timings: { extractMs, trainMs: performance.now() - t1 } };
}

export interface EvaluationResult extends Evaluation {
  /** Per image: its id, true and predicted class (null: no face was found, a miss). */
  predictions: { id: string; truth: string; predicted: string | null; probability: number }[];
  skipped: SkippedFile[];
}

/**
 * Accuracy, per-class precision/recall and the confusion matrix of a model on labelled images.
 * `noFace`: images of a face-crop model where no face was found; they are not run, each is a
 * miss (predicted null), as predict answers such a photo "unknown" (src/train/README.md).
 */
export async function evaluateOnImages(
  classifier: FaceClassifier,
  items: readonly ImageItem[],
  load: PixelLoader,
  opts: { batchSize?: number; noFace?: readonly ImageItem[]; onProgress?: (done: number, total: number) => void; onSkip?: (s: SkippedFile) => void } = {},
): Promise<EvaluationResult> {
  const labels = classifier.labels;
  const noFace = opts.noFace ?? [];
  const set = await extractDescriptors(classifier.engine, items, load, { batchSize: opts.batchSize ?? 16, onProgress: opts.onProgress, onSkip: opts.onSkip });
  try {
    if (set.rows === 0 && noFace.length === 0) throw new Error('none of the evaluation images could be read');
    let probs: Float32Array = new Float32Array(0);
    if (set.rows > 0) {
      const { x, labels: y } = set.tensors();
      const probsT = classifier.head.predict(x) as tf.Tensor;
      probs = (await probsT.data()) as Float32Array;
      tf.dispose([x, y, probsT]);
    }
    const predicted: (number | null)[] = [...argmaxRows(probs, labels.length), ...noFace.map(() => null)];
    const truth = [...Array.from(set.labels), ...noFace.map((item) => item.label)];
    const ids = [...set.kept, ...noFace].map((item) => item.id);
    return {
      ...evaluatePredictions(labels, truth, predicted),
      predictions: ids.map((id, i) => {
        const p = predicted[i];
        return { id, truth: labels[truth[i]], predicted: p === null ? null : labels[p], probability: p === null ? 0 : probs[i * labels.length + p] };
      }),
      skipped: set.skipped,
    };
  } finally {
    set.destroy();
  }
}
