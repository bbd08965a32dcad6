// Training a face model in the browser: the head and training loop of src/train (the same
// code the Node CLI runs), on tfjs-webgpu bound to the engine's own GPUDevice, fed with
// descriptors the engine already computed.
import * as tf from '@tensorflow/tfjs-core';
import type { Gpu } from '../gpu/device.ts';
import { DEFAULT_FIT, fitHead, type EpochLog, type FitConfig, type FitResult, type LabeledTensors } from '../train/fit.ts';
import { buildHead } from '../train/head.ts';
import { stratifiedSplit } from '../train/split.ts';
import { useGpuForTfjs } from '../train/tf-backend.ts';
import type { BackboneManifest } from '../weights/format.ts';
import { makeFaceModel, type FaceModel } from './face-model.ts';

export interface Example {
  /** outputDim values from engine.embed. */
  descriptor: Float32Array;
  /** The person's name. */
  label: string;
}

export interface TrainOptions extends Partial<FitConfig> {
  /** Fraction of each person's photos held back for validation and early stopping (default 0.2). */
  validationSplit?: number;
  onEpoch?: (log: EpochLog, config: FitConfig) => void;
}

export async function trainFaceModel(
  gpu: Gpu,
  backbone: BackboneManifest,
  examples: readonly Example[],
  opts: TrainOptions = {},
): Promise<{ model: FaceModel; result: FitResult; trainCount: number; validationCount: number }> {
  const dim = backbone.outputDim;
  for (const [i, e] of examples.entries()) {
    if (e.descriptor.length !== dim) throw new Error(`example ${i} (${e.label}) has ${e.descriptor.length} values, the backbone gives ${dim}`);
  }
  const byLabel = new Map<string, string[]>();
  // Keys sort in example order, so the split depends only on the seed and the order photos were added.
  examples.forEach((e, i) => byLabel.set(e.label, [...(byLabel.get(e.label) ?? []), String(i).padStart(8, '0')]));
  if (byLabel.size < 2) throw new Error(`training needs photos of at least two people, got ${byLabel.size}`);
  const { validationSplit = 0.2, onEpoch, ...fit } = opts;
  const config: FitConfig = { ...DEFAULT_FIT, ...definedOnly(fit) };
  const split = stratifiedSplit(byLabel, validationSplit, config.seed);
  const classes = [...byLabel.keys()].sort();

  await useGpuForTfjs(gpu);
  const tensors = (rows: { file: string; label: number }[]): LabeledTensors => {
    const x = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => x.set(examples[Number(r.file)].descriptor, i * dim));
    return { x: tf.tensor2d(x, [rows.length, dim]), labels: tf.tensor1d(rows.map((r) => r.label), 'int32') };
  };
  const train = tensors(split.train);
  const validation = split.validation.length ? tensors(split.validation) : null;
  const head = buildHead(dim, classes.length, config.seed);
  try {
    const result = await fitHead(head, classes.length, train, validation, config, { onEpoch });
    return { model: makeFaceModel(head, classes, backbone), result, trainCount: split.train.length, validationCount: split.validation.length };
  } catch (err) {
    head.dispose();
    throw err;
  } finally {
    tf.dispose([train.x, train.labels, ...(validation ? [validation.x, validation.labels] : [])]);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
