// The training library for Node: train a recognizer on a folder of photos, load it, predict,
// evaluate. The browser-safe parts (head, training loop, augmentation, classifier, model
// format) are re-exported for pages to build on with their own storage and decoding.
import type { Gpu } from '../gpu/device.ts';
import { loadImageRGB } from '../image/decode.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { FaceClassifier, type Prediction } from './classify.ts';
import { openEvaluationSet, openTrainingSet, type SplitOptions } from './dataset-node.ts';
import type { SkippedFile } from './extract.ts';
import { recoverDir } from '../atomic-fs.ts';
import { checkReplaceable, loadModelDir, saveModelDir } from './model-dir-node.ts';
import { evaluateOnImages, trainOnImages, type EvaluationResult, type TrainOptions, type TrainResult } from './pipeline.ts';
import { useGpuForTfjs } from './tf-backend.ts';

export { KERAS_RECIPE, type AugmentRecipe } from './augment.ts';
export { FaceClassifier, rankProbabilities, UNKNOWN, type Prediction, type Guess } from './classify.ts';
export { DEFAULT_FIT, formatEpoch, fitHead, type EpochLog, type FitConfig } from './fit.ts';
export { buildHead } from './head.ts';
export { formatEvaluation, type Evaluation } from './metrics.ts';
export type { FaceModelMeta } from './model-format.ts';
export { trainOnImages, evaluateOnImages, type TrainOptions, type TrainResult, type EvaluationResult } from './pipeline.ts';
export { useGpuForTfjs } from './tf-backend.ts';
export { loadModelDir, saveModelDir } from './model-dir-node.ts';

export interface EngineOnGpu {
  gpu: Gpu;
  engine: MobileNetEngine;
}

export interface NodeTrainOptions extends TrainOptions, SplitOptions {
  /** Model directory: written after every improving epoch and at the end, atomically. */
  out?: string;
}

/** Train a recognizer on `data` (see dataset-node.ts for the layouts). */
export async function train(data: string, { gpu, engine }: EngineOnGpu, opts: NodeTrainOptions = {}): Promise<TrainResult & { root: string }> {
  const set = await openTrainingSet(data, engine.inputSize, { validationSplit: opts.validationSplit, seed: opts.seed });
  if (opts.out) {
    await recoverDir(opts.out);
    await checkReplaceable(opts.out);
  }
  const out = opts.out;
  const result = await trainOnImages(gpu, engine, set, {
    ...opts,
    onCheckpoint: async (head, meta) => {
      if (out) await saveModelDir(out, head, meta);
      await opts.onCheckpoint?.(head, meta);
    },
  });
  if (out) await saveModelDir(out, result.head, result.meta);
  return { ...result, root: set.root };
}

/** Load a model directory for use with `engine` (refused if it was trained on another backbone). */
export async function load(modelDir: string, { gpu, engine }: EngineOnGpu): Promise<FaceClassifier> {
  await useGpuForTfjs(gpu);
  const { head, meta } = await loadModelDir(modelDir);
  return FaceClassifier.create(gpu, engine, head, meta, modelDir);
}

export interface FilePrediction extends Prediction {
  file: string;
}

/** Predictions for image files, a batch at a time; unreadable files are reported, not fatal. */
export async function predict(
  classifier: FaceClassifier,
  files: readonly string[],
  opts: { top?: number; threshold?: number; batchSize?: number; onSkip?: (s: SkippedFile) => void; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ predictions: FilePrediction[]; skipped: SkippedFile[] }> {
  const size = classifier.engine.inputSize;
  const per = size * size * 3;
  const batch = Math.max(1, opts.batchSize ?? 16);
  const predictions: FilePrediction[] = [];
  const skipped: SkippedFile[] = [];
  for (let at = 0; at < files.length; at += batch) {
    const chunk = files.slice(at, at + batch);
    const decoded = await Promise.all(chunk.map((f) => loadImageRGB(f, size).then((px) => ({ f, px }), (err: Error) => ({ f, err }))));
    const ok = decoded.filter((d): d is { f: string; px: Uint8Array } => 'px' in d);
    for (const d of decoded) {
      if ('err' in d) {
        const s = { id: d.f, reason: d.err.message };
        skipped.push(s);
        opts.onSkip?.(s);
      }
    }
    if (ok.length) {
      const pixels = new Uint8Array(ok.length * per);
      ok.forEach((d, i) => pixels.set(d.px, i * per));
      const preds = await classifier.predict(pixels, ok.length, opts);
      ok.forEach((d, i) => predictions.push({ file: d.f, ...preds[i] }));
    }
    opts.onProgress?.(Math.min(at + batch, files.length), files.length);
  }
  return { predictions, skipped };
}

/** Score a model on `data`'s validation folder, or on the files a train with the same split held back. */
export async function evaluate(
  classifier: FaceClassifier,
  data: string,
  opts: SplitOptions & { batchSize?: number; onSkip?: (s: SkippedFile) => void; onProgress?: (done: number, total: number) => void } = {},
): Promise<EvaluationResult & { source: string }> {
  const set = await openEvaluationSet(data, classifier.engine.inputSize, classifier.labels, opts);
  const result = await evaluateOnImages(classifier, set.items, set.load, opts);
  return { ...result, source: set.source };
}
