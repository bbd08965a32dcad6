// Our WGSL kernels in TensorFlow.js' kernel registry (src/tfjs/). Every product, fused product,
// convolution, depthwise convolution, element-wise op (Add, Multiply, Relu, Step), Sum and
// RMSprop step run on the accelerated webgpu backend is compared with tfjs' CPU backend (an implementation independent of the webgpu
// kernels we replaced), and every check also counts our dispatches: a case silently handed to
// tfjs' own kernel fails, and so does one of ours taking a case it must hand over (another
// activation, a dilated convolution, a broadcast Add...).
import * as tf from '@tensorflow/tfjs-core';
// Gradients are registered by tfjs-layers in the app (src/train/head.ts); here directly.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gpu } from '../src/gpu/device.ts';
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { KernelRunner } from '../src/gpu/runner.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import type { TfjsGpu } from '../src/tfjs/bridge.ts';
import { accelerateTfjs, acceleratedGpu } from '../src/tfjs/kernels.ts';
import { withoutAcceleration } from '../src/tfjs/accelerated.ts';
import { denseView, matmulOp, type MatmulTiling } from '../src/kernels/matmul.ts';
import { conv2dOp } from '../src/kernels/conv2d.ts';
import { FusedRmsprop, headRmsprop } from '../src/tfjs/rmsprop.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { pointwiseAddRelu } from '../src/tfjs/fused-ops.ts';
import { fuseResidualJoins, type TopologyNode } from '../src/detect/fuse.ts';
import { blazefaceModelFile, loadBlazeFace, NODE_CROP_IO } from '../src/detect/node.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CELEB, ORL } from './helpers/faces.ts';

let gpu: Gpu;
let backend: WebGPUBackend;
let ours: TfjsGpu;
const extraGpus: Gpu[] = [];

beforeAll(async () => {
  gpu = await createNodeGpu();
  backend = await useGpuForTfjs(gpu, loadShaders());
  const bridge = acceleratedGpu(backend);
  if (!bridge) throw new Error('useGpuForTfjs(gpu, shaders) left the backend unaccelerated');
  ours = bridge;
});
afterEach(async () => {
  // Every test may switch to the CPU backend for its reference; the next starts on webgpu.
  await tf.setBackend('webgpu');
});
afterAll(() => {
  for (const g of extraGpus) g.destroy();
  gpu?.destroy();
});

// ---------------------------------------------------------------------------------------------
// Inputs, evaluation on a backend, comparison

interface Data {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype?: 'float32' | 'int32';
}
interface Result {
  values: Float32Array;
  shape: number[];
}

const sizeOf = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

let nextSeed = 1;
/** Uniform values in [-range, range) from a seeded generator (mulberry32): reproducible inputs. */
function rand(shape: number[], range = 1): Data {
  let s = nextSeed++ * 0x9e3779b9;
  const values = new Float32Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    values[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * range;
  }
  return { values, shape };
}

function randInt(shape: number[], range: number): Data {
  const f = rand(shape, range);
  return { values: Int32Array.from(f.values, Math.round), shape, dtype: 'int32' };
}

