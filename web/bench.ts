// The page's benchmark: the backbone layer by layer, our WGSL kernels (the engine's prepared
// ops) against the same layers in tfjs-webgpu (fused conv2d / depthwiseConv2d with bias and
// activation, as tfjs would run this model, on the backbone's real weights), on the same
// GPUDevice; then the whole network both ways (and, optionally, in ONNX Runtime Web's WebGPU
// EP: ort-column.ts), each side's descriptors checked against ours by cosine.
//
// tfjs here is tfjs' own kernels. The page's tfjs backend is accelerated (our kernels stand in
// for its convolutions, for training and detection), so the benchmark suspends that while it
// runs (withoutAcceleration). Before, the "tfjs" column ran our kernels in command buffers of
// their own, outside tf.time()'s timed passes: every tfjs layer read 0.00 ms and the whole
// network was mostly ours.
//
// Per-layer clocks (result.clock, said in the page):
// - 'gpu': timestamp queries, each layer in a timed compute pass of its own; tfjs measured by
//   tf.time(), which times each of its programs the same way. Used where the device has
//   'timestamp-query' (SwiftShader in Chromium does).
// - 'wall': each layer alone, from encoding to queue.onSubmittedWorkDone(); for adapters
//   without timestamps, or chosen in the page. Includes each side's CPU work (tfjs' program
//   lookup, bind groups, uniforms), so small layers read higher than GPU time.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu'; // registers the WebGPU kernels
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { Gpu, MobileNetEngine } from '../src/browser/index.ts';
import type { Backbone } from '../src/weights/format.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { acceleratedGpu, withoutAcceleration } from '../src/tfjs/accelerated.ts';
import { unpackBackbone } from '../src/weights/unpack.ts';
import { minCosine } from '../bench/cosine.ts';
import { hasTimestamps, PassTimer, repeat, stats, wallToDone } from '../bench/timing.ts';
import type { OrtColumn } from './ort-column.ts';

export interface BenchLayerRow {
  label: string;
  kind: string;
  /** Median ms per run of this layer, batch included; 0 for a depthwise that runs inside the next layer's kernel (fusedInto). */
  ours: number;
  tfjs: number;
  /** Our kernel for this layer, as the runner names it (shader + constants): the engine's choice at this batch size. */
  kernel: string;
  /** A depthwise layer fused with the next (one kernel for both, a tuned choice): the next layer's label; its row times the pair. */
  fusedInto?: string;
}

export type ClockChoice = 'auto' | 'wall';

export interface BenchOptions {
  batch: number;
  runs: number;
  /** 'auto': GPU timestamps where the device has them, else wall clock. */
  clock: ClockChoice;
  /** The whole network in ONNX Runtime Web's WebGPU EP too (slow to set up on CPU adapters). */
  ort: boolean;
}

export interface BenchResult {
  batch: number;
  runs: number;
  /** How the per-layer rows were timed: 'gpu' = timestamp queries, 'wall' = each layer alone to queue idle. */
  clock: 'gpu' | 'wall';
  /** Why that clock, in words for the page. */
  clockNote: string;
  layers: BenchLayerRow[];
  /** Whole network, pixels in to descriptors read back, ms per batch (median); ortWebgpu null when not run. */
  network: { ours: number; tfjs: number; ortWebgpu: number | null };
  /** Lowest per-image cosine of each side's descriptors to ours (same pixels). */
  cosine: { tfjs: number; ortWebgpu: number | null };
  /** Our kernels dispatched while tfjs was measured (must be 0: tfjs ran its own). */
  oursDuringTfjs: number;
  /** ONNX Runtime's session creation (compiles its shaders) and first run, seconds; null when not run. */
  ortSetupSeconds: number | null;
  /**
   * Where our kernels came from: a tuning (measured on this adapter, `tunedBatch` the tuned
   * batch size serving this batch) or the hand-picked rules; `where` is the saved tuning's
   * place (IndexedDB ...), filled in by the panel.
   */
  kernels: { source: 'tuned' | 'hand-picked'; tunedBatch: number | null; where: string | null };
}

type Act = 'linear' | 'relu' | 'relu6';
const activation = (a: string): Act => (a === 'none' ? 'linear' : (a as Act));

