// The work TensorFlow.js does around our backbone when a recognizer is trained: one head
// training step (batch 16 of 1024-d descriptors, 5 classes: the default head and RMSprop),
// and BlazeFace face detection (a batch of 16 images). Each is timed on tfjs' own WebGPU
// kernels, then again after `accelerateTfjs` has put ours in their place (src/tfjs/), on one
// device in one process: the last section of `npm run bench` (bench/README.md).
//
// Order matters: accelerating a backend cannot be undone, so tfjs' own kernels are measured
// first. Times are wall time until the call's result is on the CPU (the loss a training loop
// reads, the boxes detection returns), median of the repeats; inputs are seeded.
import * as tf from '@tensorflow/tfjs-core';
import type { Gpu } from '../src/gpu/device.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { buildHead, categoricalCrossentropy } from '../src/train/head.ts';
import { headRmsprop } from '../src/tfjs/rmsprop.ts';
import { acceleratedGpu } from '../src/tfjs/kernels.ts';
import { loadBlazeFace } from '../src/detect/node.ts';
import type { RgbImage } from '../src/image/rgb.ts';
import { randomFloats, randomPixels } from './data.ts';
import { repeat, stats, type Stats } from './timing.ts';

export interface TrainingWorkRow {
  name: string;
  unit: string;
  tfjs: Stats;
  ours: Stats;
  /** tfjs median / ours median. */
  speedup: number;
  /** How far apart the two sides' results are (loss after the steps; box coordinates, NaN without boxes). */
  maxDiff: number;
  /** Our dispatches per measured call, a step or a detection run (0 would mean our kernels did not run). */
  ourDispatches: number;
}

export interface TrainingWorkOptions {
  warmup: number;
  repeats: number;
  log?: (line: string) => void;
}

const STEP_BATCH = 16;
const CLASSES = 5;
const DETECT_BATCH = 16;
const DETECT_SIZE = 320; // a photo is decoded to this size before detection; any size works

interface Side {
  /** ms per training step. */
  step: number[];
  /** Loss after the timed steps (same seeds: both sides must agree). */
  loss: number;
  /** ms per image. */
  detect: number[];
  boxes: number[];
  /** Our dispatches per training step and per detection run. */
  dispatchesPerStep: number;
  dispatchesPerDetect: number;
}

/** Time both pieces of work; `dispatches` reads our bridge's dispatch count (0 on tfjs' side). */
async function measureSide(opts: TrainingWorkOptions, dispatches: () => number): Promise<Side> {
  const calls = opts.warmup + opts.repeats;
  const descriptors = tf.tensor2d(randomFloats(STEP_BATCH * 1024, 5, 0, 1), [STEP_BATCH, 1024]);
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: STEP_BATCH }, (_, i) => i % CLASSES), 'int32'), CLASSES) as tf.Tensor2D;
  const head = buildHead(1024, CLASSES, 1);
  const optimizer = headRmsprop(0.001, 0.9, 1e-7);
  const variables = head.trainableWeights.map((w) => w.read() as tf.Variable);
  let loss = NaN;
  const step = async () => {
    const t0 = performance.now();
    const l = optimizer.minimize(() => tf.mean(categoricalCrossentropy(head.apply(descriptors, { training: true }) as tf.Tensor2D, labels)) as tf.Scalar, true, variables)!;
    loss = (await l.data())[0]; // one scalar: the step's end, as a training loop sees it
    l.dispose();
    return performance.now() - t0;
  };
  let before = dispatches();
  const stepTimes = await repeat(opts.warmup, opts.repeats, step);
  const dispatchesPerStep = (dispatches() - before) / calls;

  const detector = await loadBlazeFace();
  const images: RgbImage[] = Array.from({ length: DETECT_BATCH }, (_, i) => ({ width: DETECT_SIZE, height: DETECT_SIZE, data: randomPixels(DETECT_SIZE * DETECT_SIZE * 3, 100 + i) }));
  let boxes: number[] = [];
  const detect = async () => {
    const t0 = performance.now();
    const found = await detector.detectMany(images);
    boxes = found.flatMap((faces) => faces.flatMap((f) => [f.x, f.y, f.width, f.height, f.score]));
    return (performance.now() - t0) / DETECT_BATCH;
  };
  before = dispatches();
  const detectTimes = await repeat(opts.warmup, opts.repeats, detect);
  const dispatchesPerDetect = (dispatches() - before) / calls;
  optimizer.dispose();
  head.dispose();
  tf.dispose([descriptors, labels]);
  return { step: stepTimes, loss, detect: detectTimes, boxes, dispatchesPerStep, dispatchesPerDetect };
}

export async function measureTrainingWork(gpu: Gpu, opts: TrainingWorkOptions): Promise<TrainingWorkRow[]> {
  const log = opts.log ?? (() => {});
  const backend = await useGpuForTfjs(gpu);
  if (acceleratedGpu(backend)) throw new Error('tfjs already runs our kernels in this process: measure tfjs\' own first');
  log("training work: tfjs' own kernels");
  const theirs = await measureSide(opts, () => 0);
  await useGpuForTfjs(gpu, loadShaders());
  const bridge = acceleratedGpu(backend)!;
  log('training work: our kernels');
  const ours = await measureSide(opts, () => bridge.dispatches);
  if (!ours.dispatchesPerStep || !ours.dispatchesPerDetect) throw new Error('training work: our kernels did not run on the accelerated side');
  // Seeded noise holds no faces, so usually there are no boxes to compare (NaN): detection on
  // real photos is compared in test/tfjs-kernels.test.ts.
  const boxDiff =
    theirs.boxes.length !== ours.boxes.length ? Infinity : theirs.boxes.length ? Math.max(...theirs.boxes.map((v, i) => Math.abs(v - ours.boxes[i]))) : NaN;
  const row = (name: string, unit: string, a: number[], b: number[], maxDiff: number, ourDispatches: number): TrainingWorkRow => {
    const [t, o] = [stats(a), stats(b)];
    return { name, unit, tfjs: t, ours: o, speedup: t.median / o.median, maxDiff, ourDispatches };
  };
  return [
    row(`head training step (batch ${STEP_BATCH}, 1024 -> 1024 -> 1024 -> 512 -> ${CLASSES})`, 'ms/step', theirs.step, ours.step, Math.abs(theirs.loss - ours.loss), ours.dispatchesPerStep),
    row(`BlazeFace detection (batch ${DETECT_BATCH}, ${DETECT_SIZE}x${DETECT_SIZE})`, 'ms/image', theirs.detect, ours.detect, boxDiff, ours.dispatchesPerDetect),
  ];
}

export function trainingWorkLines(rows: readonly TrainingWorkRow[]): string[] {
  return [
    "| work | tfjs' kernels | ours | speedup | max diff |",
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.tfjs.median.toFixed(1)} ${r.unit} (±${(r.tfjs.spread * 100).toFixed(0)}%) | ${r.ours.median.toFixed(1)} ${r.unit} (±${(r.ours.spread * 100).toFixed(0)}%) | **${r.speedup.toFixed(2)}x** | ${Number.isNaN(r.maxDiff) ? '—' : r.maxDiff.toExponential(1)} |`),
  ];
}

