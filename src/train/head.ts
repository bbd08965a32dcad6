// The classifier head trained on the backbone's descriptors, as the original notebook built
// it: (global average pool, already the engine's output) -> Dense 1024 relu -> Dense 1024 relu
// -> Dense 512 relu -> Dense N softmax. Browser-safe: tfjs only.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from './prng.ts';

export const HIDDEN_UNITS = [1024, 1024, 512] as const;

/**
 * A fresh head for `inputDim`-d descriptors and `classes` classes. Every kernel is drawn
 * from its own stream of `seed` (Glorot uniform, Keras' default), biases start at zero, and
 * layer names are fixed, so the same seed gives the same model.json and the same weights.
 */
export function buildHead(inputDim: number, classes: number, seed: number): tfl.Sequential {
  const model = tfl.sequential({ name: 'facegpu_head' });
  HIDDEN_UNITS.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        name: `dense_${i + 1}`,
        units,
        activation: 'relu',
        ...(i === 0 ? { inputShape: [inputDim] } : {}),
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
