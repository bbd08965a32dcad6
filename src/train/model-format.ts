// What a trained face model is, independent of where it is stored: the head in tfjs layers
// format (model.json + weights.bin) and facegpu.json (labels, backbone identity,
// preprocessing, split, config, metrics). Browser-safe: the Node store (model-dir-node.ts)
// and a browser store both go through these functions.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BackboneManifest } from '../weights/format.ts';
import { checkCropRecord, type CropRecord } from '../detect/face-crop.ts';
import type { AugmentRecipe } from './augment.ts';
import type { InputScaleRecord } from './descriptor-scale.ts';
import { headInputScale } from './head.ts';
import type { EpochLog, FitConfig } from './fit.ts';
import type { SkippedFile } from './extract.ts';
import { RemedyError } from '../remedy.ts';

export const MODEL_FORMAT = 'facegpu-model';
export const MODEL_VERSION = 1;
export const META_FILE = 'facegpu.json';
export const HEAD_FILE = 'model.json';
export const HEAD_WEIGHTS_FILE = 'weights.bin';

export interface SplitRecord {
  /** 'train/validation': the data set's own folders; 'split': one folder split per person. */
  layout: 'train/validation' | 'split';
  validationSplit: number | null;
  seed: number | null;
  /** Image ids (paths relative to the data folder) used for training and held back. */
  train: string[];
  validation: string[];
  /** Files that could not be decoded and were left out. */
  skipped: SkippedFile[];
}

export interface FaceModelMeta {
  format: typeof MODEL_FORMAT;
  version: number;
  labels: string[];
  /**
   * Which backbone made the descriptors: its id (a plain name; weights/<id> when installed
   * there), the sha256 of its weights (what identifies it), and where it was at training
   * (absent in older models): predict and eval look for the sha256 there and under weights/.
   */
  backbone: { id: string; weightsSha256: string; outputDim: number; inputSize: number; path?: string };
  preprocessing: {
    /**
     * What part of the photo reaches the backbone: the whole photo, or a square around the
     * best face BlazeFace finds (src/detect). Predict and eval apply the same.
     */
    crop: CropRecord;
    inputSize: number;
    /** How images reach inputSize x inputSize. */
    resize: string;
    colour: string;
    /** The backbone's own input scaling (byte * scale + offset), applied on the GPU. */
    scale: number;
    offset: number;
  };
  head: {
    file: string; hidden: number[]; activation: string; output: string; optimizer: string; loss: string;
    /**
     * The scale the head's first layer (`descriptor_scale`) applies to the descriptors, and
     * what it was measured on (src/train/descriptor-scale.ts). Absent in models from before
     * it existed: their heads have no such layer and take descriptors as they are.
     */
    inputScale?: InputScaleRecord;
    /**
     * sha256 of the head's weights file as written (hex), checked when it is loaded: a damaged
     * file gave wrong answers without a word. Absent in models from before it was recorded.
     */
    weightsSha256?: string;
  };
  split: SplitRecord;
  config: FitConfig & { augment: number; recipe: AugmentRecipe | null; extractBatch: number };
  metrics: {
    /** 'training': a checkpoint written during training; 'complete': training finished. */
    status: 'training' | 'complete';
    bestEpoch: number;
    epochsRun: number;
    stoppedEarly: boolean;
    loss: number;
    accuracy: number;
    valLoss: number | null;
    valAccuracy: number | null;
    history: EpochLog[];
  };
  adapter: string;
  createdAt: string;
}

export function backboneIdentity(m: BackboneManifest): FaceModelMeta['backbone'] {
  return { id: m.id, weightsSha256: m.weightsSha256, outputDim: m.outputDim, inputSize: m.inputSize };
}

export function preprocessingOf(m: BackboneManifest, crop: CropRecord = { method: 'none' }): FaceModelMeta['preprocessing'] {
  return {
    crop,
    inputSize: m.inputSize,
    resize: `${crop.method === 'face' ? 'the face crop' : 'the whole image'} stretched to ${m.inputSize}x${m.inputSize} (aspect ratio not kept, as Keras flow_from_directory), bicubic`,
    colour: 'RGB, EXIF orientation applied, greyscale expanded, alpha dropped',
    scale: m.preprocess.scale,
    offset: m.preprocess.offset,
  };
}

/**
 * Refuse a model trained on another backbone: its head would read meaningless descriptors.
 * Backbones are told apart by the sha256 of their weights (the id is only a folder name), and
 * by the input scaling they were converted with (the model records it).
 */