/** The tfjs version of each layer, on the backbone's real weights (unpacked to TensorFlow layouts). */
function tfjsLayers(engine: MobileNetEngine, backbone: Backbone, n: number) {
  const shapes = engine.layerShapes(n);
  const weights = unpackBackbone(backbone);
  return engine.manifest.layers.map((l, i) => {
    const { in: s, out } = shapes[i];
    const w = weights[i];
    const filterShape: [number, number, number, number] = l.kind === 'depthwise' ? [3, 3, s.c, 1] : l.kind === 'stem' ? [3, 3, s.c, out.c] : [1, 1, s.c, out.c];
    const filter = tf.tensor4d(w.kernel, filterShape);
    const bias = tf.tensor1d(w.bias);
    const act = activation(l.activation);
    const strides: [number, number] = [l.stride, l.stride];
    const run = (x: tf.Tensor4D): tf.Tensor4D =>
      l.kind === 'depthwise'
        ? tf.fused.depthwiseConv2d({ x, filter, strides, pad: 'same', bias, activation: act })
        : tf.fused.conv2d({ x, filter, strides, pad: 'same', bias, activation: act });
    return { name: l.name, kind: l.kind, inShape: [s.n, s.h, s.w, s.c] as [number, number, number, number], run, dispose: () => tf.dispose([filter, bias]) };
  });
}

/** Deterministic test pixels (speed does not depend on them; the cosine checks do not either). */
export function benchPixels(n: number, size: number): Uint8Array {
  return new Uint8Array(n * size * size * 3).map((_, i) => (i * 2654435761) >>> 24);
}

/** Which per-layer clock to use, and why. */
function chooseClock(device: GPUDevice, choice: ClockChoice): { clock: 'gpu' | 'wall'; note: string } {
  if (choice === 'wall') return { clock: 'wall', note: 'wall clock, each layer alone to queue idle (chosen)' };
  if (hasTimestamps(device)) return { clock: 'gpu', note: 'GPU timestamps, each layer in its own timed pass' };
  return { clock: 'wall', note: "wall clock, each layer alone to queue idle (this adapter has no 'timestamp-query')" };
}

