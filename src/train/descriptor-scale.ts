// The scale in front of the head. The recipe's fixed training settings (RMSprop, rate 1e-3)
// were set on descriptors of the face backbone's size; RMSprop moves every weight by about
// the rate whatever the gradient, so the first layer's outputs move in proportion to the
// descriptors' magnitude, and descriptors 3-5x larger (the ImageNet backbone's) make the head
// jump past the minimum and saturate (src/train/README.md, measured). So every training set's
// descriptors are scaled to one mean L2 norm, measured on the set itself (any backbone, any
// kind of picture, no reference photos needed); the scale is saved inside the head
// (head.ts: a Rescaling layer) and in facegpu.json, so prediction applies the same number.
// Browser-safe: tfjs only.
import * as tf from '@tensorflow/tfjs-core';

/**
 * The mean L2 norm the head's input is brought to: between the face backbone's own sizes
 * (measured: 5.9 on whole 5-celebrity-faces photos, 12.4-13.6 on face crops and ORL's
 * portraits; the ImageNet backbone's 26-31; src/train/README.md), on which the recipe's rate
 * was measured to train well, so face models train as before (their accuracy unchanged).
 */
export const TARGET_NORM = 8;

/** What facegpu.json records of the scale (`head.inputScale`). */
export interface InputScaleRecord {
  /** Descriptors are multiplied by this before the first Dense layer. */
  scale: number;
  /** Mean L2 norm of the training descriptors it was measured on. */
  meanNorm: number;
  targetNorm: number;
}

/** The scale bringing the rows of `x` ([n, dim], on the GPU) to TARGET_NORM on average (one scalar read back). */
export async function measureInputScale(x: tf.Tensor2D): Promise<InputScaleRecord> {
  const meanT = tf.tidy(() => tf.mean(tf.sqrt(tf.sum(tf.square(x), 1))));
  const meanNorm = (await meanT.data())[0];
  meanT.dispose();
  // All-zero descriptors (a degenerate set) have nothing to scale: keep them as they are.
  const scale = meanNorm > 0 && Number.isFinite(meanNorm) ? TARGET_NORM / meanNorm : 1;
  return { scale, meanNorm, targetNorm: TARGET_NORM };
}
