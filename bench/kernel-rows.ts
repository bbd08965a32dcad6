// Kernel rows: each distinct kernel of the backbone, ours against the tfjs-backend-webgpu op
// doing the same work (fused conv2d / depthwiseConv2d with bias and activation, mean for the
// pooling), on the same device, with the same weights and inputs, outputs compared.
import { BufferPool, readBuffer, STORAGE } from '../src/gpu/buffers.ts';
import type { Gpu } from '../src/gpu/device.ts';
import type { OpDesc } from '../src/gpu/runner.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { depthwiseOp } from '../src/kernels/depthwise.ts';
import { globalAvgPoolOp } from '../src/kernels/pool.ts';
import { pointwiseOp } from '../src/kernels/pointwise.ts';
import { stemOp } from '../src/kernels/stem.ts';
import { stemRgb8Op } from '../src/kernels/stem-rgb8.ts';
import { samePadding } from '../src/kernels/common.ts';
import { c4 } from '../src/weights/format.ts';
import { halfWeightsOf } from '../src/mobilenet/half-weights.ts';
import { layerShapeKey } from '../src/mobilenet/tuned.ts';
import type { KernelCase } from './kernels-of.ts';
import { maxAbsDiff, randomFloats, toVec4Layout, fromVec4Layout } from './data.ts';
import { hasTimestamps, PassTimer, stats, wallToDone, type Stats } from './timing.ts';
import { tf, type TfjsSides } from './tfjs-sides.ts';

export type TimingMethod = 'gpu-timestamp' | 'wall-to-done';

export interface KernelRow {
  name: string;
  kind: KernelCase['kind'];
  /** Backbone layers that run this kernel. */
  layers: string[];
  batch: number;
  input: { n: number; h: number; w: number; c: number };
  outChannels: number;
  stride: number;
  timing: TimingMethod;
  /** ms per call (the whole batch). */
  ours: Stats;
  tfjsWebgpu: Stats;
  /** tfjs median / ours median. */
  speedup: number;
  maxAbsError: number;
  /** Our shader, as the runner names it (file + constants). */
  shader: string;
  note?: string;
}


interface Side {
  /** One timed call, ms. */
  time(): Promise<number>;
  /** The output, NHWC (or [N, C] for pooling), unpadded. */
  output(): Promise<Float32Array>;
  dispose(): void;
}

function oursSide(gpu: Gpu, engine: MobileNetEngine, k: KernelCase, x: Float32Array, timer: PassTimer | null): Side & { shader: string } {
  const pool = new BufferPool(gpu.device);
  const { n, h, w, c } = k.input;
  const s = k.kind === 'pool' ? { out: 1 } : samePadding(h, k.stride);
  const sw = k.kind === 'pool' ? { out: 1 } : samePadding(w, k.stride);
  const outPixels = n * s.out * sw.out;
  const outBytes = k.kind === 'pool' ? n * c * 4 : outPixels * c4(k.outChannels) * 16;
  // The kernel the engine runs for this shape at this batch (tuned, or hand-picked).
  const t = k.kind === 'pool' ? engine.tuning : engine.kernelTuning(layerShapeKey(k.kind, k.input, k.outChannels, k.stride), n);
  // The stem that reads the 8-bit input itself gets the row's pixel values (whole numbers
  // 0..255) as bytes, preprocessing as the identity: this row then times our preprocessing and
  // stem against tfjs' stem alone. Every other kernel reads the vec4 layout.
  const readsBytes = k.kind === 'stem' && t.stemRgb8 > 0;
  const xb = pool.createWith(readsBytes ? Uint8Array.from({ length: Math.ceil(x.length / 4) * 4 }, (_, i) => x[i] ?? 0) : toVec4Layout(x, n * h * w, c), STORAGE, 'x');
  const y = pool.create(outBytes, STORAGE, 'y');
  let op: OpDesc;
  if (k.kind === 'pool') op = globalAvgPoolOp({ x: xb, y, shape: k.input }, t);
  else {
    // The weights as the engine reads them: float16 pairs where that is exact and the tuning uses it.
    const half = halfWeightsOf(k.kind, k.packed!.weights, [t]);
    const wb = pool.createWith(half ? new Uint8Array(half.buffer) : k.packed!.weights, STORAGE, 'w');
    const bb = pool.createWith(k.packed!.bias, STORAGE, 'b');
    const layer = { label: k.name, x: xb, w: wb, b: bb, y, activation: k.activation };
    if (readsBytes) op = stemRgb8Op({ ...layer, src: xb, shape: k.input, stride: k.stride, cout: k.outChannels, scale: 1, offset: 0 }, t);
    else if (k.kind === 'stem') op = stemOp({ ...layer, shape: k.input, stride: k.stride, cout: k.outChannels, halfWeights: half !== null }, t);
    else if (k.kind === 'depthwise') op = depthwiseOp({ ...layer, shape: k.input, stride: k.stride }, t);
    else op = pointwiseOp({ ...layer, pixels: n * h * w, cin: c, cout: k.outChannels, halfWeights: half !== null }, t);
  }
  const { ops } = engine.runner.prepare([op], (size, usage, label) => pool.create(size, usage, label));
  const runner = engine.runner;
  const device = gpu.device;
  const constants = Object.entries(op.kernel.constants ?? {}).map(([key, v]) => `${key}=${v}`).join(',');
  return {
    shader: `${op.kernel.shader}.wgsl (${constants})`,
    async time() {
      if (timer) return (await timer.time([(pass) => runner.encode(pass, ops)]))[0];
      return wallToDone(device, () => {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        runner.encode(pass, ops);
        pass.end();
        device.queue.submit([enc.finish()]);
      });
    },
    async output() {
      const raw = new Float32Array(await readBuffer(device, y, outBytes));
      return k.kind === 'pool' ? raw : fromVec4Layout(raw, outPixels, k.outChannels);
    },
    dispose: () => pool.destroyAll(),
  };
}

