// The classifier head trained on the backbone's descriptors, as the original notebook built
// it: (global average pool, already the engine's output) -> Dense 1024 relu -> Dense 1024 relu
// -> Dense 512 relu -> Dense N softmax, behind a fixed scale (a Rescaling layer, no weights)
// that brings any backbone's descriptors to the magnitude the recipe's RMSprop rate suits
// (descriptor-scale.ts). The scale is part of the head's own files, so everything that runs
// the head (training, predict, eval, the library, the page) applies it without being told.
// Browser-safe: tfjs only.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from './prng.ts';

export const HIDDEN_UNITS = [1024, 1024, 512] as const;
/** Name of the head's first layer when it scales the descriptors (heads from before have none). */
export const SCALE_LAYER = 'descriptor_scale';

/**
 * A fresh head for `inputDim`-d descriptors and `classes` classes. Every kernel is drawn
 * from its own stream of `seed` (Glorot uniform, Keras' default), biases start at zero, and
 * layer names are fixed, so the same seed gives the same model.json and the same weights.
 * `inputScale`: descriptors are multiplied by it first (a `descriptor_scale` Rescaling layer);
 * omitted, the head takes them as they are (as heads did before the scale existed).
 */
export function buildHead(inputDim: number, classes: number, seed: number, inputScale?: number): tfl.Sequential {
  const model = tfl.sequential({ name: 'facegpu_head' });
  if (inputScale !== undefined) {
    if (!(inputScale > 0) || !Number.isFinite(inputScale)) throw new Error(`inputScale must be a positive number, got ${inputScale}`);
    model.add(tfl.layers.rescaling({ name: SCALE_LAYER, scale: inputScale, offset: 0, inputShape: [inputDim] }));
  }
  HIDDEN_UNITS.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        name: `dense_${i + 1}`,
        units,
        activation: 'relu',
        ...(i === 0 && inputScale === undefined ? { inputShape: [inputDim] } : {}),
        kernelInitializer: tfl.initializers.glorotUniform({ seed: deriveSeed(seed, 'kernel', i) }),
        biasInitializer: 'zeros',
      }),
    );
  });
  model.add(
    tfl.layers.dense({
      name: 'predictions',
      units: classes,
      activation: 'softmax',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: deriveSeed(seed, 'kernel', HIDDEN_UNITS.length) }),
      biasInitializer: 'zeros',
    }),
  );
  return model;
}

/** Keras' categorical cross-entropy on softmax outputs (probabilities clipped to [eps, 1 - eps]), per example. */
export function categoricalCrossentropy(probs: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const eps = 1e-7;
    const p = tf.clipByValue(probs, eps, 1 - eps);
    return tf.neg(tf.sum(tf.mul(oneHot, tf.log(p)), -1)) as tf.Tensor1D;
  });
}

/** How many rows' argmax agrees with the labels' (a scalar, left on the GPU). */
export function correctCount(probs: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'float32')) as tf.Scalar);
}

/** The scale a loaded head applies to its input: its `descriptor_scale` layer's, or 1 (heads from before the scale). */
export function headInputScale(model: tfl.LayersModel, where = 'the head'): number {
  const first = model.layers[0];
  if (first?.name !== SCALE_LAYER) return 1;
  const c = first.getConfig() as { scale?: unknown; offset?: unknown };
  if (typeof c.scale !== 'number' || (c.offset !== undefined && c.offset !== 0)) throw new Error(`${where}: the head's ${SCALE_LAYER} layer has scale ${JSON.stringify(c.scale)}, offset ${JSON.stringify(c.offset)}`);
  return c.scale;
}
