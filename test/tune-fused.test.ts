// The fused depthwise 3x3 + pointwise kernel (shaders/depthwise_pointwise_tiled.wgsl,
// src/kernels/depthwise-pointwise.ts) computes what the portable depthwise followed by the
// portable pointwise compute, over shapes that leave tails everywhere (pixel tiles, input
// channel steps, output channel slices, both paddings of stride 2, a batch), in the tilings
// the tuner may try on this device, which fit its workgroup-memory limit; an engine whose
// tuning fuses every pair gives the default engine's descriptors; the tuner times the fused
// candidate with the depthwise it replaces credited.
// On lavapipe by default; FACEGPU_ADAPTER=swiftshader for the other CPU adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBackboneDir } from '../src/backbones.ts';
import { KernelRunner } from '../src/gpu/runner.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { depthwiseOp } from '../src/kernels/depthwise.ts';
import { pointwiseOp } from '../src/kernels/pointwise.ts';
import { DEFAULT_TUNING, tuningFor, type Tuning } from '../src/kernels/common.ts';
import { depthwisePointwiseCost, depthwisePointwiseFits, depthwisePointwiseOp } from '../src/kernels/depthwise-pointwise.ts';
import type { WorkgroupLimits } from '../src/kernels/depthwise-tiled.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import type { LayerKind, TunedKernels } from '../src/mobilenet/tuned.ts';
import { candidatesFor, choiceOf, DEFAULT_WORKGROUP_LIMITS, type LayerShapeInfo } from '../src/tune/candidates.ts';
import { shadersHash } from '../src/tune/key.ts';
import { distinctShapes, tuneBackbone } from '../src/tune/tuner.ts';
import type { Backbone } from '../src/weights/format.ts';
import { packLayerWeights } from '../src/weights/pack.ts';
import { loadBackbone } from '../src/weights/store.ts';
import { packFloat16PairsExact } from '../src/weights/half.ts';
import { readsHalfWeights } from '../src/mobilenet/half-weights.ts';
import { expectSameDescriptors } from './helpers/engine-compare.ts';
import { testGpu, type TestGpu } from './helpers/gpu.ts';
import { fromVec4Layout, maxAbs, randomArray, toVec4Layout } from './helpers/layout.ts';

let g: TestGpu;
beforeAll(async () => {
  g = await testGpu();
});
afterAll(() => g?.close());

const fusable = { key: 'pw', kind: 'pointwise' as const, stride: 1, fusable: true };

