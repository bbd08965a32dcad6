// The head's training loop: seeded batch order, RMSprop, Keras-style per-epoch metrics,
// early stopping on val_loss with the best weights restored. Written out rather than
// model.fit() because tfjs' fit shuffles with Math.random (not reproducible) and its
// EarlyStopping cannot restore the best weights. Metrics are summed on the GPU and read
// back once an epoch. Browser-safe: tfjs only.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { categoricalCrossentropy, correctCount } from './head.ts';
import { deriveSeed, Prng } from './prng.ts';
import { headRmsprop } from '../tfjs/rmsprop.ts';

export interface FitConfig {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Epochs without a better val_loss before stopping. */
  patience: number;
}

export const DEFAULT_FIT: FitConfig = Object.freeze({ epochs: 30, batchSize: 16, learningRate: 0.001, seed: 1, patience: 3 });

/** Descriptors [n, dim] and their class indices [n] (int32), both on the GPU. */
export interface LabeledTensors {
  x: tf.Tensor2D;
  labels: tf.Tensor1D;
}

export interface EpochLog {
  /** 1-based. */
  epoch: number;
  loss: number;
  accuracy: number;
  /** null when there is no validation set (then early stopping watches the training loss). */
  valLoss: number | null;
  valAccuracy: number | null;
  /** The monitored loss is the best so far: these weights are the ones kept. */
  improved: boolean;
}

export interface FitResult {
  history: EpochLog[];
  best: EpochLog;
  stoppedEarly: boolean;
  /** Stopped by the caller's `signal` before the last epoch (the best weights restored all the same). */
  interrupted: boolean;
}

export interface FitCallbacks {
  /** Called after onBest: a checkpoint of an improving epoch is under way when its line is told. */
  onEpoch?: (log: EpochLog, config: FitConfig) => void;
  /** Called after an improving epoch while the model holds its weights (checkpointing); `history` ends with `log`. */
  onBest?: (log: EpochLog, history: readonly EpochLog[]) => Promise<void> | void;
  /** Aborted: training ends after the epoch under way (and its onBest). At least one epoch runs. */
  signal?: AbortSignal;
}

export function checkFitConfig(c: FitConfig): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('epochs', c.epochs);
  positiveInt('batchSize', c.batchSize);
  positiveInt('patience', c.patience);
  if (!(c.learningRate > 0) || !Number.isFinite(c.learningRate)) throw new Error(`learningRate must be a positive number, got ${c.learningRate}`);
  if (!Number.isInteger(c.seed) || c.seed < 0) throw new Error(`seed must be a non-negative integer, got ${c.seed}`);
}

/** Loss and accuracy of the model on a whole set, one forward pass. */
export async function evaluateSet(model: tfl.LayersModel, set: LabeledTensors, classes: number): Promise<{ loss: number; accuracy: number }> {
  const [lossT, correctT] = tf.tidy(() => {
    const probs = model.apply(set.x) as tf.Tensor2D;
    return [tf.mean(categoricalCrossentropy(probs, tf.oneHot(set.labels, classes) as tf.Tensor2D)), correctCount(probs, set.labels)];
  });
  const [loss, correct] = await Promise.all([lossT.data(), correctT.data()]);
  lossT.dispose();
  correctT.dispose();
  return { loss: loss[0], accuracy: correct[0] / set.labels.shape[0] };
}

