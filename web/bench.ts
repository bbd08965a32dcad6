// The page's benchmark: the backbone layer by layer, our WGSL kernels (the engine's prepared
// ops) against the same ops in tfjs-webgpu (fused conv2d / depthwiseConv2d with bias and
// activation, as tfjs would run this model), on the same GPUDevice, plus the whole network
// both ways. Per-layer times are GPU timestamps where the adapter offers them (tfjs measures
// its own kernels the same way, in tf.time), wall time to queue-idle otherwise.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu'; // registers the WebGPU kernels
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { Gpu, MobileNetEngine } from '../src/browser/index.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { hasTimestamps, PassTimer, repeat, stats, wallToDone } from '../bench/timing.ts';

export interface BenchLayerRow {
  label: string;
  kind: string;
  ours: number;
  tfjs: number;
}

export interface BenchResult {
  batch: number;
  runs: number;
  /** 'gpu' = timestamp queries, 'wall' = submit to queue idle. */
  clock: 'gpu' | 'wall';
  layers: BenchLayerRow[];
  /** Whole network, pixels in to descriptors read back, ms per batch (median). */
  network: { ours: number; tfjs: number };
}

type Act = 'linear' | 'relu' | 'relu6';
const activation = (a: string): Act => (a === 'none' ? 'linear' : (a as Act));

/** The tfjs version of each layer, on random weights of the same shapes (speed does not depend on values). */
function tfjsLayers(engine: MobileNetEngine, n: number) {
  const shapes = engine.layerShapes(n);
  return engine.manifest.layers.map((l, i) => {
    const { in: s, out } = shapes[i];
    const filter =
      l.kind === 'depthwise' ? tf.randomNormal([3, 3, s.c, 1]) : l.kind === 'stem' ? tf.randomNormal([3, 3, s.c, out.c]) : tf.randomNormal([1, 1, s.c, out.c]);
    const bias = tf.randomNormal([out.c]);
    const act = activation(l.activation);
    const strides: [number, number] = [l.stride, l.stride];
    const run = (x: tf.Tensor4D): tf.Tensor4D =>
      l.kind === 'depthwise'
        ? tf.fused.depthwiseConv2d({ x, filter: filter as tf.Tensor4D, strides, pad: 'same', bias, activation: act })
        : tf.fused.conv2d({ x, filter: filter as tf.Tensor4D, strides, pad: 'same', bias, activation: act });
    return { name: l.name, kind: l.kind, inShape: [s.n, s.h, s.w, s.c] as [number, number, number, number], run, dispose: () => tf.dispose([filter, bias]) };
  });
}

export async function runBenchmark(
  gpu: Gpu,
  engine: MobileNetEngine,
  opts: { batch: number; runs: number },
  progress: (text: string, fraction: number) => void,
): Promise<BenchResult> {
  const { batch: n, runs } = opts;
  const backend = (await useGpuForTfjs(gpu)) as WebGPUBackend;
  const device = gpu.device;
  const clock = hasTimestamps(device) ? 'gpu' : 'wall';
  const size = engine.inputSize;
  const pixels = new Uint8Array(n * size * size * 3).map((_, i) => (i * 2654435761) >>> 24);
  const ops = engine.preparedOps(n);
  const layers = tfjsLayers(engine, n);
  const rows: BenchLayerRow[] = [];
  const timer = clock === 'gpu' ? new PassTimer(device, 1) : null;
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
  try {
    // Warm both sides up (pipeline compilation) with one whole pass each.
    progress('Compiling shaders…', 0);
    await engine.embed(pixels, n);
    const tfInput = tf.tensor(pixels, [n, size, size, 3], 'int32');
    const tfNetwork = () =>
      tf.tidy(() => {
        let x = tf.add(tf.mul(tf.cast(tfInput, "float32"), engine.manifest.preprocess.scale), engine.manifest.preprocess.offset) as tf.Tensor4D;
        for (const l of layers) x = l.run(x);
        return tf.mean(x, [1, 2]);
      });
    const warm = tfNetwork();
    await warm.data();
    warm.dispose();

    // Per layer. ops[0] is the input preprocessing, ops[i + 1] layer i, the last the pooling.
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i];
      progress(`Layer ${i + 1} of ${layers.length}: ${l.name}`, (i + 1) / (layers.length + 2));
      const op = ops[i + 1];
      const oursSamples = await repeat(1, runs, async () => {
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
      const tfjsSamples = await repeat(1, runs, async () => {
        if (clock === 'gpu') {
          let y: tf.Tensor | null = null;
          const info = await tf.time(() => void (y = l.run(x)));
          (y as tf.Tensor | null)?.dispose();
          return info.kernelMs as number;
        }
        return wallToDone(device, async () => {
          const y = l.run(x);
          submitTfjs();
          y.dispose();
        });
      });
      x.dispose();
      rows.push({ label: `${i + 1}. ${l.name}`, kind: l.kind, ours: stats(oursSamples).median, tfjs: stats(tfjsSamples).median });
    }

    // Whole network, descriptors read back, both ways.
    progress('Whole network…', (layers.length + 1) / (layers.length + 2));
    const oursNet = await repeat(1, runs, async () => {
      const t0 = performance.now();
      await engine.embed(pixels, n);
      return performance.now() - t0;
    });
    const tfjsNet = await repeat(1, runs, async () => {
      const t0 = performance.now();
      const y = tfNetwork();
      await y.data();
      y.dispose();
      return performance.now() - t0;
    });
    tfInput.dispose();
    progress('Done', 1);
    return { batch: n, runs, clock, layers: rows, network: { ours: stats(oursNet).median, tfjs: stats(tfjsNet).median } };
  } finally {
    timer?.destroy();
    layers.forEach((l) => l.dispose());
  }
}