describe('the fused depthwise + pointwise kernel', () => {
  const cases: { h: number; w: number; cin: number; cout: number; stride: number }[] = [
    // 10 input channel groups (more than one step of 4 or 8, with a tail), pixel tails.
    { h: 13, w: 11, cin: 40, cout: 20, stride: 1 },
    { h: 13, w: 11, cin: 40, cout: 20, stride: 2 },
    // Channels not multiples of 4; output channel groups past one slice (co4 = 20 > BN).
    { h: 7, w: 9, cin: 6, cout: 78, stride: 1 },
    // Even size at stride 2 (no padding before).
    { h: 10, w: 8, cin: 12, cout: 16, stride: 2 },
  ];
  it.each(cases)('$h x $w x $cin -> $cout /$stride: every candidate tiling matches the portable depthwise then pointwise', async ({ h, w, cin, cout, stride }) => {
    const n = 2;
    const seed = h * 17 + w + cin + cout + stride;
    // ReLU6 after both layers, as in the network, with values that keep every output of both
    // inside (0, 6): none is clipped, so a wrong tap or halo shows through the pointwise.
    const dw = packLayerWeights({ name: 'dw', kind: 'depthwise', stride, inChannels: cin, outChannels: cin, activation: 'relu6', kernel: randomArray(9 * cin, seed, -0.25, 0.25), bias: randomArray(cin, seed + 1, 2.5, 3.5) });
    // Pointwise weights exact in float16 (multiples of 2^-14), so the float16 path reads the same values.
    const pwKernel = randomArray(cin * cout, seed + 2, -0.4 / cin, 0.4 / cin).map((v) => Math.round(v * 16384) / 16384);
    const pw = packLayerWeights({ name: 'pw', kind: 'pointwise', stride: 1, inChannels: cin, outChannels: cout, activation: 'relu6', kernel: pwKernel, bias: randomArray(cout, seed + 3, 2.5, 3.5) });
    const half = packFloat16PairsExact(pw.weights);
    expect(half).not.toBeNull();
    const pwW16 = g.upload(new Uint8Array(half!.buffer));
    const xb = g.upload(toVec4Layout(randomArray(n * h * w * cin, seed + 4, -1, 1), n * h * w, cin));
    const [dwW, dwB, pwW, pwB] = [dw.weights, dw.bias, pw.weights, pw.bias].map((a) => g.upload(a));
    const oh = Math.ceil(h / stride);
    const ow = Math.ceil(w / stride);
    const px = n * oh * ow;
    const midBytes = px * Math.ceil(cin / 4) * 16;
    const bytes = px * Math.ceil(cout / 4) * 16;
    const shape = { n, h, w, c: cin };
    // The reference: the portable kernels one after the other, through global memory.
    const mid = g.empty(midBytes);
    const dwOut = await g.run(depthwiseOp({ label: 'dw', x: xb, w: dwW, b: dwB, y: mid, shape, stride, activation: 'relu6' }, DEFAULT_TUNING), mid, midBytes);
    expect(fromVec4Layout(dwOut, px, cin).every((v) => v > 0 && v < 6)).toBe(true);
    const refY = g.empty(bytes);
    const ref = await g.run(pointwiseOp({ label: 'pw', x: mid, w: pwW, b: pwB, y: refY, pixels: px, cin, cout, activation: 'relu6' }, DEFAULT_TUNING), refY, bytes);
    expect(fromVec4Layout(ref, px, cout).every((v) => v > 0 && v < 6)).toBe(true);

    // Every tiling at stride 1; at stride 2 (which changes only the depthwise part) the first and last.
    const all = candidatesFor(fusable, tuningFor(g.gpu.device), g.gpu.device.limits, g.gpu.device.features).filter((c) => c.choice.dwFuse);
    expect(all.some((c) => c.choice.gemmF16)).toBe(g.gpu.device.features.has('shader-f16'));
    expect(all.length).toBeGreaterThanOrEqual(3);
    const cands = stride === 1 ? all : [all[0], all[all.length - 1]];
    const tol = 1e-5 * Math.max(1, maxAbs(ref)) * 10;
    // Each candidate as the tuner offers it (float16 weights), and the first and last also on
    // float32 weights (where a float16 weight tile must stay float32).
    const runs = [...cands.map((c) => ({ c, half: readsHalfWeights('pointwise', { ...DEFAULT_TUNING, ...c.choice }) })), { c: cands[0], half: false }, { c: cands[cands.length - 1], half: false }];
    expect(runs.filter((r) => r.half).length).toBe(cands.length);
    for (const { c, half: halfWeights } of runs) {
      const t: Tuning = { ...DEFAULT_TUNING, ...c.choice };
      const y = g.upload(new Float32Array(bytes / 4).fill(1234.5));
      const op = depthwisePointwiseOp({ label: 'dw+pw', x: xb, dwW, dwB, w: halfWeights ? pwW16 : pwW, b: pwB, y, shape, stride, dwActivation: 'relu6', cout, activation: 'relu6', halfWeights }, t);
      expect(op.kernel.constants?.WH).toBe(halfWeights ? 1 : 0);
      expect(op.kernel.types?.WT).toBe(halfWeights && c.choice.gemmF16 ? 'f16' : 'f32');
      const got = await g.run(op, y, bytes);
      let worst = 0;
      let at = -1;
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(got[i] - ref[i]);
        if (!(d <= worst)) [worst, at] = [d, i];
      }
      expect(worst, `${c.name}${halfWeights ? '' : ' (float32 weights)'}: output ${at} is ${got[at]}, the portable kernels' ${ref[at]}`).toBeLessThan(tol);
    }
  });

  it("is a candidate only after a depthwise layer, in tilings that fit the device's workgroup memory", () => {
    const base = tuningFor(g.gpu.device);
    expect(DEFAULT_TUNING.dwFuse).toBe(0);
    expect(base.dwFuse).toBe(0);
    expect(candidatesFor({ key: 'pw', kind: 'pointwise', stride: 1 }, base).some((c) => c.choice.dwFuse)).toBe(false);
    const all = candidatesFor(fusable, base).filter((c) => c.choice.dwFuse);
    expect(all.length).toBeGreaterThanOrEqual(3);
    for (const c of all) expect(depthwisePointwiseFits({ ...DEFAULT_TUNING, ...c.choice }, DEFAULT_WORKGROUP_LIMITS)).toBe(true);
    const small = { ...DEFAULT_WORKGROUP_LIMITS, maxComputeWorkgroupStorageSize: 8192 };
    const fewer = candidatesFor(fusable, base, small).filter((c) => c.choice.dwFuse);
    expect(fewer.length).toBeLessThan(all.length);
    for (const c of fewer) expect(depthwisePointwiseCost({ ...DEFAULT_TUNING, ...c.choice }).bytes).toBeLessThanOrEqual(8192);
    // A float16 tile is counted as the float32 tile a layer without exact float16 weights gets.
    const tiling = { ...DEFAULT_TUNING, gemm: 8, gemmRP: 4, gemmRC: 2 };
    const f16Tile = { ...tiling, gemmF16: 1 };
    const f32Tile = { ...tiling, gemmF16: 0 };
    expect(depthwisePointwiseCost(f16Tile).bytes).toBe(depthwisePointwiseCost(f32Tile).bytes);
    // Alone, a fused pointwise choice is refused (it needs its depthwise).
    const b = g.empty(16);
    expect(() => pointwiseOp({ label: 'pw', x: b, w: b, b, y: b, pixels: 1, cin: 4, cout: 4, activation: 'none' }, { ...DEFAULT_TUNING, ...all[0].choice })).toThrow(/runs as one op/);
  });

  it("shares its tiled product with the tiled pointwise (pointwise_tiled_core.wgsl), whose source is in the tuning key", () => {
    const shaders = loadShaders();
    const core = shaders.pointwise_tiled_core;
    expect(core).toContain('var<workgroup> ws');
    const runner = new KernelRunner(g.gpu.device, shaders);
    for (const shader of ['pointwise_tiled', 'depthwise_pointwise_tiled']) {
      expect(shaders[shader]).toContain('// #include pointwise_tiled_core');
      const source = runner.source({ shader });
      expect(source).toContain('var<workgroup> ws');
      expect(source).not.toMatch(/^\/\/ #include /m);
    }
    // An edited or missing include is another key (a tuning of the old product is not reused).
    expect(shadersHash({ ...shaders, pointwise_tiled_core: `${core}\n// edited` })).not.toBe(shadersHash(shaders));
    const { pointwise_tiled_core: _, ...without } = shaders;
    expect(shadersHash(without)).not.toBe(shadersHash(shaders));
  });
});