export function checkBackbone(meta: FaceModelMeta, m: BackboneManifest, where: string): void {
  const b = meta.backbone;
  if (b.weightsSha256 !== m.weightsSha256) {
    throw new RemedyError(
      `${where}: this model was trained on backbone "${b.id}" (weights sha256 ${b.weightsSha256.slice(0, 12)}…), ` +
        `but the backbone in use is "${m.id}" (sha256 ${m.weightsSha256.slice(0, 12)}…)`,
      `; open the engine on backbone "${b.id}" with the same weights, or train again`,
      { case: 'other-backbone', id: b.id },
    );
  }
  // The same weights converted with another input scaling (raw 0..255, not -1..1) give other
  // descriptors all the same: the head would read them as its own (40% where 50%).
  const p = meta.preprocessing;
  if (p && (p.scale !== m.preprocess.scale || p.offset !== m.preprocess.offset)) {
    throw new RemedyError(
      `${where}: this model was trained on backbone "${b.id}" reading its input as byte x ${p.scale} + ${p.offset}, ` +
        `but the backbone in use, "${m.id}", has the same weights converted to read it as byte x ${m.preprocess.scale} + ${m.preprocess.offset}`,
      `; open the engine on backbone "${b.id}" with the same weights, or train again`,
      { case: 'other-backbone', id: b.id },
    );
  }
}

/**
 * facegpu.json and model.json must agree on the descriptor scale: a head with the scale
 * layer under a facegpu.json without the record (or the reverse, or other numbers) means the
 * files of two models were mixed up, and predictions would be off without a word.
 */
export function checkHeadScale(meta: FaceModelMeta, head: tfl.LayersModel, where: string): void {
  const recorded = meta.head?.inputScale?.scale ?? 1;
  const applied = headInputScale(head, where);
  if (Math.abs(applied - recorded) > 1e-6 * recorded) {
    throw new Error(`${where}: facegpu.json records a descriptor scale of ${recorded}, but the head (model.json) applies ${applied}; the files come from different models`);
  }
}

/** A backbone id: a plain folder name under weights/ (no path, no "..", no hidden name). */
export const BACKBONE_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function validateMeta(m: any, where: string): asserts m is FaceModelMeta {
  if (!m || m.format !== MODEL_FORMAT) throw new Error(`${where}: not a facegpu model (format "${m?.format}")`);
  if (m.version !== MODEL_VERSION) throw new Error(`${where}: model format version ${m.version}, this facegpu reads ${MODEL_VERSION}`);
  if (!Array.isArray(m.labels) || m.labels.length < 2 || !m.labels.every((l: unknown) => typeof l === 'string' && l !== '')) {
    throw new Error(`${where}: "labels" must list at least two class names`);
  }
  const dup = m.labels.find((l: string, i: number) => m.labels.indexOf(l) !== i);
  if (dup !== undefined) throw new Error(`${where}: "labels" lists "${dup}" twice; each class must have one name`);
  const b = m.backbone;
  if (!b || typeof b.id !== 'string' || typeof b.weightsSha256 !== 'string') {
    throw new Error(`${where}: "backbone" must give the backbone's id and weightsSha256`);
  }
  if (!BACKBONE_ID.test(b.id) || b.id === '..') throw new Error(`${where}: backbone id ${JSON.stringify(b.id)} must be a plain name (a folder under weights/), not a path`);
  if (b.path !== undefined && typeof b.path !== 'string') throw new Error(`${where}: backbone path must be a string`);
  const size = (name: string, v: unknown, max: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new Error(`${where}: ${name} ${JSON.stringify(v)} must be an integer in [1, ${max}]`);
  };
  // Sizes are optional in hand-made descriptions, but never of the wrong kind.
  if (b.inputSize !== undefined) size('backbone.inputSize', b.inputSize, 4096);
  if (b.outputDim !== undefined) size('backbone.outputDim', b.outputDim, 65536);
  const p = m.preprocessing;
  if (!p || typeof p !== 'object') throw new Error(`${where}: "preprocessing" is missing`);
  if (p.inputSize !== undefined) size('preprocessing.inputSize', p.inputSize, 4096);
  if (p.inputSize !== undefined && b.inputSize !== undefined && p.inputSize !== b.inputSize) throw new Error(`${where}: preprocessing.inputSize ${p.inputSize} differs from backbone.inputSize ${b.inputSize}`);
  for (const k of ['scale', 'offset']) {
    if (p[k] !== undefined && (typeof p[k] !== 'number' || !Number.isFinite(p[k]))) throw new Error(`${where}: preprocessing.${k} ${JSON.stringify(p[k])} must be a number`);
  }
  const scale = m.head?.inputScale;
  if (scale !== undefined) {
    for (const k of ['scale', 'meanNorm', 'targetNorm']) {
      if (typeof scale?.[k] !== 'number' || !Number.isFinite(scale[k]) || scale[k] < 0 || (k === 'scale' && scale[k] === 0)) {
        throw new Error(`${where}: head.inputScale.${k} ${JSON.stringify(scale?.[k])} must be a ${k === 'scale' ? 'positive' : 'non-negative'} number`);
      }
    }
  }
  const sha = m.head?.weightsSha256;
  if (sha !== undefined && !(typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha))) throw new Error(`${where}: head.weightsSha256 ${JSON.stringify(sha)} must be a sha256 in hex`);
  // Models written before the face crop existed fed whole images.
  p.crop ??= { method: 'none' };
  checkCropRecord(p.crop, where);
  if (m.metrics !== undefined && m.metrics !== null && typeof m.metrics !== 'object') throw new Error(`${where}: "metrics" must be an object`);
}