export async function runBenchmark(
  gpu: Gpu,
  engine: MobileNetEngine,
  backbone: Backbone,
  opts: BenchOptions,
  progress: (text: string, fraction: number) => void,
  ortColumn?: () => Promise<OrtColumn>,
): Promise<BenchResult> {
  const { batch: n, runs } = opts;
  const backend = (await useGpuForTfjs(gpu)) as WebGPUBackend;
  const device = gpu.device;
  const { clock, note: clockNote } = chooseClock(device, opts.clock);
  const size = engine.inputSize;
  const pixels = benchPixels(n, size);
  const ops = engine.preparedOps(n);
  // The op of each layer: a tuning may fuse a depthwise with its pointwise (one op for both),
  // so layer i is not always op i + 1.
  const choices = engine.kernelChoices(n);
  const layers = tfjsLayers(engine, backbone, n);
  const rows: BenchLayerRow[] = [];
  const timer = clock === 'gpu' ? new PassTimer(device, 1) : null;
  const bridge = acceleratedGpu(backend);
  const bridgeCount = () => bridge?.dispatches ?? 0;
  let oursDuringTfjs = 0;
  // tfjs records into its own command encoder and submits lazily: close and submit it.
  const submitTfjs = () => {
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
  };
  const flushTfjs = async () => {
    submitTfjs();
    await device.queue.onSubmittedWorkDone();
  };
  const pre = engine.manifest.preprocess;
  const tfInput = tf.tensor(pixels, [n, size, size, 3], 'int32');
  const tfNetwork = () =>
    tf.tidy(() => {
      let x = tf.add(tf.mul(tf.cast(tfInput, 'float32'), pre.scale), pre.offset) as tf.Tensor4D;
      for (const l of layers) x = l.run(x);
      return tf.mean(x, [1, 2]);
    });
  const steps = layers.length + 2 + (opts.ort ? 1 : 0);
  try {
    // Warm both sides up (pipeline compilation) with one whole pass each; keep the descriptors.
    progress('Compiling shaders…', 0);
    const ourDescriptors = await engine.embed(pixels, n);
    let tfjsDescriptors: Float32Array = new Float32Array(0);
    const perLayer = await withoutAcceleration(backend, async () => {
      const warmBefore = bridgeCount();
      const warm = tfNetwork();
      tfjsDescriptors = (await warm.data()) as Float32Array;
      warm.dispose();
      oursDuringTfjs += bridgeCount() - warmBefore;

      // Per layer: the op that computes it (choices.layers[i].op; ops[0] is the input
      // preprocessing, the last the pooling). A depthwise fused with the next layer has no op
      // of its own: the next layer's row times the pair.
      for (let i = 0; i < layers.length; i++) {
        const l = layers[i];
        progress(`Layer ${i + 1} of ${layers.length}: ${l.name}`, (i + 1) / steps);
        const choice = choices.layers[i];
        const fused = choices.layers[i + 1]?.op === choice.op;
        const op = ops[choice.op];
        const oursSamples = fused ? [0] : await repeat(1, runs, async () => {
          if (timer) return (await timer.time([(pass) => engine.runner.encode(pass, [op])]))[0];
          return wallToDone(device, () => {
            const enc = device.createCommandEncoder();
            const pass = enc.beginComputePass();
            engine.runner.encode(pass, [op]);
            pass.end();
            device.queue.submit([enc.finish()]);
          });
        });
        const x = tf.randomNormal(l.inShape) as tf.Tensor4D;
        await flushTfjs();
        const countBefore = bridgeCount();
        const tfjsSamples = await repeat(1, runs, async () => {
          if (clock === 'gpu') {
            // tf.time sums the timestamps of the programs tfjs ran; none timed means its work
            // went elsewhere, or other tfjs work of the page ran meanwhile (the Identify tab
            // starting its face detector): measured again a few times before giving up.
            for (let attempt = 1; ; attempt++) {
              let y: tf.Tensor | null = null;
              const info = await tf.time(() => void (y = l.run(x)));
              (y as tf.Tensor | null)?.dispose();
              const programs = (info as { getExtraProfileInfo?: () => string }).getExtraProfileInfo?.() ?? '';
              if (programs) return info.kernelMs as number;
              if (attempt === 3) throw new Error(`tfjs timed no GPU program for ${l.name} three times (other work on the page's GPU meanwhile, the Identify tab starting, can do this): run the benchmark again, or use the wall clock`);
              await new Promise((r) => setTimeout(r, 500));
            }
          }
          return wallToDone(device, async () => {
            const y = l.run(x);
            submitTfjs();
            y.dispose();
          });
        });
        oursDuringTfjs += bridgeCount() - countBefore;
        x.dispose();
        const row: BenchLayerRow = { label: `${i + 1}. ${l.name}`, kind: l.kind, ours: stats(oursSamples).median, tfjs: stats(tfjsSamples).median, kernel: choice.kernel };
        if (fused) row.fusedInto = `${i + 2}. ${layers[i + 1].name}`;
        rows.push(row);
      }

      // Whole network, descriptors read back, both ways.
      progress('Whole network…', (layers.length + 1) / steps);
      const oursNet = await repeat(1, runs, async () => {
        const t0 = performance.now();
        await engine.embed(pixels, n);
        return performance.now() - t0;
      });
      const netBefore = bridgeCount();
      const tfjsNet = await repeat(1, runs, async () => {
        const t0 = performance.now();
        const y = tfNetwork();
        await y.data();
        y.dispose();
        return performance.now() - t0;
      });
      oursDuringTfjs += bridgeCount() - netBefore;
      return { ours: stats(oursNet).median, tfjs: stats(tfjsNet).median };
    });

    let ort: { ms: number; cosine: number; setupSeconds: number } | null = null;
    if (opts.ort && ortColumn) {
      const column = await ortColumn();
      try {
        ort = await column.measure(pixels, n, runs, ourDescriptors, (text) => progress(text, (layers.length + 2) / steps));
      } finally {
        await column.release();
      }
    }
    progress('Done', 1);
    return {
      batch: n,
      runs,
      clock,
      clockNote,
      layers: rows,
      network: { ours: perLayer.ours, tfjs: perLayer.tfjs, ortWebgpu: ort?.ms ?? null },
      cosine: { tfjs: minCosine(ourDescriptors, tfjsDescriptors, n), ortWebgpu: ort?.cosine ?? null },
      oursDuringTfjs,
      ortSetupSeconds: ort?.setupSeconds ?? null,
      kernels: { source: choices.source, tunedBatch: choices.tunedBatch, where: null },
    };
  } finally {
    tfInput.dispose();
    timer?.destroy();
    layers.forEach((l) => l.dispose());
  }
}