describe('fused pairs in the network', () => {
  let backbone: Backbone;
  beforeAll(async () => {
    backbone = await loadBackbone(resolveBackboneDir('face'));
  });

  /** The hand-picked kernels, except every pointwise shape after a depthwise: fused (its first tiling on this device). */
  function fusedTuning(batches: number[]): TunedKernels {
    const base = tuningFor(g.gpu.device);
    const out: TunedKernels = { batches: {} };
    for (const b of batches) {
      const choices: TunedKernels['batches'][string] = {};
      for (const { shape, before } of distinctShapes(backbone, b)) {
        const info = { key: shape.key, kind: shape.kind as LayerKind, stride: shape.stride, fusable: before !== null };
        choices[shape.key] = candidatesFor(info, base, g.gpu.device.limits).find((c) => c.choice.dwFuse)?.choice ?? choiceOf(info.kind, base, shape.stride);
      }
      out.batches[String(b)] = choices;
    }
    return out;
  }

  it("an engine running every depthwise + pointwise pair fused gives the default engine's descriptors", async () => {
    const tuned = fusedTuning([1]);
    const plain = new MobileNetEngine(g.gpu, backbone, loadShaders());
    const engine = new MobileNetEngine(g.gpu, backbone, loadShaders(), { tuned });
    try {
      await engine.ready();
      const layers = engine.kernelChoices(1).layers;
      expect(layers.filter((l) => l.shape.startsWith('pointwise'))).toHaveLength(13);
      for (const l of layers.slice(1)) expect(l.kernel, l.layer).toMatch(/^depthwise_pointwise_tiled\(/);
      // Each pair's two layers name the one op they share (the stem is op 0 where it reads the
      // input bytes itself, as on CPU adapters, else op 1 after the preprocessing).
      const pre = layers[0].kernel.startsWith('conv3x3_rgb8(') ? 0 : 1;
      expect(engine.preparedOps(1)[0].desc.kernel.shader).toBe(pre ? 'preprocess' : 'conv3x3_rgb8');
      expect(layers.map((l) => l.op)).toEqual([pre, ...Array.from({ length: 13 }, (_, i) => [i + pre + 1, i + pre + 1]).flat()]);
      // One op per pair: (preprocess,) stem, 13 pairs, pool.
      expect(engine.preparedOps(1).length).toBe(pre + 1 + 13 + 1);
      expect(plain.preparedOps(1).length).toBe(pre + 1 + 26 + 1);
      await expectSameDescriptors(plain, engine, 60);
    } finally {
      engine.destroy();
      plain.destroy();
    }
  }, 120_000);

  it('the tuner times a fused candidate with its depthwise credited, and records it', async () => {
    // Two shapes get the fused candidate (the last two pointwise shapes: 7x7); the others only their hand-picked kernel.
    const shapes = distinctShapes(backbone, 1).filter((s) => s.shape.kind === 'pointwise').slice(-2).map((s) => s.shape.key);
    const narrow = (shape: LayerShapeInfo, t: Tuning, limits: WorkgroupLimits) => {
      const all = candidatesFor(shape, t, limits);
      return shapes.includes(shape.key) ? [all[0], all.find((c) => c.choice.dwFuse)!] : [all[0]];
    };
    const { record } = await tuneBackbone(g.gpu, backbone, loadShaders(), { batches: [1], rounds: 1, candidates: narrow });
    for (const key of shapes) {
      const r = record.report.find((x) => x.shape === key)!;
      expect(r.candidates).toHaveLength(2);
      const dwKey = distinctShapes(backbone, 1).find((s) => s.shape.key === key)!.before!.shape.key;
      const dwMs = record.report.find((x) => x.shape === dwKey)!.candidates[0].ms!;
      expect(r.candidates[1]).toMatchObject({ name: expect.stringMatching(/^depthwise_pointwise_tiled /), kernel: expect.stringMatching(/^depthwise_pointwise_tiled\(/), depthwiseCredit: dwMs });
      expect(r.candidates[0].depthwiseCredit).toBeUndefined();
      expect(r.candidates[1].ms ?? r.candidates[1].pruned).toEqual(expect.any(Number));
    }
    // Whatever was chosen runs (a fused choice included) and the record is a valid tuning.
    const engine = new MobileNetEngine(g.gpu, backbone, loadShaders(), { tuned: record.kernels });
    try {
      await engine.ready();
    } finally {
      engine.destroy();
    }
  }, 120_000);
});
