// The training library for Node: train a recognizer on a folder of photos, load it, predict,
// evaluate. The browser-safe parts (head, training loop, augmentation, classifier, model
// format) are re-exported for pages to build on with their own storage and decoding.
import { join } from 'node:path';
import { assertNoUncaughtError, type Gpu } from '../gpu/device.ts';
import { loadImageRGB } from '../image/decode.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { FaceClassifier, rankProbabilities, UNKNOWN, type Prediction } from './classify.ts';
import { openEvaluationSet, openTrainingSet, type SplitOptions } from './dataset-node.ts';
import type { SkippedFile } from './extract.ts';
import { recoverDir } from '../atomic-fs.ts';
import { checkOutputDir } from '../out-dir.ts';
import { withDirLock } from '../lock-node.ts';
import { checkFitConfig, DEFAULT_FIT } from './fit.ts';
import { CheckpointWriter, checkReplaceable, loadModelDir, saveModelDir } from './model-dir-node.ts';
import type { FaceModelMeta } from './model-format.ts';
import { evaluateOnImages, trainOnImages, type EvaluationResult, type TrainOptions, type TrainResult } from './pipeline.ts';
import { useGpuForTfjs } from './tf-backend.ts';
import { faceCropRecord, type CropRecord, type CropMethod, type FaceCrop, type FaceCropper } from '../detect/face-crop.ts';
import { largestFace } from '../faces/describe.ts';
import { describeFiles, openFaceDescriber, warmDetector } from '../faces/node.ts';
import { locatedFaceFileLoader, nodeFaceCropper } from '../detect/node.ts';

export { KERAS_RECIPE, type AugmentRecipe } from './augment.ts';
export { FaceClassifier, rankProbabilities, UNKNOWN, DEFAULT_THRESHOLD, type Prediction, type Guess } from './classify.ts';
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

export interface NodeTrainOptions extends Omit<TrainOptions, 'crop'>, SplitOptions {
  /** Model directory: written after every improving epoch and at the end, atomically. */
  out?: string;
  /**
   * 'face' (default): each photo's best BlazeFace face, squared and enlarged by `margin`
   * (src/detect), goes to the backbone; 'none': the whole photo.
   */
  crop?: CropMethod;
  margin?: number;
  /** A photo where no face was found (its whole image was used). */
  onNoFace?: (file: string) => void;
  /** Progress of locating the faces (before descriptors; only with crop 'face'). */
  onDetectProgress?: (done: number, total: number) => void;
  /**
   * Aborted (say, on Ctrl-C): training ends after the epoch under way and train returns once
   * every checkpoint is on disk, `fit.interrupted` true; `out` then holds the last checkpoint,
   * the best epoch so far (its status "training"), and no final model is written.
   */
  signal?: AbortSignal;
  /** A checkpoint is on disk in `out` (onCheckpoint: one was taken and is being written). */
  onCheckpointWritten?: (meta: FaceModelMeta) => void;
  /**
   * The caller already holds `out`'s lock (withDirLock). Otherwise train takes it, and a
   * folder another writer holds is refused at once, naming that writer.
   */
  outLocked?: boolean;
}

/** About what a model folder takes while it is replaced (old + new head). */
export const MODEL_DIR_BYTES = 16 * 2 ** 20;

/** The crop a model records for a crop method (the CLI's --crop). */
export function cropRecordFor(method: CropMethod = 'face', margin?: number): CropRecord {
  if (method === 'none') return { method: 'none' };
  if (method === 'face') return faceCropRecord(margin);
  throw new Error(`crop must be "face" or "none", got "${method}"`);
}

/** A face cropper for `crop` on `gpu` (null for whole images). */
async function cropperFor({ gpu, engine }: EngineOnGpu, crop: CropRecord): Promise<FaceCropper<string> | null> {
  if (crop.method === 'none') return null;
  await useGpuForTfjs(gpu, engine.runner.shaders); // the detector's weights go to the backend current at load
  const cropper = await nodeFaceCropper(crop);
  await warmDetector(gpu, () => cropper.warmUp());
  return cropper;
}

/**
 * Train a recognizer on `data`: `<data>/<person>/*` photos (split by `validationSplit`), or
 * `<data>/train|validation/<person>/*`; the model folder is written to `out`.
 *
 * @example
 * ```ts
 * import { openEngine, train, load, predict } from 'facegpu';
 * const { gpu, engine } = await openEngine();
 * await train('photos/', { gpu, engine }, { out: 'models/friends', validationSplit: 0.2, seed: 1 });
 * const classifier = await load('models/friends', { gpu, engine });
 * const { predictions } = await predict(classifier, ['new.jpg']);   // every face: label, probability, box
 * engine.destroy(); gpu.destroy();
 * ```
 */