export async function fitHead(
  model: tfl.LayersModel,
  classes: number,
  train: LabeledTensors,
  validation: LabeledTensors | null,
  config: FitConfig,
  callbacks: FitCallbacks = {},
): Promise<FitResult> {
  checkFitConfig(config);
  const n = train.labels.shape[0];
  if (n === 0) throw new Error('no training examples');
  const optimizer = headRmsprop(config.learningRate, 0.9, 1e-7); // Keras' RMSprop defaults
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const history: EpochLog[] = [];
  let best: EpochLog | null = null;
  let bestWeights: tf.Tensor[] | null = null;
  let sinceBest = 0;
  let stoppedEarly = false;
  let interrupted = false;
  try {
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      const order = new Prng(deriveSeed(config.seed, 'epoch', epoch)).permutation(n);
      let lossSum: tf.Scalar = tf.scalar(0);
      let correctSum: tf.Scalar = tf.scalar(0);
      for (let at = 0; at < n; at += config.batchSize) {
        const idx = order.slice(at, at + config.batchSize);
        const batch = tf.tidy(() => {
          const rows = tf.tensor1d(idx, 'int32');
          const labels = tf.gather(train.labels, rows) as tf.Tensor1D;
          return { x: tf.gather(train.x, rows) as tf.Tensor2D, labels, oneHot: tf.oneHot(labels, classes) as tf.Tensor2D };
        });
        let correct: tf.Scalar | null = null;
        const loss = optimizer.minimize(() => {
          const probs = model.apply(batch.x, { training: true }) as tf.Tensor2D;
          correct = tf.keep(correctCount(probs, batch.labels));
          return tf.mean(categoricalCrossentropy(probs, batch.oneHot)) as tf.Scalar;
        }, true, variables)!;
        const [l, c] = [lossSum, correctSum];
        lossSum = tf.tidy(() => tf.add(l, tf.mul(loss, idx.length)));
        correctSum = tf.tidy(() => tf.add(c, correct!));
        tf.dispose([l, c, loss, correct!, batch.x, batch.labels, batch.oneHot]);
      }
      const [lossData, correctData] = await Promise.all([lossSum.data(), correctSum.data()]);
      tf.dispose([lossSum, correctSum]);
      const val = validation && validation.labels.shape[0] > 0 ? await evaluateSet(model, validation, classes) : null;
      const log: EpochLog = {
        epoch,
        loss: lossData[0] / n,
        accuracy: correctData[0] / n,
        valLoss: val?.loss ?? null,
        valAccuracy: val?.accuracy ?? null,
        improved: false,
      };
      const monitored = log.valLoss ?? log.loss;
      const bestSoFar = best ? (best.valLoss ?? best.loss) : Infinity;
      if (monitored < bestSoFar) {
        log.improved = true;
        best = log;
        sinceBest = 0;
        tf.dispose(bestWeights ?? []);
        // Variables are replaced, not written in place, by each update: a clone keeps these values.
        bestWeights = model.getWeights().map((w) => tf.keep(tf.clone(w)));
      } else sinceBest++;
      history.push(log);
      // The checkpoint first: an epoch told as done has its checkpoint under way, so a caller
      // that stops on a signal and waits for the writes keeps every epoch it has shown.
      if (log.improved) await callbacks.onBest?.(log, history);
      callbacks.onEpoch?.(log, config);
      if (sinceBest >= config.patience && epoch < config.epochs) {
        stoppedEarly = true;
        break;
      }
      if (callbacks.signal?.aborted && epoch < config.epochs) {
        interrupted = true;
        break;
      }
    }
    if (bestWeights && history[history.length - 1] !== best) model.setWeights(bestWeights);
    return { history, best: best ?? history[history.length - 1], stoppedEarly, interrupted };
  } finally {
    tf.dispose(bestWeights ?? []);
    optimizer.dispose();
  }
}

/** The per-epoch line: `epoch 3/30  loss 0.1234  acc 0.9500  val_loss 0.2345  val_acc 0.9200`. */
export function formatEpoch(log: EpochLog, epochs: number): string {
  let line = `epoch ${log.epoch}/${epochs}  loss ${log.loss.toFixed(4)}  acc ${log.accuracy.toFixed(4)}`;
  if (log.valLoss !== null) line += `  val_loss ${log.valLoss.toFixed(4)}  val_acc ${log.valAccuracy!.toFixed(4)}`;
  return line;
}
