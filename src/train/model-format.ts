// What a trained face model is, independent of where it is stored: the head in tfjs layers
// format (model.json + weights.bin) and facegpu.json (labels, backbone identity,
// preprocessing, split, config, metrics). Browser-safe: the Node store (model-dir-node.ts)
// and a browser store both go through these functions.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BackboneManifest } from '../weights/format.ts';
import { checkCropRecord, type CropRecord } from '../detect/face-crop.ts';
import type { AugmentRecipe } from './augment.ts';
import type { EpochLog, FitConfig } from './fit.ts';
import type { SkippedFile } from './extract.ts';

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
  backbone: { id: string; weightsSha256: string; outputDim: number; inputSize: number };
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
  head: { file: string; hidden: number[]; activation: string; output: string; optimizer: string; loss: string };
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

/** Refuse a model trained on another backbone: its head would read meaningless descriptors. */
export function checkBackbone(meta: FaceModelMeta, m: BackboneManifest, where: string): void {
  const b = meta.backbone;
  if (b.id !== m.id || b.weightsSha256 !== m.weightsSha256) {
    throw new Error(
      `${where}: this model was trained on backbone "${b.id}" (weights sha256 ${b.weightsSha256.slice(0, 12)}…), ` +
        `but the backbone in use is "${m.id}" (sha256 ${m.weightsSha256.slice(0, 12)}…); ` +
        `use --backbone ${b.id} with the same weights, or train again`,
    );
  }
}

export function validateMeta(m: any, where: string): asserts m is FaceModelMeta {
  if (!m || m.format !== MODEL_FORMAT) throw new Error(`${where}: not a facegpu model (format "${m?.format}")`);
  if (m.version !== MODEL_VERSION) throw new Error(`${where}: model format version ${m.version}, this facegpu reads ${MODEL_VERSION}`);
  if (!Array.isArray(m.labels) || m.labels.length < 2 || !m.labels.every((l: unknown) => typeof l === 'string')) {
    throw new Error(`${where}: "labels" must list at least two class names`);
  }
  if (!m.backbone || typeof m.backbone.id !== 'string' || typeof m.backbone.weightsSha256 !== 'string') {
    throw new Error(`${where}: "backbone" must give the backbone's id and weightsSha256`);
  }
  if (!m.preprocessing || typeof m.preprocessing !== 'object') throw new Error(`${where}: "preprocessing" is missing`);
  // Models written before the face crop existed fed whole images.
  m.preprocessing.crop ??= { method: 'none' };
  checkCropRecord(m.preprocessing.crop, where);
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
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const expected = weightSpecs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (files.weights.byteLength !== expected) {
    throw new Error(`${where}: ${HEAD_WEIGHTS_FILE} is ${files.weights.byteLength} bytes, model.json needs ${expected} (truncated or from another model)`);
  }
  const weights = files.weights;
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
}