export async function train(data: string, { gpu, engine }: EngineOnGpu, opts: NodeTrainOptions = {}): Promise<TrainResult & { root: string }> {
  // Settings and the output folder first: a mistake is told before any image is decoded.
  checkFitConfig({ ...DEFAULT_FIT, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in DEFAULT_FIT && v !== undefined)) });
  if (opts.augment !== undefined && (!Number.isInteger(opts.augment) || opts.augment < 0)) throw new Error(`augment must be a non-negative integer, got ${opts.augment}`);
  if (opts.extractBatch !== undefined && (!Number.isInteger(opts.extractBatch) || opts.extractBatch < 1)) throw new Error(`extractBatch must be a positive integer, got ${opts.extractBatch}`);
  if (opts.out) {
    await checkOutputDir(opts.out, { name: 'out', needBytes: MODEL_DIR_BYTES, readFrom: [{ path: data, what: 'data folder' }] });
    if (!opts.outLocked) {
      const out = opts.out;
      return withDirLock(out, () => train(data, { gpu, engine }, { ...opts, outLocked: true }), { what: 'model folder', timeoutMs: 0 });
    }
  }
  const set = await openTrainingSet(data, engine.inputSize, { validationSplit: opts.validationSplit, seed: opts.seed, onWarning: opts.onWarning });
  if (opts.out) {
    await recoverDir(opts.out);
    await checkReplaceable(opts.out);
  }
  const out = opts.out;
  const crop = cropRecordFor(opts.crop, opts.margin);
  const cropper = await cropperFor({ gpu, engine }, crop);
  let detectMs: number | undefined;
  if (cropper) {
    // Faces first, as a phase of its own: detection and the backbone both want the whole
    // (CPU) adapter, and its time is then its own.
    const t0 = performance.now();
    const ids = [...set.train, ...set.validation].map((i) => i.id);
    set.load = await locatedFaceFileLoader(cropper, set.root, ids, engine.inputSize, { onNoFace: (f) => opts.onNoFace?.(f), onProgress: opts.onDetectProgress });
    detectMs = performance.now() - t0;
  }
  // Checkpoints go to disk while training continues; the final model waits for them.
  const checkpoints = out ? new CheckpointWriter(out, opts.onCheckpointWritten) : null;
  let result: TrainResult;
  try {
    result = await trainOnImages(gpu, engine, set, {
      ...opts,
      crop,
      onCheckpoint: async (head, meta) => {
        if (out) assertNoUncaughtError(gpu, out);
        await checkpoints?.save(head, meta);
        await opts.onCheckpoint?.(head, meta);
      },
    });
  } catch (err) {
    await checkpoints?.flush().catch(() => {}); // the training error is the one to report
    throw err;
  }
  await checkpoints?.flush();
  // Interrupted, the last checkpoint is the best epoch and the run is unfinished: it stays as written.
  if (out) assertNoUncaughtError(gpu, out);
  if (out && !result.fit.interrupted) await saveModelDir(out, result.head, result.meta);
  result.timings.detectMs = detectMs;
  return { ...result, root: set.root };
}

/** Load a model directory for use with `engine` (refused if it was trained on another backbone). */
export async function load(modelDir: string, { gpu, engine }: EngineOnGpu): Promise<FaceClassifier> {
  await useGpuForTfjs(gpu, engine.runner.shaders);
  const { head, meta } = await loadModelDir(modelDir);
  // predict() and evaluate() below crop as the model records.
  return FaceClassifier.create(gpu, engine, head, meta, modelDir, { facesCropped: true });
}

/** A face of a photo as a face-crop model sees it: where it is and who the head says it is. */
export interface FacePrediction extends Prediction {
  /** [x, y, width, height] in the photo's pixels. */
  box: [number, number, number, number];
  /** The detector's score. */
  score: number;
}

/**
 * A file's prediction. Models trained on face crops judge every face of the photo (`faces`,
 * best detector score first) and the file's own label is that of its largest face; a photo
 * without a face has `faces: []` and the label "unknown" with probability 0, never a name.
 * Whole-photo models (--crop none) judge the whole photo and have no `faces`.
 */
export interface FilePrediction extends Prediction {
  file: string;
  faces?: FacePrediction[];
}

export interface PredictOptions {
  top?: number;
  threshold?: number;
  batchSize?: number;
  onSkip?: (s: SkippedFile) => void;
  onNoFace?: (file: string) => void;
  onProgress?: (done: number, total: number) => void;
}

