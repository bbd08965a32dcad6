// A trained face model in the browser: the tfjs head plus what it needs to be used again
// (the people's names, in label order, and which backbone made its descriptors), kept in the
// head's model.json as tfjs "user-defined metadata". Saved with tfjs' own IO handlers:
// IndexedDB ("indexeddb://") for this browser, a download (model.json + weights.bin) to move
// it elsewhere; loaded back from either.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BackboneManifest } from '../weights/format.ts';

export const MODEL_FORMAT = 'facegpu-head';
export const MODEL_VERSION = 1;
const IDB_PREFIX = 'indexeddb://facegpu-model/';

export interface FaceModelMeta {
  format: typeof MODEL_FORMAT;
  version: number;
  /** Class names, index = the head's output unit. */
  labels: string[];
  /** The backbone whose descriptors the head was trained on. */
  backbone: { id: string; weightsSha256: string; outputDim: number };
  trainedAt: string;
}

export interface FaceModel {
  head: tfl.LayersModel;
  meta: FaceModelMeta;
}

export function makeFaceModel(head: tfl.LayersModel, labels: readonly string[], backbone: BackboneManifest): FaceModel {
  const meta: FaceModelMeta = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    labels: [...labels],
    backbone: { id: backbone.id, weightsSha256: backbone.weightsSha256, outputDim: backbone.outputDim },
    trainedAt: new Date().toISOString(),
  };
  return { head, meta };
}

/** Probabilities [n, labels] of n descriptors ([n, outputDim], row-major). */
export async function predictProbabilities(model: FaceModel, descriptors: Float32Array, n = 1): Promise<Float32Array> {
  const dim = model.meta.backbone.outputDim;
  if (descriptors.length !== n * dim) throw new Error(`expected ${n} descriptors of ${dim} values, got ${descriptors.length} values`);
  const probs = tf.tidy(() => model.head.predict(tf.tensor2d(descriptors, [n, dim])) as tf.Tensor2D);
  try {
    return (await probs.data()) as Float32Array;
  } finally {
    probs.dispose();
  }
}

function withMeta<T>(model: FaceModel, fn: () => Promise<T>): Promise<T> {
  model.head.setUserDefinedMetadata({ facegpu: model.meta });
  return fn();
}

/** Save in this browser's IndexedDB under `name`. */
export async function saveToBrowser(model: FaceModel, name = 'default'): Promise<void> {
  await withMeta(model, () => model.head.save(`${IDB_PREFIX}${encodeURIComponent(name)}`));
}

/** Offer the model as a download: `<name>.json` and `<name>.weights.bin`. */
export async function downloadModel(model: FaceModel, name = 'facegpu-model'): Promise<void> {
  await withMeta(model, () => model.head.save(`downloads://${name}`));
}

/** Names of the models saved in this browser. */
export async function listSavedModels(): Promise<string[]> {
  const all = await tf.io.listModels();
  return Object.keys(all)
    .filter((k) => k.startsWith(IDB_PREFIX))
    .map((k) => decodeURIComponent(k.slice(IDB_PREFIX.length)));
}

export async function removeSavedModel(name: string): Promise<void> {
  await tf.io.removeModel(`${IDB_PREFIX}${encodeURIComponent(name)}`);
}

/** Load a model saved with saveToBrowser. */
export async function loadFromBrowser(name = 'default'): Promise<FaceModel> {
  const url = `${IDB_PREFIX}${encodeURIComponent(name)}`;
  let head: tfl.LayersModel;
  try {
    head = await tfl.loadLayersModel(url);
  } catch (err) {
    throw new Error(`no model called "${name}" is saved in this browser (${(err as Error).message})`);
  }
  return { head, meta: readMeta(head, `saved model "${name}"`) };
}

/** Load a downloaded model from the files the visitor picked (its .json and its .bin). */
export async function loadFromFiles(files: readonly File[]): Promise<FaceModel> {
  const json = files.find((f) => f.name.endsWith('.json'));
  const bins = files.filter((f) => f.name.endsWith('.bin'));
  if (!json || bins.length === 0) {
    throw new Error(`pick both files of a saved model: the .json and its .weights.bin (got ${files.map((f) => f.name).join(', ') || 'nothing'})`);
  }
  let head: tfl.LayersModel;
  try {
    head = await tfl.loadLayersModel(tf.io.browserFiles([json, ...bins]));
  } catch (err) {
    throw new Error(`${json.name}: not a model this page can load (${(err as Error).message})`);
  }
  return { head, meta: readMeta(head, json.name) };
}

function readMeta(head: tfl.LayersModel, where: string): FaceModelMeta {
  const meta = (head.getUserDefinedMetadata() as { facegpu?: FaceModelMeta } | undefined)?.facegpu;
  if (!meta || meta.format !== MODEL_FORMAT) throw new Error(`${where}: a tfjs model, but not a facegpu face model (no facegpu metadata)`);
  if (meta.version !== MODEL_VERSION) throw new Error(`${where}: facegpu model version ${meta.version}, this page reads ${MODEL_VERSION}`);
  const units = (head.outputs[0].shape as number[])[1];
  if (!Array.isArray(meta.labels) || meta.labels.length !== units) {
    throw new Error(`${where}: ${meta.labels?.length ?? 0} labels for a head with ${units} outputs`);
  }
  return meta;
}

/** Throw if `model` was trained on another backbone's descriptors than `backbone`'s. */
export function checkModelBackbone(model: FaceModel, backbone: BackboneManifest): void {
  const b = model.meta.backbone;
  if (b.id !== backbone.id || b.outputDim !== backbone.outputDim || b.weightsSha256 !== backbone.weightsSha256) {
    throw new Error(`this model was trained on backbone "${b.id}" (${b.outputDim}-d, sha256 ${b.weightsSha256.slice(0, 12)}…), the page runs "${backbone.id}" (${backbone.outputDim}-d, sha256 ${backbone.weightsSha256.slice(0, 12)}…); train again`);
  }
}