type Compute = (...inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/** `compute` on tfjs' backend `name`, from fresh tensors of `inputs`; the outputs read back. */
async function evaluate(name: 'cpu' | 'webgpu', inputs: Data[], compute: Compute): Promise<Result[]> {
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not switch to its ${name} backend`);
  const outs = tf.tidy(() => [compute(...inputs.map((d) => tf.tensor(d.values, d.shape, d.dtype ?? 'float32')))].flat());
  const results: Result[] = [];
  for (const o of outs) results.push({ values: Float32Array.from(await o.data()), shape: o.shape });
  tf.dispose(outs);
  return results;
}

/** `compute` on the accelerated backend, and how many of our dispatches it took. */
async function onOurs(inputs: Data[], compute: Compute): Promise<{ results: Result[]; dispatches: number }> {
  await tf.setBackend('webgpu');
  expect(tf.backend()).toBe(backend);
  const before = ours.dispatches;
  const results = await evaluate('webgpu', inputs, compute);
  return { results, dispatches: ours.dispatches - before };
}

/** Every value of `got` within tol(i) of `want`, same shape; the message names the worst one. */
function expectClose(got: Result, want: Result, tol: (i: number) => number, what: string): void {
  expect(got.shape, `${what}: shape`).toEqual(want.shape);
  let bad = 0;
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < want.values.length; i++) {
    const err = Math.abs(got.values[i] - want.values[i]);
    if (!(err <= tol(i))) {
      bad++;
      const ratio = Number.isNaN(err) ? Infinity : err / tol(i);
      if (worst < 0 || ratio > worstRatio) [worst, worstRatio] = [i, ratio];
    }
  }
  const detail = worst < 0 ? '' : `, worst at ${worst}: got ${got.values[worst]}, want ${want.values[worst]} (tolerance ${tol(worst).toExponential(2)})`;
  expect(bad, `${what}: ${bad} of ${want.values.length} values off${detail}`).toBe(0);
}

// A product's rounding error grows with the sum of |a_ik b_kj| over k (its K-scaled magnitude);
// tfjs' CPU backend sums in double precision, so this bounds our float32 sums' error.
const REL = 1e-5;
const ABS = 1e-6;

const maxAbs = (r: Result) => r.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

// ---------------------------------------------------------------------------------------------
// 1. tf.matMul

interface MatmulCase {
  a: number[];
  b: number[];
  transposeA?: boolean;
  transposeB?: boolean;
}

/** The stored shapes of A [.., m, k] and B [.., k, n] for the given transposes. */
function operands(m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, outerA: number[] = [], outerB: number[] = []): MatmulCase {
  return { a: [...outerA, ...(transposeA ? [k, m] : [m, k])], b: [...outerB, ...(transposeB ? [n, k] : [k, n])], transposeA, transposeB };
}

const caseName = (c: MatmulCase) => `[${c.a}]${c.transposeA ? 'ᵀ' : ''} x [${c.b}]${c.transposeB ? 'ᵀ' : ''}`;

/** tf.matMul of random operands on our backend vs the CPU; returns our dispatch count. */
async function checkMatmul(c: MatmulCase): Promise<number> {
  const a = rand(c.a);
  const b = rand(c.b);
  const product = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, c.transposeA, c.transposeB);
  const [want, scale] = await evaluate('cpu', [a, b], (x, y) => [product(x, y), product(tf.abs(x), tf.abs(y))]);
  const { results, dispatches } = await onOurs([a, b], product);
  expectClose(results[0], want, (i) => REL * scale.values[i] + ABS, caseName(c));
  return dispatches;
}

const TRANSPOSES = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

describe('tf.matMul on our kernel', () => {
  // m < n puts n across the kernel's lanes (C^T = B^T A^T), m > n puts m there; 5x7x3 and
  // 37x19x70 are no multiple of any tile, 16x1024x1024 is the head's layer.
  const shapes: [number, number, number][] = [
    [5, 7, 3],
    [3, 7, 5],
    [37, 19, 70],
    [70, 19, 37],
    [1, 33, 1],
  ];
  for (const [m, k, n] of shapes) {
    for (const [tA, tB] of TRANSPOSES) {
      const c = operands(m, k, n, tA, tB);
      it(`m=${m} k=${k} n=${n}: ${caseName(c)}`, async () => {
        expect(await checkMatmul(c)).toBe(1);
      });
    }
  }

  it("the head's products: 16x1024 by 1024x1024, and its gradients' (xᵀ dy, dy wᵀ)", async () => {
    expect(await checkMatmul(operands(16, 1024, 1024, false, false))).toBe(1);
    expect(await checkMatmul(operands(1024, 16, 1024, true, false))).toBe(1);
    expect(await checkMatmul(operands(16, 1024, 1024, false, true))).toBe(1);
  });

  it('several workgroups along both dimensions, both orientations: 300x41x200 and 200x41x300', async () => {
    expect(await checkMatmul(operands(300, 41, 200, false, true))).toBe(1);
    expect(await checkMatmul(operands(200, 41, 300, true, false))).toBe(1);
  });

  it('batched, equal batches (3D and 4D), with and without transposes', async () => {
    expect(await checkMatmul(operands(37, 19, 70, false, false, [3], [3]))).toBe(1);
    expect(await checkMatmul(operands(70, 19, 37, true, true, [3], [3]))).toBe(1);
    expect(await checkMatmul(operands(5, 7, 4, false, true, [2, 3], [2, 3]))).toBe(1);
  });

  it('a broadcast batch: [1,m,k] x [4,k,n], [4,m,k] x [1,k,n], and a single matrix against a batch', async () => {
    expect(await checkMatmul(operands(37, 19, 70, false, false, [1], [4]))).toBe(1);
    expect(await checkMatmul(operands(70, 19, 37, false, false, [4], [1]))).toBe(1);
    expect(await checkMatmul(operands(37, 19, 70, true, true, [1], [4]))).toBe(1);
    expect(await checkMatmul(operands(70, 19, 37, true, false, [4], [1]))).toBe(1);
    expect(await checkMatmul(operands(9, 5, 6, false, false, [], [2, 3]))).toBe(1);
    expect(await checkMatmul(operands(9, 5, 6, false, true, [2, 3], []))).toBe(1);
  });

  // tfjs broadcasts the outer dimensions: [1,1] with [3] is [1,3], and [1,1] with [] is [1,1].
  for (const [outerA, outerB] of [
    [[1, 1], [3]],
    [[3], [1, 1]],
    [[1, 1], []],
    [[1], [2, 3]],
  ]) {
    it(`a single matrix of higher rank than the batch it meets: [${outerA}] against [${outerB}] keeps the broadcast shape`, async () => {
      expect(await checkMatmul(operands(6, 5, 4, false, false, outerA, outerB))).toBe(1);
    });
  }

  it('int32 operands and an empty product go to tfjs, still correct', async () => {
    const a = randInt([7, 5], 9);
    const b = randInt([5, 3], 9);
    const [want] = await evaluate('cpu', [a, b], (x, y) => tf.matMul(x, y));
    const { results, dispatches } = await onOurs([a, b], (x, y) => tf.matMul(x, y));
    expectClose(results[0], want, () => 0, 'int32 [7,5] x [5,3]');
    expect(dispatches).toBe(0);
    const empty = await onOurs([rand([0, 5]), rand([5, 3])], (x, y) => tf.matMul(x, y));
    expect(empty.results[0].shape).toEqual([0, 3]);
    expect(empty.dispatches).toBe(0);
  });

  it('a general broadcast ([2,1] against [1,3] batches) is not ours: tfjs gets it', async () => {
    // tfjs' own webgpu BatchMatMul rejects this case too (it only broadcasts a single matrix),
    // so the check is that ours neither computes it nor hides tfjs' error.
    const before = ours.dispatches;
    await expect(onOurs([rand([2, 1, 6, 5]), rand([1, 3, 5, 4])], (x, y) => tf.matMul(x, y))).rejects.toThrow();
    expect(ours.dispatches).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. tf.fused.matMul

interface FusedCase {
  m: number;
  k: number;
  n: number;
  transposeA?: boolean;
  transposeB?: boolean;
  activation: tf.fused.Activation;
  /** Bias shape; none if absent. [n] is per column (ours), [m, 1] per row (tfjs'). */
  bias?: number[];
  prelu?: boolean;
  leakyreluAlpha?: number;
  range?: number;
}

async function checkFusedMatmul(c: FusedCase): Promise<{ dispatches: number; want: Result }> {
  const { a: aShape, b: bShape } = operands(c.m, c.k, c.n, Boolean(c.transposeA), Boolean(c.transposeB));
  const inputs = [rand(aShape, c.range), rand(bShape, c.range), rand(c.bias ?? [1]), rand([c.n])];
  const fused = (x: tf.Tensor, y: tf.Tensor, bias: tf.Tensor, alpha: tf.Tensor) =>
    tf.fused.matMul({
      a: x,
      b: y,
      transposeA: c.transposeA,
      transposeB: c.transposeB,
      bias: c.bias ? bias : undefined,
      activation: c.activation,
      preluActivationWeights: c.prelu ? alpha : undefined,
      leakyreluAlpha: c.leakyreluAlpha,
    });
  const [want, scale] = await evaluate('cpu', inputs, (x, y, bias, alpha) => {
    const magnitude = tf.matMul(tf.abs(x), tf.abs(y), c.transposeA, c.transposeB);
    return [fused(x, y, bias, alpha), c.bias ? tf.add(magnitude, tf.abs(bias)) : magnitude];
  });
  const { results, dispatches } = await onOurs(inputs, fused);
  const name = `${c.activation} ${c.m}x${c.k}x${c.n}${c.transposeA ? ' Aᵀ' : ''}${c.transposeB ? ' Bᵀ' : ''} bias ${c.bias ? `[${c.bias}]` : 'none'}`;
  expectClose(results[0], want, (i) => REL * scale.values[i] + ABS, name);
  return { dispatches, want };
}

describe('each matmul shader and tiling, through matmulOp directly', () => {
  // The registered kernels use the tiling for this adapter (on lavapipe: matmul_subgroup.wgsl);
  // devices without subgroups and GPUs get matmul.wgsl and other tiles. Each is checked here on
  // shapes that are no multiple of its tile, both orientations, transposed operands, bias,
  // residual, relu.
  const tilings: MatmulTiling[] = [
    { wg: 16, ti: 8, tj: 16, sg: 0 },
    { wg: 64, ti: 2, tj: 4, sg: 0 },
    { wg: 16, ti: 8, tj: 16, sg: 8 },
    { wg: 8, ti: 3, tj: 8, sg: 4 },
  ];
  const shapes: [number, number, number, boolean, boolean][] = [
    [5, 7, 3, false, false],
    [37, 19, 70, true, false],
    [70, 19, 37, false, true],
    [16, 64, 100, true, true],
  ];
  for (const t of tilings) {
    it(`${t.sg ? `matmul_subgroup.wgsl SG=${t.sg}` : 'matmul.wgsl'}, ${t.ti}x${t.tj} per lane, workgroup ${t.wg}`, async () => {
      for (const [m, k, n, tA, tB] of shapes) {
        const a = rand(tA ? [k, m] : [m, k]);
        const b = rand(tB ? [n, k] : [k, n]);
        const bias = rand([n]);
        const residual = rand([m, n]);
        const [want, scale] = await evaluate('cpu', [a, b, bias, residual], (x, y, z, r) => [
          tf.relu(tf.add(tf.add(tf.matMul(x, y, tA, tB), z), r)),
          tf.add(tf.add(tf.matMul(tf.abs(x), tf.abs(y), tA, tB), tf.abs(z)), tf.abs(r)),
        ]);
        await tf.setBackend('webgpu');
        const [ta, tb, tbias, tres] = [a, b, bias, residual].map((d) => tf.tensor(d.values, d.shape));
        const out = ours.output([m, n]);
        ours.run([
          matmulOp(
            {
              batch: 1,
              m,
              n,
              k,
              a: denseView(ours.buffer(ta), a.shape[0], a.shape[1], tA, false),
              b: denseView(ours.buffer(tb), b.shape[0], b.shape[1], tB, false),
              out: ours.buffer(out),
              bias: ours.buffer(tbias),
              residual: ours.buffer(tres),
              activation: 'relu',
            },
            t,
          ),
        ]);
        const got = tf.engine().makeTensorFromTensorInfo(out);
        expectClose({ values: Float32Array.from(await got.data()), shape: got.shape }, want, (i) => REL * scale.values[i] + ABS, `${m}x${k}x${n} tA=${tA} tB=${tB}`);
        tf.dispose([ta, tb, tbias, tres, got]);
      }
    });
  }
});

describe('the matmul register tile', () => {
  it('is 2 rows per lane where the columns fit one subgroup (quicker to compile), the tiling\'s elsewhere', () => {
    const buffer = {} as GPUBuffer;
    const view = { buffer, batch: 0, row: 1, col: 1 };
    const op = (m: number, n: number, t: MatmulTiling) => matmulOp({ batch: 1, m, n, k: 96, a: view, b: view, out: buffer, activation: 'none' }, t).kernel.constants!;
    const cpu: MatmulTiling = { wg: 16, ti: 8, tj: 16, sg: 8 };
    expect(op(512, 6, cpu)).toMatchObject({ TI: 2, TJ: 8 }); // BlazeFace's classifier head
    expect(op(6, 512, cpu)).toMatchObject({ TI: 2, TJ: 8 }); // lanes over n, the 6 rows as columns
    expect(op(512, 24, cpu)).toMatchObject({ TI: 8, TJ: 24 });
    expect(op(512, 6, { wg: 64, ti: 2, tj: 4, sg: 0 })).toMatchObject({ TI: 2, TJ: 4 });
    expect(op(512, 6, { wg: 16, ti: 8, tj: 16, sg: 0 })).toMatchObject({ TI: 8 });
  });
});

describe('each conv2d shader and tiling, through conv2dOp directly', () => {
  // As for the products: lavapipe's registered kernel is conv2d_subgroup.wgsl; conv2d.wgsl
  // (no subgroups) and other tiles are checked here. 5x5 stride 2 SAME (the detector's stem),
  // 3x3 VALID, 2x4 with stride [1, 2]; 3 -> 24 and 5 -> 70 channels; bias and relu.
  const tilings: MatmulTiling[] = [
    { wg: 16, ti: 8, tj: 16, sg: 0 },
    { wg: 64, ti: 2, tj: 4, sg: 0 },
    { wg: 16, ti: 8, tj: 16, sg: 8 },
    { wg: 8, ti: 3, tj: 8, sg: 4 },
  ];
  const cases: { x: number[]; f: number[]; strides: [number, number]; pad: 'same' | 'valid' }[] = [
    { x: [2, 19, 17, 3], f: [5, 5, 3, 24], strides: [2, 2], pad: 'same' },
    { x: [1, 9, 11, 5], f: [3, 3, 5, 70], strides: [1, 1], pad: 'valid' },
    { x: [1, 8, 13, 5], f: [2, 4, 5, 7], strides: [1, 2], pad: 'same' },
  ];
  it('a narrow output (at most 24 channels) with subgroups: one subgroup width of columns per workgroup, wider ones the tiling', () => {
    const op = (cout: number, t: MatmulTiling) => {
      const b = {} as GPUBuffer;
      const d = conv2dOp({ n: 1, inH: 8, inW: 8, cin: 3, outH: 4, outW: 4, cout, kh: 5, kw: 5, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, x: b, w: b, out: b, activation: 'relu' }, t);
      return { tj: d.kernel.constants!.TJ, columns: d.workgroups[1] };
    };
    expect(op(24, tilings[2])).toEqual({ tj: 8, columns: 3 });
    expect(op(24, tilings[3])).toEqual({ tj: 4, columns: 6 });
    expect(op(70, tilings[2])).toEqual({ tj: 16, columns: 5 });
    expect(op(24, tilings[0])).toEqual({ tj: 16, columns: 2 });
  });
  for (const t of tilings) {
    it(`${t.sg ? `conv2d_subgroup.wgsl SG=${t.sg}` : 'conv2d.wgsl'}, ${t.ti}x${t.tj} per lane, workgroup ${t.wg}`, async () => {
      for (const c of cases) {
        const [x, f, bias] = [rand(c.x), rand(c.f), rand([c.f[3]])];
        const conv = (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad), b));
        const [want, scale] = await evaluate('cpu', [x, f, bias], (a, w, b) => [conv(a, w, b), tf.add(tf.conv2d(tf.abs(a) as tf.Tensor4D, tf.abs(w) as tf.Tensor4D, c.strides, c.pad), tf.abs(b))]);
        await tf.setBackend('webgpu');
        const [tx, tw, tb] = [x, f, bias].map((d) => tf.tensor(d.values, d.shape));
        const info = tf.backend_util.computeConv2DInfo(c.x as [number, number, number, number], c.f as [number, number, number, number], c.strides, 1, c.pad);
        const out = ours.output(info.outShape);
        ours.run([
          conv2dOp(
            {
              n: info.batchSize,
              inH: info.inHeight,
              inW: info.inWidth,
              cin: info.inChannels,
              outH: info.outHeight,
              outW: info.outWidth,
              cout: info.outChannels,
              kh: info.filterHeight,
              kw: info.filterWidth,
              strideH: info.strideHeight,
              strideW: info.strideWidth,
              padTop: info.padInfo.top,
              padLeft: info.padInfo.left,
              x: ours.buffer(tx),
              w: ours.buffer(tw),
              bias: ours.buffer(tb),
              out: ours.buffer(out),
              activation: 'relu',
            },
            t,
          ),
        ]);
        const got = tf.engine().makeTensorFromTensorInfo(out);
        expectClose({ values: Float32Array.from(await got.data()), shape: got.shape }, want, (i) => REL * scale.values[i] + ABS, `[${c.x}] * [${c.f}] /${c.strides} ${c.pad}`);
        tf.dispose([tx, tw, tb, got]);
      }
    });
  }
});

describe('tf.fused.matMul on our kernel', () => {
  for (const activation of ['linear', 'relu', 'relu6'] as const) {
    for (const [m, k, n] of [
      [37, 19, 70],
      [70, 19, 37],
    ]) {
      for (const [tA, tB] of TRANSPOSES) {
        it(`${activation}, bias [n], m=${m} k=${k} n=${n}${tA ? ' Aᵀ' : ''}${tB ? ' Bᵀ' : ''}: one dispatch`, async () => {
          // relu6 with larger inputs, so that some outputs are clamped at 6 (checked below).
          const { dispatches, want } = await checkFusedMatmul({ m, k, n, transposeA: tA, transposeB: tB, activation, bias: [n], range: activation === 'relu6' ? 2 : 1 });
          expect(dispatches).toBe(1);
          if (activation !== 'linear') expect(want.values.filter((v) => v === 0).length, 'some outputs cut at 0').toBeGreaterThan(0);
          if (activation === 'relu6') expect(want.values.filter((v) => v === 6).length, 'some outputs cut at 6').toBeGreaterThan(0);
        });
      }
    }
  }

  it('without a bias, and with a [1, n] bias: one dispatch each', async () => {
    expect((await checkFusedMatmul({ m: 37, k: 19, n: 70, activation: 'relu' })).dispatches).toBe(1);
    expect((await checkFusedMatmul({ m: 70, k: 19, n: 37, activation: 'linear', transposeB: true })).dispatches).toBe(1);
    expect((await checkFusedMatmul({ m: 5, k: 7, n: 3, activation: 'relu6', bias: [1, 3], range: 2 })).dispatches).toBe(1);
  });

  it('one dispatch per call: ten calls, ten dispatches', async () => {
    const inputs = [rand([16, 64]), rand([64, 10]), rand([10])];
    const { dispatches } = await onOurs(inputs, (x, w, b) => {
      const outs: tf.Tensor[] = [];
      for (let i = 0; i < 10; i++) outs.push(tf.fused.matMul({ a: x, b: w, bias: b, activation: i % 2 ? 'relu' : 'linear' }));
      return tf.addN(outs);
    });
    expect(dispatches).toBe(10);
  });

  const delegated: FusedCase[] = [
    { m: 37, k: 19, n: 70, activation: 'elu', bias: [70] },
    { m: 70, k: 19, n: 37, activation: 'elu', bias: [37], transposeA: true },
    { m: 37, k: 19, n: 70, activation: 'sigmoid', bias: [70], transposeB: true },
    { m: 37, k: 19, n: 70, activation: 'leakyrelu', leakyreluAlpha: 0.2, bias: [70] },
    { m: 37, k: 19, n: 70, activation: 'prelu', prelu: true, bias: [70] },
    // A per-row bias is not the kernel's per-column one.
    { m: 37, k: 19, n: 70, activation: 'relu', bias: [37, 1] },
  ];
  for (const c of delegated) {
    it(`${c.activation}${c.bias ? ` bias [${c.bias}]` : ''}: handed to tfjs (no dispatch of ours), still correct`, async () => {
      expect((await checkFusedMatmul(c)).dispatches).toBe(0);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 3. Convolutions, depthwise convolutions, element-wise ops

interface ConvCase {
  depthwise?: boolean;
  x: number[];
  filter: number[];
  strides?: number | [number, number];
  pad?: 'same' | 'valid' | number;
  dilations?: number;
  /** Unfused tf.conv2d / tf.depthwiseConv2d when absent. */
  activation?: tf.fused.Activation;
  bias?: boolean;
}

const convName = (c: ConvCase) =>
  `${c.activation ? `fused ${c.activation}` : 'plain'}${c.bias ? '+bias' : ''} x [${c.x}] filter [${c.filter}] stride ${c.strides ?? 1} pad ${c.pad ?? 'same'} dilation ${c.dilations ?? 1}`;

/** A (depthwise) convolution on our backend vs the CPU; returns our dispatch count. */
async function checkConv(c: ConvCase): Promise<number> {
  const co = c.depthwise ? c.filter[2] * c.filter[3] : c.filter[3];
  const inputs = [rand(c.x), rand(c.filter), rand([co]), rand([co])];
  const strides = c.strides ?? 1;
  const pad = c.pad ?? 'same';
  const dilations = c.dilations ?? 1;
  const plain = (x: tf.Tensor, f: tf.Tensor) =>
    c.depthwise
      ? tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad, 'NHWC', dilations)
      : tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad, 'NHWC', dilations);
  const conv = (x: tf.Tensor, f: tf.Tensor, bias: tf.Tensor, alpha: tf.Tensor) => {
    if (!c.activation) return plain(x, f);
    const args = {
      x: x as tf.Tensor4D,
      filter: f as tf.Tensor4D,
      strides,
      pad,
      dilations,
      bias: c.bias ? bias : undefined,
      activation: c.activation,
      preluActivationWeights: c.activation === 'prelu' ? alpha : undefined,
      leakyreluAlpha: c.activation === 'leakyrelu' ? 0.2 : undefined,
    };
    return c.depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
  };
  const [want, scale] = await evaluate('cpu', inputs, (x, f, bias, alpha) => {
    const magnitude = plain(tf.abs(x), tf.abs(f));
    return [conv(x, f, bias, alpha), c.bias ? tf.add(magnitude, tf.abs(bias)) : magnitude];
  });
  const { results, dispatches } = await onOurs(inputs, conv);
  expectClose(results[0], want, (i) => REL * scale.values[i] + ABS, `${c.depthwise ? 'depthwise' : 'conv2d'} ${convName(c)}`);
  return dispatches;
}

describe('tf.conv2d and tf.fused.conv2d', () => {
  const oursCases: ConvCase[] = [
    // 1x1, stride 1, no padding: the matrix-product path.
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21] },
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], pad: 'valid' },
    { x: [1, 7, 5, 40], filter: [1, 1, 40, 3], pad: 0 },
    { x: [9, 11, 13], filter: [1, 1, 13, 21] },
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], activation: 'relu', bias: true },
    { x: [1, 16, 16, 24], filter: [1, 1, 24, 96], activation: 'relu6', bias: true, pad: 'valid' },
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], activation: 'linear', bias: true },
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], activation: 'relu' },
    // The general kernel: other sizes, strides and paddings.
    { x: [2, 9, 11, 13], filter: [3, 3, 13, 8] },
    { x: [2, 9, 11, 13], filter: [3, 3, 13, 8], pad: 'valid' },
    { x: [2, 9, 11, 13], filter: [3, 3, 13, 8], strides: 2, activation: 'relu', bias: true },
    { x: [1, 10, 12, 5], filter: [3, 3, 5, 20], strides: 2, activation: 'relu6', bias: true },
    { x: [1, 10, 12, 5], filter: [3, 3, 5, 20], strides: 2, pad: 'valid', activation: 'linear', bias: true },
    // The face detector's stem: 5x5, stride 2, 3 -> 24 channels.
    { x: [2, 32, 32, 3], filter: [5, 5, 3, 24], strides: 2, activation: 'relu', bias: true },
    { x: [1, 9, 7, 6], filter: [3, 1, 6, 10], strides: [2, 1] },
    { x: [1, 9, 7, 6], filter: [2, 4, 6, 10], pad: 2 },
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], strides: 2 },
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], strides: 2, activation: 'relu', bias: true },
    // A 1x1 filter with explicit padding grows the output: not a plain product.
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], pad: 1 },
  ];
  for (const c of oursCases) {
    it(`${convName(c)}: on our kernel`, async () => {
      expect(await checkConv(c)).toBe(1);
    });
  }

  const delegatedCases: ConvCase[] = [
    { x: [2, 9, 11, 13], filter: [3, 3, 13, 8], dilations: 2 },
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], dilations: 2 },
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], activation: 'elu', bias: true },
    { x: [2, 9, 11, 13], filter: [3, 3, 13, 8], activation: 'prelu', bias: true },
    { x: [2, 9, 11, 13], filter: [1, 1, 13, 21], activation: 'leakyrelu', bias: true },
  ];
  for (const c of delegatedCases) {
    it(`${convName(c)}: handed to tfjs (no dispatch of ours), still correct`, async () => {
      expect(await checkConv(c)).toBe(0);
    });
  }
});

describe("withoutAcceleration: the page benchmark's tfjs baseline", () => {
  it("tfjs' own kernels inside (none of ours dispatched), ours again after, also after a throw", async () => {
    const x = tf.randomNormal<tf.Rank.R4>([1, 8, 8, 16]);
    const w = tf.randomNormal<tf.Rank.R4>([1, 1, 16, 32]);
    const dw = tf.randomNormal<tf.Rank.R4>([3, 3, 16, 1]);
    const run = async () => {
      const y = tf.tidy(() => tf.depthwiseConv2d(tf.conv2d(x, w, 1, 'same'), tf.randomNormal<tf.Rank.R4>([3, 3, 32, 1]), 1, 'same'));
      const z = tf.depthwiseConv2d(x, dw, 2, 'same');
      await Promise.all([y.data(), z.data()]);
      tf.dispose([y, z]);
    };
    const dispatched = async (fn: () => Promise<void>) => {
      const n = ours.dispatches;
      await fn();
      return ours.dispatches - n;
    };
    expect(await dispatched(run)).toBeGreaterThanOrEqual(3);
    expect(await dispatched(() => withoutAcceleration(backend, run))).toBe(0);
    await expect(withoutAcceleration(backend, async () => Promise.reject(new Error('inside')))).rejects.toThrow('inside');
    expect(await dispatched(run)).toBeGreaterThanOrEqual(3);
    tf.dispose([x, w, dw]);
  });
});

describe('tf.depthwiseConv2d and tf.fused.depthwiseConv2d', () => {
  // 3x3, channel multiplier 1, channels a multiple of 4, 'same', stride 1 or 2: the backbone's
  // kernel. Odd and even sizes (TF's SAME padding differs for stride 2), more rows than one
  // strip of rows, more channels than one workgroup's.
  const oursCases: ConvCase[] = [
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1] },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1], strides: 2 },
    { depthwise: true, x: [1, 8, 10, 12], filter: [3, 3, 12, 1], strides: 2 },
    { depthwise: true, x: [1, 37, 9, 40], filter: [3, 3, 40, 1] },
    { depthwise: true, x: [1, 37, 9, 40], filter: [3, 3, 40, 1], strides: 2, activation: 'relu', bias: true },
    { depthwise: true, x: [2, 16, 16, 24], filter: [3, 3, 24, 1], activation: 'relu6', bias: true },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1], activation: 'linear', bias: true },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1], strides: 2, activation: 'relu' },
    { depthwise: true, x: [9, 11, 8], filter: [3, 3, 8, 1] },
  ];
  for (const c of oursCases) {
    it(`${convName(c)}: on our kernel`, async () => {
      expect(await checkConv(c)).toBe(1);
    });
  }

  const delegatedCases: ConvCase[] = [
    { depthwise: true, x: [2, 9, 11, 6], filter: [3, 3, 6, 1] },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 2] },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1], pad: 'valid' },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1], pad: 1 },
    { depthwise: true, x: [2, 9, 11, 8], filter: [5, 5, 8, 1] },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1], strides: [1, 2] },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1], strides: 3 },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1], dilations: 2 },
    { depthwise: true, x: [2, 9, 11, 8], filter: [3, 3, 8, 1], activation: 'elu', bias: true },
  ];
  for (const c of delegatedCases) {
    it(`${convName(c)}: handed to tfjs (no dispatch of ours), still correct`, async () => {
      expect(await checkConv(c)).toBe(0);
    });
  }
});

/** An element-wise op on our backend vs the CPU, exactly (NaN where the CPU has NaN); returns our dispatches. */
async function checkElementwise(inputs: Data[], compute: Compute, what: string): Promise<number> {
  const [want] = await evaluate('cpu', inputs, compute);
  const { results, dispatches } = await onOurs(inputs, compute);
  expect(results[0].shape, `${what}: shape`).toEqual(want.shape);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < want.values.length; i++) {
    if (!Object.is(results[0].values[i], want.values[i])) {
      bad++;
      if (first < 0) first = i;
    }
  }
  expect(bad, `${what}: ${bad} of ${want.values.length} values differ, first at ${first}: got ${results[0].values[first]}, want ${want.values[first]}`).toBe(0);
  return dispatches;
}

describe('element-wise: tf.add, tf.mul, tf.relu, tf.step', () => {
  const withNaN = (d: Data) => {
    for (let i = 3; i < d.values.length; i += 97) d.values[i] = NaN;
    return d;
  };
  const shape = [2, 9, 11, 12]; // 2376 values, a multiple of 4

  it('add and mul of two float32 tensors of one shape (a multiple of 4 values): on our kernel, exact', async () => {
    expect(await checkElementwise([rand(shape), rand(shape)], (a, b) => tf.add(a, b), `add [${shape}]`)).toBe(1);
    expect(await checkElementwise([withNaN(rand([4, 8])), rand([4, 8], 1e30)], (a, b) => tf.add(a, b), 'add [4,8] with NaN')).toBe(1);
    expect(await checkElementwise([rand(shape), rand(shape, 3)], (a, b) => tf.mul(a, b), `mul [${shape}]`)).toBe(1);
    expect(await checkElementwise([withNaN(rand([4, 8], 1e20)), rand([4, 8], 1e20)], (a, b) => tf.mul(a, b), 'mul [4,8] with NaN and overflow')).toBe(1);
  });

  it('relu and step (alpha 0 and 0.3) of a float32 tensor: on our kernel, exact', async () => {
    expect(await checkElementwise([withNaN(rand(shape))], (a) => tf.relu(a), `relu [${shape}] with NaN`)).toBe(1);
    expect(await checkElementwise([rand(shape)], (a) => tf.step(a), `step [${shape}]`)).toBe(1);
    expect(await checkElementwise([rand(shape)], (a) => tf.step(a, 0.3), `step alpha 0.3 [${shape}]`)).toBe(1);
    // Exactly 0 is not > 0: alpha.
    const zeros: Data = { values: new Float32Array(8), shape: [8] };
    expect(await checkElementwise([zeros], (a) => tf.step(a, 0.3), 'step of zeros')).toBe(1);
  });

  it('step keeps NaN, as tfjs does', async () => {
    expect(await checkElementwise([withNaN(rand(shape))], (a) => tf.step(a, 0.3), `step alpha 0.3 [${shape}] with NaN`)).toBe(1);
  });

  it('add and relu over more values than one grid of workgroups (the kernel loops over the rest)', async () => {
    // Reference by a plain loop: tfjs' CPU backend takes seconds on this many values.
    const n = 4 * 64 * gpu.device.limits.maxComputeWorkgroupsPerDimension + 4 * 37;
    const [a, b] = [rand([n]), rand([n])];
    const { results, dispatches } = await onOurs([a, b], (x, y) => tf.relu(tf.add(x, y)));
    expect(dispatches).toBe(2);
    const got = results[0].values;
    expect(got.length).toBe(n);
    let bad = 0;
    for (let i = 0; i < n; i++) if (got[i] !== Math.max(0, Math.fround(a.values[i] + b.values[i]))) bad++;
    expect(bad, `relu(add) [${n}]: ${bad} values differ`).toBe(0);
  });

  it('a sum with more outputs than one grid of workgroups (the kernel loops over the rest)', async () => {
    const n = 64 * gpu.device.limits.maxComputeWorkgroupsPerDimension + 99;
    const x = rand([3, n]);
    const { results, dispatches } = await onOurs([x], (t) => tf.sum(t, 0));
    expect(dispatches).toBe(1);
    const v = x.values;
    const want = Float32Array.from({ length: n }, (_, j) => v[j] + v[n + j] + v[2 * n + j]);
    const scale = Float32Array.from({ length: n }, (_, j) => Math.abs(v[j]) + Math.abs(v[n + j]) + Math.abs(v[2 * n + j]));
    expectClose(results[0], { values: want, shape: [n] }, (i) => REL * scale[i] + ABS, `sum [3,${n}] axis 0`);
  });

  it('other element-wise ops go to tfjs (no dispatch of ours), still correct', async () => {
    expect(await checkElementwise([rand([3, 5, 7]), rand([3, 5, 7])], (a, b) => tf.add(a, b), 'add [3,5,7] (105 values)')).toBe(0);
    expect(await checkElementwise([rand([4, 8]), rand([8])], (a, b) => tf.add(a, b), 'add [4,8] + [8]')).toBe(0);
    expect(await checkElementwise([rand([8]), rand([4, 8])], (a, b) => tf.add(a, b), 'add [8] + [4,8]')).toBe(0);
    expect(await checkElementwise([randInt([4, 8], 50), randInt([4, 8], 50)], (a, b) => tf.add(a, b), 'add int32 [4,8]')).toBe(0);
    expect(await checkElementwise([rand([3, 5, 7]), rand([3, 5, 7])], (a, b) => tf.mul(a, b), 'mul [3,5,7] (105 values)')).toBe(0);
    expect(await checkElementwise([rand([4, 8]), rand([4, 1])], (a, b) => tf.mul(a, b), 'mul [4,8] * [4,1]')).toBe(0);
    expect(await checkElementwise([randInt([4, 8], 50), randInt([4, 8], 50)], (a, b) => tf.mul(a, b), 'mul int32 [4,8]')).toBe(0);
    expect(await checkElementwise([rand([3, 5, 7])], (a) => tf.relu(a), 'relu [3,5,7]')).toBe(0);
    expect(await checkElementwise([randInt([4, 8], 50)], (a) => tf.relu(a), 'relu int32 [4,8]')).toBe(0);
    expect(await checkElementwise([rand([3, 5, 7])], (a) => tf.step(a, 0.3), 'step [3,5,7]')).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// 3b. tf.sum

interface SumCase {
  x: number[];
  axis?: number | number[];
  keepDims?: boolean;
}

const sumName = (c: SumCase) => `sum [${c.x}] axis ${c.axis === undefined ? 'all' : JSON.stringify(c.axis)}${c.keepDims ? ' keepDims' : ''}`;

async function checkSum(c: SumCase): Promise<number> {
  const inputs = [rand(c.x)];
  const sum = (x: tf.Tensor) => tf.sum(x, c.axis, c.keepDims);
  const [want, scale] = await evaluate('cpu', inputs, (x) => [sum(x), sum(tf.abs(x))]);
  const { results, dispatches } = await onOurs(inputs, sum);
  expectClose(results[0], want, (i) => REL * scale.values[i] + ABS, sumName(c));
  return dispatches;
}

describe('tf.maxPool', () => {
  // NHWC float32 with channels a multiple of 4: BlazeFace's 2x2 stride-2 pools and other
  // windows, strides and paddings; exact (a maximum rounds nothing). Odd sizes pad at the
  // bottom and right under SAME.
  const cases: { x: number[]; filter: number | [number, number]; strides: number | [number, number]; pad: 'same' | 'valid' }[] = [
    { x: [2, 8, 10, 8], filter: 2, strides: 2, pad: 'valid' },
    { x: [2, 9, 11, 12], filter: 2, strides: 2, pad: 'same' },
    { x: [2, 9, 11, 12], filter: 2, strides: 2, pad: 'valid' },
    { x: [1, 9, 11, 8], filter: 3, strides: 2, pad: 'same' },
    { x: [1, 7, 7, 4], filter: 3, strides: 1, pad: 'same' },
    { x: [3, 5, 6, 8], filter: [2, 3], strides: [1, 2], pad: 'valid' },
    { x: [1, 4, 70, 24], filter: 2, strides: 2, pad: 'same' }, // a row of more lanes than one workgroup
  ];
  for (const c of cases) {
    it(`[${c.x}] window ${c.filter} stride ${c.strides} ${c.pad}: on our kernel, exact`, async () => {
      expect(await checkElementwise([rand(c.x)], (x) => tf.maxPool(x as tf.Tensor4D, c.filter, c.strides, c.pad), 'maxPool')).toBe(1);
    });
  }

  it('NaN never wins, as on the CPU', async () => {
    const x = rand([1, 4, 4, 4]);
    for (const i of [0, 5, 21, 40]) x.values[i] = NaN;
    expect(await checkElementwise([x], (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), 'maxPool with NaN')).toBe(1);
  });

  it('channels not a multiple of 4, or int32: handed to tfjs (no dispatch of ours), still correct', async () => {
    expect(await checkElementwise([rand([2, 8, 10, 6])], (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), 'maxPool of 6 channels')).toBe(0);
    expect(await checkElementwise([randInt([2, 8, 10, 8], 50)], (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'same'), 'maxPool of int32')).toBe(0);
  });

  it('more output rows than a grid dimension holds: handed to tfjs, and the output made for it is released', async () => {
    const rows = 2 * (gpu.device.limits.maxComputeWorkgroupsPerDimension + 2);
    const before = backend.numDataIds();
    expect(await checkElementwise([rand([1, rows, 1, 4])], (x) => tf.maxPool(x as tf.Tensor4D, [2, 1], [2, 1], 'valid'), 'maxPool of many rows')).toBe(0);
    expect(backend.numDataIds()).toBe(before);
  });
});

describe('tf.pad', () => {
  // The last axis padded in whole groups of four channels (BlazeFace's skip paths), any
  // constant, any rank; exact.
  const cases: { x: number[]; last: [number, number]; value?: number }[] = [
    { x: [2, 4, 5, 8], last: [0, 8] },
    { x: [2, 4, 5, 8], last: [4, 12], value: 1.5 },
    { x: [3, 8], last: [8, 0], value: -2 },
    { x: [12], last: [4, 4] },
    { x: [1, 3, 70, 24], last: [0, 24] }, // more vec4s than one workgroup's
  ];
  for (const c of cases) {
    it(`[${c.x}] padded ${c.last} on the last axis${c.value ? ` with ${c.value}` : ''}: on our kernel, exact`, async () => {
      const paddings = [...c.x.slice(0, -1).map(() => [0, 0] as [number, number]), c.last];
      expect(await checkElementwise([rand(c.x)], (x) => tf.pad(x, paddings, c.value ?? 0), 'pad')).toBe(1);
    });
  }

  it('other axes, groups not of four, channels not in fours, or int32: handed to tfjs (no dispatch of ours), still correct', async () => {
    const delegated: [Data, [number, number][]][] = [
      [rand([2, 4, 5, 8]), [[0, 0], [1, 0], [0, 0], [0, 8]]],
      [rand([2, 4, 5, 8]), [[0, 0], [0, 0], [0, 0], [0, 2]]],
      [rand([2, 4, 5, 6]), [[0, 0], [0, 0], [0, 0], [0, 4]]],
      [randInt([2, 4, 5, 8], 50), [[0, 0], [0, 0], [0, 0], [0, 8]]],
    ];
    for (const [x, paddings] of delegated) expect(await checkElementwise([x], (t) => tf.pad(t, paddings), `pad ${JSON.stringify(paddings)} of [${x.shape}]`)).toBe(0);
  });
});

describe('tf.sum', () => {
  const oursCases: SumCase[] = [
    // The head's bias gradients: [batch, units] summed over the batch.
    { x: [16, 10], axis: 0 },
    { x: [16, 10], axis: 1 },
    { x: [2, 3, 4, 5], axis: [1, 2] },
    { x: [2, 3, 4, 5], axis: [2, 1], keepDims: true },
    { x: [2, 3, 4, 5], axis: -1, keepDims: true },
    { x: [2, 3, 4, 5], axis: [0, 1, 2, 3] },
    { x: [7, 9] },
    { x: [64, 5000], axis: 1 },
  ];
  for (const c of oursCases) {
    it(`${sumName(c)}: on our kernel`, async () => {
      expect(await checkSum(c)).toBe(1);
    });
  }

  const delegatedCases: SumCase[] = [
    // Few outputs of long sums: tfjs' parallel reduction.
    { x: [100, 100] },
    { x: [5000, 3], axis: 0 },
    // Axes that are not adjacent.
    { x: [2, 3, 4, 5], axis: [0, 2] },
  ];
  for (const c of delegatedCases) {
    it(`${sumName(c)}: handed to tfjs (no dispatch of ours), still correct`, async () => {
      expect(await checkSum(c)).toBe(0);
    });
  }

  it('an int32 sum goes to tfjs, exact', async () => {
    expect(await checkElementwise([randInt([16, 10], 50)], (x) => tf.sum(x, 0), 'sum int32 [16,10] axis 0')).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// 3c. float32 tensors whose buffer holds int32 or bool data

describe('float32 tensors cast from int32 or bool (tfjs keeps the integer buffer)', () => {
  // tfjs' webgpu Cast to float32 only relabels the tensor: its buffer still holds integers,
  // which a kernel reading float32 would misread. Every op must still give the CPU's result.
  const ints = () => [randInt([12, 16], 20), randInt([12, 16], 20), randInt([16, 8], 20)];
  const asFloat = (t: tf.Tensor) => tf.cast(t, 'float32');

  it('matMul, fused matMul, add, mul, relu, step and sum of them match the CPU', async () => {
    const compute = (a: tf.Tensor, b: tf.Tensor, w: tf.Tensor) => {
      const [fa, fb, fw] = [asFloat(a), asFloat(b), asFloat(w)];
      return [
        tf.matMul(fa, fw),
        tf.fused.matMul({ a: fa, b: fw, bias: tf.slice(tf.sum(fb, 0), 0, 8), activation: 'relu' }),
        tf.add(fa, fb),
        tf.mul(fa, fb),
        tf.relu(fa),
        tf.step(fa, 0.5),
        tf.sum(fa, 0),
        // The usual accuracy count: a bool comparison cast to float32, summed.
        tf.sum(asFloat(tf.greater(a, b)), 1),
      ];
    };
    const inputs = ints();
    const want = await evaluate('cpu', inputs, compute);
    const { results } = await onOurs(inputs, compute);
    const names = ['matMul', 'fused matMul', 'add', 'mul', 'relu', 'step', 'sum', 'sum of a cast bool'];
    for (let i = 0; i < want.length; i++) expectClose(results[i], want[i], () => 0, `${names[i]} of int32 cast to float32`);
  });

  it('conv2d and depthwiseConv2d of them match the CPU', async () => {
    const inputs = [randInt([1, 6, 7, 8], 5), randInt([1, 1, 8, 4], 5), randInt([3, 3, 8, 4], 5), randInt([3, 3, 8, 1], 5)];
    const compute = (x: tf.Tensor, f1: tf.Tensor, f3: tf.Tensor, fd: tf.Tensor) => {
      const fx = asFloat(x) as tf.Tensor4D;
      return [
        tf.conv2d(fx, asFloat(f1) as tf.Tensor4D, 1, 'same'),
        tf.conv2d(fx, asFloat(f3) as tf.Tensor4D, 2, 'same'),
        tf.depthwiseConv2d(fx, asFloat(fd) as tf.Tensor4D, 1, 'same'),
      ];
    };
    const want = await evaluate('cpu', inputs, compute);
    const { results } = await onOurs(inputs, compute);
    const names = ['1x1 conv', '3x3 conv', 'depthwise'];
    for (let i = 0; i < want.length; i++) expectClose(results[i], want[i], () => 0, `${names[i]} of int32 cast to float32`);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. RMSprop

const LR = 0.01;
const RHO = 0.9;
const EPS = 1e-7;

interface OptimizerRun {
  values: Float32Array[];
  meanSquares: Float32Array[];
}

/**
 * Variables of `init`, `grads.length` steps of applyGradients with the given gradients, on
 * backend `name` with `make()`'s optimizer: the final values and mean squares.
 */
async function runOptimizer(name: 'cpu' | 'webgpu', make: () => tf.Optimizer, init: Data[], grads: Data[][], tag: string): Promise<OptimizerRun> {
  if (!(await tf.setBackend(name))) throw new Error(`no ${name} backend`);
  const vars = init.map((d, i) => tf.variable(tf.tensor(d.values, d.shape), true, `${tag}_${name}_${i}`));
  const optimizer = make();
  try {
    for (const step of grads) {
      tf.tidy(() => optimizer.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(step[i].values, step[i].shape)]))));
    }
    const values = await Promise.all(vars.map(async (v) => Float32Array.from(await v.data())));
    const byName = new Map((await optimizer.getWeights()).map((w) => [w.name, w.tensor]));
    const meanSquares = await Promise.all(
      vars.map(async (v) => {
        const ms = byName.get(`${v.name}/rms`);
        if (!ms) throw new Error(`${name} optimizer has no mean square for ${v.name}`);
        return Float32Array.from(await ms.data());
      }),
    );
    return { values, meanSquares };
  } finally {
    optimizer.dispose();
    tf.dispose(vars);
  }
}

/** Step s's gradients: random, scaled differently per step, some exactly zero. */
function gradients(shapes: number[][], steps: number): Data[][] {
  const scales = [1, 0.1, 3, 0.001, 1];
  return Array.from({ length: steps }, (_, s) =>
    shapes.map((shape) => {
      const g = rand(shape, scales[s % scales.length]);
      for (let i = s; i < g.values.length; i += 7) g.values[i] = 0;
      return g;
    }),
  );
}

function expectSameRun(got: OptimizerRun, want: OptimizerRun, init: Data[], what: string): void {
  for (let v = 0; v < want.values.length; v++) {
    const shape = init[v].shape;
    // Values: each step moves them by about lr; the two differ only in float32 rounding.
    expectClose({ values: got.values[v], shape }, { values: want.values[v], shape }, (i) => 1e-6 + 1e-6 * Math.abs(want.values[v][i]), `${what}: variable ${v} [${shape}]`);
    expectClose({ values: got.meanSquares[v], shape }, { values: want.meanSquares[v], shape }, (i) => 1e-12 + 1e-5 * want.meanSquares[v][i], `${what}: mean square ${v} [${shape}]`);
    // Not vacuous: the variables moved.
    let moved = 0;
    for (let i = 0; i < init[v].values.length; i++) if (want.values[v][i] !== init[v].values[i]) moved++;
    expect(moved, `${what}: variable ${v} moved`).toBeGreaterThan(init[v].values.length / 2);
  }
}

describe('FusedRmsprop', () => {
  it("matches tfjs' RMSprop (on the CPU backend) over 5 steps, one dispatch per variable per step", async () => {
    // 3072 and 16 values take the four-per-lane kernel, 185, 13 and 3 the one-per-lane one.
    const shapes = [[37, 5], [1024, 3], [13], [3], [4, 4]];
    const init = shapes.map((s) => rand(s));
    const grads = gradients(shapes, 5);
    const want = await runOptimizer('cpu', () => tf.train.rmsprop(LR, RHO, 0, EPS), init, grads, 'rms');
    await tf.setBackend('webgpu');
    const before = ours.dispatches;
    const got = await runOptimizer('webgpu', () => new FusedRmsprop(LR, RHO, EPS), init, grads, 'rms');
    expect(ours.dispatches - before).toBe(5 * shapes.length);
    expectSameRun(got, want, init, 'FusedRmsprop');
  });

  it('updates variables larger than one grid of workgroups (the kernels loop over the rest), either size parity', async () => {
    const lanes = 64 * gpu.device.limits.maxComputeWorkgroupsPerDimension;
    // Four values per lane when the size is a multiple of 4, one otherwise.
    const shapes = [[4 * lanes + 4 * 37], [lanes + 777]];
    const init = shapes.map((s) => rand(s));
    const grads = gradients(shapes, 1);
    // One step from zero mean squares, by a plain loop (tfjs' CPU backend takes seconds here):
    // ms = (1 - rho) g^2, value -= lr g / sqrt(ms + eps).
    const want: OptimizerRun = { values: [], meanSquares: [] };
    for (let v = 0; v < shapes.length; v++) {
      const [x, g] = [init[v].values, grads[0][v].values];
      const ms = g.map((gi) => (1 - RHO) * gi * gi);
      want.meanSquares.push(Float32Array.from(ms));
      want.values.push(x.map((xi, i) => xi - (LR * g[i]) / Math.sqrt(ms[i] + EPS)) as Float32Array);
    }
    const before = ours.dispatches;
    const got = await runOptimizer('webgpu', () => new FusedRmsprop(LR, RHO, EPS), init, grads, 'big');
    expect(ours.dispatches - before).toBe(2);
    expectSameRun(got, want, init, `FusedRmsprop, [${shapes.join('], [')}] values`);
  });

  it("training a small dense model with headRmsprop matches tfjs' RMSprop on the CPU", async () => {
    const x = rand([24, 20]);
    const y = rand([24, 4]);
    const init = [rand([20, 16], 0.5), rand([16], 0.1), rand([16, 4], 0.5), rand([4], 0.1)];
    const train = async (name: 'cpu' | 'webgpu'): Promise<Float32Array[]> => {
      await tf.setBackend(name);
      const optimizer = headRmsprop(LR, RHO, EPS);
      // The fused optimizer where our kernels run, tfjs' own elsewhere.
      expect(optimizer.constructor).toBe(name === 'webgpu' ? FusedRmsprop : tf.RMSPropOptimizer);
      const [w1, b1, w2, b2] = init.map((d, i) => tf.variable(tf.tensor(d.values, d.shape), true, `dense_${name}_${i}`));
      const [xs, ys] = [tf.tensor(x.values, x.shape), tf.tensor(y.values, y.shape)];
      try {
        for (let step = 0; step < 5; step++) {
          const cost = optimizer.minimize(() => {
            const h = tf.fused.matMul({ a: xs, b: w1, bias: b1, activation: 'relu' });
            const out = tf.fused.matMul({ a: h, b: w2, bias: b2 });
            return tf.mean(tf.square(tf.sub(out, ys))) as tf.Scalar;
          }, true);
          if (cost) cost.dispose();
        }
        return await Promise.all([w1, b1, w2, b2].map(async (v) => Float32Array.from(await v.data())));
      } finally {
        optimizer.dispose();
        tf.dispose([w1, b1, w2, b2, xs, ys]);
      }
    };
    const want = await train('cpu');
    const before = ours.dispatches;
    const got = await train('webgpu');
    // Per step at least: 2 forward products, 3 gradient products (dW2, dh, dW1), 4 RMSprop steps.
    expect(ours.dispatches - before).toBeGreaterThanOrEqual(5 * 9);
    for (let v = 0; v < init.length; v++) {
      const shape = init[v].shape;
      expectClose({ values: got[v], shape }, { values: want[v], shape }, (i) => 1e-5 + 1e-5 * Math.abs(want[v][i]), `dense model variable ${v} [${shape}]`);
      expect(want[v].some((value, i) => value !== init[v].values[i]), `variable ${v} trained`).toBe(true);
    }
  });

  it('headRmsprop is the fused optimizer only on an accelerated backend; the fused kernel is not on the CPU', async () => {
    await tf.setBackend('webgpu');
    // By constructor: tf.Optimizer's Symbol.hasInstance makes any optimizer `instanceof FusedRmsprop`.
    const fused = headRmsprop(LR, RHO, EPS);
    expect(fused.constructor).toBe(FusedRmsprop);
    fused.dispose();
    await tf.setBackend('cpu');
    const plain = headRmsprop(LR, RHO, EPS);
    expect(plain.constructor).toBe(tf.RMSPropOptimizer);
    plain.dispose();
    const v = tf.variable(tf.ones([3]), true, 'rms_on_cpu');
    const optimizer = new FusedRmsprop(LR, RHO, EPS);
    try {
      expect(() => optimizer.applyGradients({ [v.name]: tf.ones([3]) })).toThrow(/FacegpuRmsprop/);
    } finally {
      optimizer.dispose();
      v.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Gradients

describe('gradients through our kernels', () => {
  it('tf.grads of a dense chain (fused relu layer, plain product, bias) matches the CPU', async () => {
    const inputs = [rand([12, 30]), rand([30, 20]), rand([20]), rand([20, 7]), rand([7])];
    const loss = (x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => {
      const h = tf.fused.matMul({ a: x, b: w1, bias: b1, activation: 'relu' });
      const out = tf.add(tf.matMul(h, w2), b2);
      return tf.sum(tf.mul(out, tf.sin(out)));
    };
    const grads = (...ts: tf.Tensor[]) => {
      const { value, grads: g } = tf.valueAndGrads(loss)(ts);
      return [value, ...g];
    };
    const want = await evaluate('cpu', inputs, grads);
    const { results: got, dispatches } = await onOurs(inputs, grads);
    // Forward: x w1 and h w2; backward: dh = dout w2ᵀ, dw2 = hᵀ dout, dx = dz w1ᵀ, dw1 = xᵀ dz.
    expect(dispatches).toBeGreaterThanOrEqual(6);
    const names = ['loss', 'dx', 'dw1', 'db1', 'dw2', 'db2'];
    for (let i = 0; i < want.length; i++) {
      const tol = 1e-5 * Math.max(1, maxAbs(want[i]));
      expectClose(got[i], want[i], () => tol, names[i]);
      expect(maxAbs(want[i]), `${names[i]} is not all zero`).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 6. The benchmark's baseline: a backend made without shaders runs tfjs' own kernels

describe('the residual join fused into its convolution (pointwiseAddRelu, src/detect/fuse.ts)', () => {
  // 24 -> 40 channels runs on the pointwise kernel (channels in fours), 23 -> 38 on the product.
  for (const [ci, co] of [
    [24, 40],
    [23, 38],
  ]) {
    it(`relu(conv1x1(x) + bias + residual), ${ci} -> ${co} channels, on our kernel, one dispatch, matches the CPU`, async () => {
      const inputs = [rand([2, 9, 11, ci]), rand([1, 1, ci, co]), rand([co]), rand([2, 9, 11, co])];
      const compute = (x: tf.Tensor, f: tf.Tensor, b: tf.Tensor, r: tf.Tensor) => pointwiseAddRelu(x as tf.Tensor4D, f as tf.Tensor4D, b as tf.Tensor1D, r as tf.Tensor4D);
      const [want] = await evaluate('cpu', inputs, compute);
      expect(want.values.some((v) => v === 0) && want.values.some((v) => v > 0)).toBe(true); // the relu cuts
      const { results, dispatches } = await onOurs(inputs, compute);
      expect(dispatches).toBe(1);
      expectClose(results[0], want, () => 1e-5 * Math.max(1, maxAbs(want)), 'pointwiseAddRelu');
    });
  }

  it("rewrites BlazeFace's 31 residual joins, and only joins whose convolution nothing else reads", () => {
    const model = JSON.parse(readFileSync(blazefaceModelFile(), 'utf8')) as { modelTopology: { node: TopologyNode[] }; weightsManifest: { weights: { name: string; shape: number[] }[] }[] };
    const shapes = new Map(model.weightsManifest.flatMap((g) => g.weights).map((w) => [w.name, w.shape]));
    const nodes = model.modelTopology.node;
    const before = nodes.length;
    expect(fuseResidualJoins(nodes, shapes)).toBe(31);
    expect(nodes.length).toBe(before - 62);
    expect(nodes.filter((n) => n.op === 'AddV2' || n.op === 'Add')).toHaveLength(0);
    expect(nodes.filter((n) => n.op === 'FacegpuPointwiseAddRelu')).toHaveLength(31);
    expect(fuseResidualJoins(nodes, shapes)).toBe(0);
    // A convolution whose output is also read elsewhere must stay.
    const conv = (name: string, input: string): TopologyNode => ({
      name,
      op: '_FusedConv2D',
      input: [input, `${name}/w`, `${name}/b`],
      attr: { fused_ops: { list: { s: [btoa('BiasAdd')] } }, strides: { list: { i: ['1', '1', '1', '1'] } } },
    });
    const graph: TopologyNode[] = [
      { name: 'x', op: 'Placeholder' },
      conv('c', 'x'),
      { name: 'add', op: 'AddV2', input: ['x', 'c'] },
      { name: 'relu', op: 'Relu', input: ['add'] },
      { name: 'other', op: 'Relu', input: ['c'] },
    ];
    expect(fuseResidualJoins(graph, new Map([['c/w', [1, 1, 4, 4]]]))).toBe(0);
    graph.pop();
    expect(fuseResidualJoins(graph, new Map([['c/w', [1, 1, 4, 4]]]))).toBe(1);
    expect(graph.map((n) => n.op)).toEqual(['Placeholder', 'FacegpuPointwiseAddRelu']);
    expect(graph[1].input).toEqual(['x', 'c/w', 'c/b', 'x']);
  });

  it('BlazeFace on our kernels finds the faces tfjs finds on the CPU backend, at the same places', async () => {
    const files = [join(CELEB, 'val/ben_afflek/httpcsvkmeuadecafjpg.jpg'), join(ORL, 's1/1.pgm'), join(ORL, 's7/3.pgm')];
    const images = await Promise.all(files.map((f) => NODE_CROP_IO.decode(f)));
    await tf.setBackend('cpu');
    const want = await (await loadBlazeFace()).detectMany(images);
    await tf.setBackend('webgpu');
    const before = ours.dispatches;
    const got = await (await loadBlazeFace()).detectMany(images);
    expect(ours.dispatches - before).toBeGreaterThan(60); // every convolution and join of the run is ours
    expect(got.map((f) => f.length)).toEqual(want.map((f) => f.length));
    expect(want.flat().length).toBeGreaterThanOrEqual(3);
    want.forEach((faces, i) =>
      faces.forEach((f, j) => {
        for (const k of ['x', 'y', 'width', 'height', 'score'] as const) expect(Math.abs(got[i][j][k] - f[k]), `${files[i]} face ${j} ${k}`).toBeLessThan(1e-3);
      }),
    );
  });
});

describe("a webgpu backend set up without our shaders (the benchmark's tfjs baseline)", () => {
  it('accelerateTfjs is idempotent per backend', () => {
    expect(accelerateTfjs(backend, loadShaders())).toBe(ours);
  });

  it('runs none of our kernels and still computes correctly; accelerating a backend later does', async () => {
    // useGpuForTfjs keeps one backend per device, so the baseline needs a device of its own.
    const other = await createNodeGpu();
    extraGpus.push(other);
    const prepare = vi.spyOn(KernelRunner.prototype, 'prepare');
    try {
      const before = ours.dispatches;
      const plain = await useGpuForTfjs(other);
      expect(plain).not.toBe(backend);
      expect(tf.backend()).toBe(plain);
      expect(acceleratedGpu(plain)).toBeNull();
      const inputs = [rand([37, 19]), rand([19, 70]), rand([70]), rand([2, 9, 11, 19]), rand([1, 1, 19, 70])];
      const compute = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor, x: tf.Tensor, f: tf.Tensor) => [
        tf.matMul(a, b),
        tf.fused.matMul({ a, b, bias, activation: 'relu' }),
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu' }),
      ];
      const want = await evaluate('cpu', inputs, compute);
      const got = await evaluate('webgpu', inputs, compute);
      expect(tf.backend()).toBe(plain);
      for (let i = 0; i < want.length; i++) expectClose(got[i], want[i], () => 1e-4 * Math.max(1, maxAbs(want[i])), `baseline output ${i}`);
      expect(prepare).not.toHaveBeenCalled();
      expect(ours.dispatches).toBe(before);
      // The fused RMSprop kernel refuses a backend it was not set up for (no silent fallback).
      const optimizerHere = headRmsprop(LR, RHO, EPS);
      expect(optimizerHere.constructor).toBe(tf.RMSPropOptimizer);
      optimizerHere.dispose();
      const v = tf.variable(tf.ones([3]), true, 'rms_on_baseline');
      const optimizer = new FusedRmsprop(LR, RHO, EPS);
      try {
        expect(() => optimizer.applyGradients({ [v.name]: tf.ones([3]) })).toThrow(/accelerateTfjs/);
      } finally {
        optimizer.dispose();
        v.dispose();
      }

      // The same spy sees our kernels once a backend is set up with the shaders.
      const accelerated = await useGpuForTfjs(other, loadShaders());
      expect(accelerated).toBe(plain);
      const bridge = acceleratedGpu(plain);
      expect(bridge).not.toBeNull();
      const again = await evaluate('webgpu', inputs, compute);
      for (let i = 0; i < want.length; i++) expectClose(again[i], want[i], () => 1e-4 * Math.max(1, maxAbs(want[i])), `accelerated output ${i}`);
      expect(bridge!.dispatches).toBe(3);
      expect(prepare).toHaveBeenCalledTimes(3);
    } finally {
      prepare.mockRestore();
    }
  });
});