/** Predictions for image files, a batch at a time; unreadable files are reported, not fatal. */
export async function predict(classifier: FaceClassifier, files: readonly string[], opts: PredictOptions = {}): Promise<{ predictions: FilePrediction[]; skipped: SkippedFile[] }> {
  const crop = classifier.meta.preprocessing.crop;
  if (crop.method === 'face') return predictFaces(classifier, files, crop, opts);
  const size = classifier.engine.inputSize;
  const per = size * size * 3;
  const batch = Math.max(1, opts.batchSize ?? 16);
  const predictions: FilePrediction[] = [];
  const skipped: SkippedFile[] = [];
  for (let at = 0; at < files.length; at += batch) {
    const chunk = files.slice(at, at + batch);
    const decoded = await Promise.all(chunk.map((f) => loadImageRGB(f, size).then((px) => ({ f, px }), (err: Error) => ({ f, err }))));
    const ok = decoded.filter((d): d is { f: string; px: Uint8Array } => 'px' in d);
    for (const d of decoded) if ('err' in d) skip(skipped, { id: d.f, reason: d.err.message }, opts);
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

function skip(skipped: SkippedFile[], s: SkippedFile, opts: PredictOptions): void {
  skipped.push(s);
  opts.onSkip?.(s);
}

/**
 * Every face of every photo, framed as the model was trained (a square at its margin around
 * BlazeFace's box, cut by the GPU warp), judged by the head.
 */
async function predictFaces(classifier: FaceClassifier, files: readonly string[], crop: FaceCrop, opts: PredictOptions): Promise<{ predictions: FilePrediction[]; skipped: SkippedFile[] }> {
  const { engine } = classifier;
  const describer = await openFaceDescriber(engine.gpu, engine, { detector: 'blazeface', minScore: crop.minScore, framing: { method: 'square', margin: crop.margin } });
  const predictions: FilePrediction[] = [];
  const skipped: SkippedFile[] = [];
  try {
    const found = await describeFiles(describer, files, { onProgress: opts.onProgress });
    for (const r of found) {
      if ('error' in r) {
        skip(skipped, { id: r.file, reason: r.error }, opts);
        continue;
      }
      if (!r.faces.length) {
        opts.onNoFace?.(r.file);
        predictions.push({ file: r.file, label: UNKNOWN, probability: 0, top: [], faces: [] });
        continue;
      }
      const dim = engine.outputDim;
      const descriptors = new Float32Array(r.faces.length * dim);
      r.faces.forEach((f, i) => descriptors.set(f.descriptor, i * dim));
      const ranked = rankProbabilities(await classifier.probabilitiesOf(descriptors, r.faces.length), classifier.labels, opts);
      const faces = r.faces.map((f, i) => ({ box: f.box, score: f.score, ...ranked[i] }));
      const { label, probability, top } = faces[largestFace(faces)];
      predictions.push({ file: r.file, label, probability, top, faces });
    }
  } finally {
    describer.destroy();
  }
  return { predictions, skipped };
}

/**
 * Score a model on `data`'s validation folder, or on the files a train with the same split
 * held back: in the folder the model was trained on, the files it records as held back
 * (openEvaluationSet); `validationSplit` and `seed` default to the model's. A face-crop model scores what predict would answer: a photo where no face is
 * found is a miss (`noFace`, predicted null; `onNoFace` names it), not its whole image
 * judged. Training feeds such a photo in whole instead (it still shows the person, and a
 * small class keeps its photo), so training's val_acc counts it as the head judged the whole
 * image and can be above eval's accuracy by those photos.
 */
export async function evaluate(
  classifier: FaceClassifier,
  data: string,
  opts: SplitOptions & { batchSize?: number; onSkip?: (s: SkippedFile) => void; onNoFace?: (file: string) => void; onProgress?: (done: number, total: number) => void } = {},
): Promise<EvaluationResult & { source: string }> {
  const { split, config } = classifier.meta;
  // The model's own split: its held-back files in the folder it was trained on, and the
  // fraction and seed to split another folder with. A model of train/ and validation/ folders
  // has no split: a folder new to it is scored whole, unless a split is asked for (then with
  // its training seed where no seed is given).
  const folders = split.layout === 'train/validation';
  const set = await openEvaluationSet(data, classifier.engine.inputSize, classifier.labels, {
    ...opts,
    validationSplit: opts.validationSplit ?? split.validationSplit ?? undefined,
    seed: opts.seed ?? split.seed ?? (folders && opts.validationSplit === undefined ? undefined : config.seed),
    recorded: split,
  });
  const cropper = await cropperFor({ gpu: classifier.engine.gpu, engine: classifier.engine }, classifier.meta.preprocessing.crop);
  const noFace = new Set<string>(); // files
  // Faces are located for the whole set first, in batches, as training does.
  const load = cropper
    ? await locatedFaceFileLoader(cropper, set.root, set.items.map((i) => i.id), classifier.engine.inputSize, {
        onNoFace: (file) => {
          noFace.add(file);
          opts.onNoFace?.(file);
        },
      })
    : set.load;
  const faceless = (i: { id: string }) => noFace.has(join(set.root, i.id));
  const result = await evaluateOnImages(classifier, set.items.filter((i) => !faceless(i)), load, { ...opts, noFace: set.items.filter(faceless) });
  return { ...result, source: set.source };
}