/** The largest Dense layer a head may declare (units), and the most weights it may hold. */
const MAX_UNITS = 65536;
const MAX_HEAD_WEIGHTS = 1 << 28;

/** Refuse a head description with impossible sizes before tfjs builds it (one line naming the file and the layer). */
function checkHeadJson(json: { modelTopology?: any; weightsManifest?: { weights: tf.io.WeightsManifestEntry[] }[] }, where: string): void {
  const layers: any[] = json.modelTopology?.model_config?.config?.layers ?? json.modelTopology?.config?.layers ?? [];
  if (!Array.isArray(layers)) throw new Error(`${where}: modelTopology has no layer list`);
  for (const l of layers) {
    const units = l?.config?.units;
    if (units !== undefined && (typeof units !== 'number' || !Number.isInteger(units) || units < 1 || units > MAX_UNITS)) {
      throw new Error(`${where}: layer "${l?.config?.name ?? l?.class_name}" has units ${JSON.stringify(units)}; must be an integer in [1, ${MAX_UNITS}]`);
    }
  }
  let total = 0;
  for (const g of json.weightsManifest ?? []) {
    if (!g || !Array.isArray(g.weights)) throw new Error(`${where}: weightsManifest entries must list weights`);
    for (const w of g.weights) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1)) {
        throw new Error(`${where}: weight "${w?.name}" has shape ${JSON.stringify(w?.shape)}; every dimension must be a positive integer`);
      }
      if (w.dtype !== undefined && w.dtype !== 'float32') throw new Error(`${where}: weight "${w.name}" is ${w.dtype}; the head is float32`);
      total += w.shape.reduce((a, d) => a * d, 1);
      if (total > MAX_HEAD_WEIGHTS) throw new Error(`${where}: the weights add up to more than ${MAX_HEAD_WEIGHTS} numbers; not a facegpu head`);
    }
  }
}

/** The head as the two files of tfjs' layers format. */
export interface HeadFiles {
  modelJson: object;
  weights: Uint8Array;
}

/** Serialize the head (reads its weights back from the GPU once). */
export async function headToFiles(model: tfl.LayersModel): Promise<HeadFiles> {
  let files: HeadFiles | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData instanceof ArrayBuffer ? artifacts.weightData : tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []);
      files = {
        modelJson: {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
          convertedBy: 'facegpu',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [`./${HEAD_WEIGHTS_FILE}`], weights: artifacts.weightSpecs }],
        },
        weights: new Uint8Array(data),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  return files!;
}

/** Rebuild the head from its layers-format files. */
export async function headFromFiles(files: HeadFiles, where: string): Promise<tfl.LayersModel> {
  const json = files.modelJson as { modelTopology?: object; weightsManifest?: { weights: tf.io.WeightsManifestEntry[] }[] };
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new Error(`${where}: not a tfjs layers model.json`);
  checkHeadJson(json, where);
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const expected = weightSpecs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (files.weights.byteLength !== expected) {
    throw new Error(`${where}: ${HEAD_WEIGHTS_FILE} is ${files.weights.byteLength} bytes, model.json needs ${expected} (truncated or from another model)`);
  }
  const weights = files.weights;
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
  } catch (err) {
    throw new Error(`${where}: the head does not load (${(err as Error).message.split('\n')[0]})`);
  }
}