function tfjsSide(gpu: Gpu, sides: TfjsSides, k: KernelCase, x: Float32Array, timestamps: boolean): Side {
  const { n, h, w, c } = k.input;
  const xt = tf.tensor4d(x, [n, h, w, c]);
  const filter = k.tf ? tf.tensor4d(k.tf.filter, k.tf.filterShape as [number, number, number, number]) : null;
  const bias = k.tf ? tf.tensor1d(k.tf.bias) : null;
  const activation = k.activation === 'none' ? 'linear' : k.activation;
  const run = (): tf.Tensor => {
    switch (k.kind) {
      case 'pool':
        return tf.mean(xt, [1, 2]);
      case 'depthwise':
        return tf.fused.depthwiseConv2d({ x: xt, filter: filter as tf.Tensor4D, strides: k.stride, pad: 'same', bias: bias!, activation });
      default:
        return tf.fused.conv2d({ x: xt, filter: filter as tf.Tensor4D, strides: k.stride, pad: 'same', bias: bias!, activation });
    }
  };
  let last: tf.Tensor | null = null;
  const keep = (t: tf.Tensor) => {
    last?.dispose();
    last = t;
  };
  return {
    async time() {
      if (timestamps) {
        let y: tf.Tensor | null = null;
        // tf.time puts every program in its own compute pass with timestamp writes: the same
        // measurement PassTimer makes for our kernel.
        const info = await tf.time(() => {
          y = run();
        });
        keep(y!);
        return info.kernelMs as number;
      }
      return wallToDone(gpu.device, () => {
        keep(run());
        sides.flushWebgpu();
      });
    },
    async output() {
      if (!last) keep(run());
      return (await last!.data()) as Float32Array;
    },
    dispose() {
      last?.dispose();
      xt.dispose();
      filter?.dispose();
      bias?.dispose();
    },
  };
}

export interface KernelRowOptions {
  batch: number;
  warmup: number;
  repeats: number;
  onRow?: (row: KernelRow) => void;
}

export async function measureKernels(gpu: Gpu, engine: MobileNetEngine, sides: TfjsSides, cases: KernelCase[], opts: KernelRowOptions): Promise<KernelRow[]> {
  const timestamps = hasTimestamps(gpu.device);
  const timer = timestamps ? new PassTimer(gpu.device, 1) : null;
  await sides.use('webgpu');
  const rows: KernelRow[] = [];
  try {
    for (const [i, k] of cases.entries()) {
      const { n, h, w, c } = k.input;
      // Inputs in the range the layer sees: raw pixels (whole numbers, as 8-bit input) for the
      // stem, ReLU6 outputs after it.
      const x = k.kind === 'stem' ? randomFloats(n * h * w * c, 1000 + i, 0, 256).map(Math.floor) : randomFloats(n * h * w * c, 1000 + i, 0, 6);
      const ours = oursSide(gpu, engine, k, x, timer);
      const theirs = tfjsSide(gpu, sides, k, x, timestamps);
      try {
        for (let r = 0; r < opts.warmup; r++) {
          await ours.time();
          await theirs.time();
        }
        const a: number[] = [];
        const b: number[] = [];
        // Interleaved, so that load from elsewhere on the machine hits both sides alike.
        for (let r = 0; r < opts.repeats; r++) {
          a.push(await ours.time());
          b.push(await theirs.time());
        }
        const err = maxAbsDiff(await ours.output(), await theirs.output());
        const row: KernelRow = {
          name: k.name, kind: k.kind, layers: k.layers, batch: n, input: k.input, outChannels: k.outChannels, stride: k.stride,
          timing: timestamps ? 'gpu-timestamp' : 'wall-to-done', ours: stats(a), tfjsWebgpu: stats(b), speedup: 0, maxAbsError: err, shader: ours.shader,
        };
        row.speedup = row.tfjsWebgpu.median / row.ours.median;
        rows.push(row);
        opts.onRow?.(row);
      } finally {
        ours.dispose();
        theirs.dispose();
      }
    }
  } finally {
    timer?.destroy();
  }
  return rows;
}
