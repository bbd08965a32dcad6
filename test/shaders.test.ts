// Each WGSL kernel against the matching TensorFlow.js op (CPU backend, float32) on random
// data over awkward shapes: odd sizes, stride 2 on odd and even sizes, batch 1 and 5, channel
// counts that are and are not multiples of 4.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { depthwiseOp, stripsPerWorkgroup } from '../src/kernels/depthwise.ts';
import { globalAvgPoolOp } from '../src/kernels/pool.ts';
import { pointwiseOp } from '../src/kernels/pointwise.ts';
import { preprocessOp } from '../src/kernels/preprocess.ts';
import { stemOp } from '../src/kernels/stem.ts';
import { STEM_RGB8_MAX_GROUPS, stemRgb8Op } from '../src/kernels/stem-rgb8.ts';
import { samePadding, DEFAULT_TUNING, type Tuning } from '../src/kernels/common.ts';
import { KernelRunner } from '../src/gpu/runner.ts';
import { packLayerWeights } from '../src/weights/pack.ts';
import { packFloat16PairsExact } from '../src/weights/half.ts';
import type { Activation, ConvLayer } from '../src/weights/spec.ts';
import { testGpu, type TestGpu } from './helpers/gpu.ts';
import { fromVec4Layout, maxAbs, maxAbsDiff, paddingValues, randomArray, toVec4Layout } from './helpers/layout.ts';

let g: TestGpu;
beforeAll(async () => {
  await tf.setBackend('cpu');
  g = await testGpu();
});
afterAll(() => g?.close());

const activate = (t: tf.Tensor, act: Activation) => (act === 'relu6' ? tf.clipByValue(t, 0, 6) : act === 'relu' ? tf.relu(t) : t);

/** Tolerance: float32 sums in a different order. */
const tol = (ref: Float32Array) => 1e-5 * Math.max(1, maxAbs(ref)) * 10;

function layer(kind: ConvLayer['kind'], cin: number, cout: number, stride: number, act: Activation, seed: number): ConvLayer {
  const taps = kind === 'pointwise' ? 1 : 9;
  const kernel = randomArray(kind === 'depthwise' ? taps * cout : taps * cin * cout, seed);
  return { name: `${kind}-${seed}`, kind, stride, inChannels: cin, outChannels: cout, activation: act, kernel, bias: randomArray(cout, seed + 1, -0.5, 0.5) };
}

// Every kernel variant the engine can pick, each with tiles that leave pixel and channel tails:
// the portable kernels (two tilings), and the subgroup/tiled kernels with the CPU-adapter
// tiles (8 lanes sharing weights) and the GPU-style tiles (4 lanes).
const TUNINGS: [string, Tuning][] = [
  ['portable', DEFAULT_TUNING],
  ['portable odd tiles', { ...DEFAULT_TUNING, pwPixels: 3, pwChannels: 3, wg: 32, pwWg: 16 }],
  ['subgroup 8, CPU tiles', { ...DEFAULT_TUNING, subgroup: 8, sgWg: 8, sgPixels: 4, stemPixels: 2, dwRows: 5, dwCols: 4, dwCols2: 3, dwWg: 8 }],
  ['subgroup 4, GPU tiles', { ...DEFAULT_TUNING, subgroup: 4, sgWg: 64, sgPixels: 1, stemPixels: 1, dwRows: 2, dwCols: 2, dwCols2: 1, dwWg: 32 }],
];

/**
 * In the enclosing describe: skip (reported as skipped) the tests of a tuning whose subgroup
 * kernels need more lanes than the device's subgroups have (SwiftShader has 4: its "subgroup
 * 8" kernels would read lanes that do not exist).
 */
function onlyWhereItRuns(tuning: Tuning): void {
  beforeEach((ctx) => {
    const lanes = (g.gpu.device.adapterInfo as GPUAdapterInfo & { subgroupMinSize?: number }).subgroupMinSize ?? 0;
    if (tuning.subgroup > 0 && !(g.gpu.device.features.has('subgroups') && lanes >= tuning.subgroup)) ctx.skip();
  });
}

describe('shader includes', () => {
  it('pulls shared helpers in, and names a missing one', () => {
    const runner = new KernelRunner(g.gpu.device, { k: '// #include helper\nfn main() {}', helper: 'fn helper() {}', bad: '// #include nope' });
    expect(runner.source({ shader: 'k', constants: { ACT: 2 } })).toContain('const ACT: u32 = 2u;\nfn helper() {}\nfn main() {}');
    expect(() => runner.source({ shader: 'bad' })).toThrow(/shaders\/bad\.wgsl includes "nope", but there is no shaders\/nope\.wgsl/);
  });

  it("pulls in includes' own includes, each file once", () => {
    const runner = new KernelRunner(g.gpu.device, {
      k: '// #include io\n// #include act\nfn main() {}',
      io: '// #include act\nfn io() {}',
      act: 'fn act() {}',
      loop: '// #include loop\nfn loop() {}',
      deep: '// #include io\n// #include missing',
    });
    const src = runner.source({ shader: 'k' });
    expect(src).toContain('fn act() {}\nfn io() {}\n\nfn main() {}');
    expect(src.match(/fn act\(\)/g)).toHaveLength(1);
    expect(runner.source({ shader: 'loop' }).match(/fn loop\(\)/g)).toHaveLength(1);
    expect(() => runner.source({ shader: 'deep' })).toThrow(/shaders\/deep\.wgsl includes "missing"/);
  });
});

describe('preprocess.wgsl', () => {
  it.each([
    [1, 5, 7, 1, 0],
    [5, 3, 3, 1 / 127.5, -1],
  ])('n=%i %ix%i scale %f offset %f', async (n, h, w, scale, offset) => {
    const pixels = n * h * w;
    const bytes = Uint8Array.from(randomArray(pixels * 3, n * 7 + h, 0, 256), (v) => Math.floor(v));
    const out = g.empty(pixels * 16);
    const y = await g.run(preprocessOp({ src: g.upload(bytes), dst: out, pixels, scale, offset }, DEFAULT_TUNING), out, pixels * 16);
    const ref = Float32Array.from(bytes, (b) => b * scale + offset);
    expect(maxAbsDiff(fromVec4Layout(y, pixels, 3), ref)).toBeLessThan(1e-6);
    expect(paddingValues(y, pixels, 3).every((v) => v === 0)).toBe(true);
  });
});

// halfWeights: kernels with float16 weights that are exact (as in the default face backbone), read as packed pairs.
const STEM_CASES = TUNINGS.flatMap(([name, tuning]) => [
  [name, tuning, false] as const,
  ...(tuning.subgroup > 0 ? [[`${name}, float16 weights`, tuning, true] as const] : []),
]);
describe.each(STEM_CASES)('stem conv 3x3, %s', (_name, tuning, halfWeights) => {
  onlyWhereItRuns(tuning);
  it.each([
    // n, h, w, cin, cout, stride, act
    [1, 9, 7, 3, 8, 2, 'relu6'],
    [5, 8, 6, 3, 6, 2, 'relu6'],
    [1, 7, 7, 5, 12, 1, 'none'],
    [5, 11, 10, 3, 32, 2, 'relu'],
    [1, 224, 224, 3, 32, 2, 'relu6'],
  ] as const)('n=%i %ix%i %i->%i stride %i %s', async (n, h, w, cin, cout, stride, act) => {
    const L = layer('stem', cin, cout, stride, act, h * 31 + cout);
    if (halfWeights) L.kernel = L.kernel.map((v) => Math.round(v * 1024) / 1024); // exact in float16
    const x = randomArray(n * h * w * cin, 100 + h, 0, 6);
    const oh = samePadding(h, stride).out;
    const ow = samePadding(w, stride).out;
    const ref = await tf.tidy(() =>
      activate(tf.add(tf.conv2d(tf.tensor4d(x, [n, h, w, cin]), tf.tensor4d(L.kernel, [3, 3, cin, cout]), stride, 'same'), tf.tensor1d(L.bias)), act),
    ).data() as Float32Array;
    const p = packLayerWeights(L);
    const weights = halfWeights ? new Uint8Array(packFloat16PairsExact(p.weights)!.buffer) : p.weights;
    const outBytes = n * oh * ow * Math.ceil(cout / 4) * 16;
    const out = g.empty(outBytes);
    const op = stemOp({ label: 'stem', x: g.upload(toVec4Layout(x, n * h * w, cin)), w: g.upload(weights), b: g.upload(p.bias), y: out, shape: { n, h, w, c: cin }, cout, stride, activation: act, halfWeights }, tuning);
    const y = await g.run(op, out, outBytes);
    expect(maxAbsDiff(fromVec4Layout(y, n * oh * ow, cout), ref)).toBeLessThan(tol(ref));
    expect(paddingValues(y, n * oh * ow, cout).every((v) => v === 0)).toBe(true);
  });
});

// The stem that reads packed 8-bit RGB and preprocesses it itself: its tiles start at every
// byte offset within a word (rows of odd byte counts, batches of several images), "SAME"
// padding on the left (odd sizes at stride 2) is zero after preprocessing, not byte 0.
const RGB8_TILINGS: [string, Tuning][] = [
  ['CPU tiles (8 lanes, 8 pixels)', { ...DEFAULT_TUNING, stemRgb8: 8, stemPixels: 8 }],
  ['GPU tiles (64, 1 pixel)', { ...DEFAULT_TUNING, stemRgb8: 64, stemPixels: 1 }],
  ['odd tiles (16, 3 pixels)', { ...DEFAULT_TUNING, stemRgb8: 16, stemPixels: 3 }],
];
describe.each(RGB8_TILINGS)('stem conv 3x3 on 8-bit RGB, %s', (_name, tuning) => {
  it.each([
    // n, h, w, cout, stride, act, scale, offset
    [1, 9, 7, 8, 2, 'relu6', 1, 0],
    [5, 8, 6, 6, 2, 'relu6', 1 / 127.5, -1],
    [3, 7, 5, 12, 1, 'none', 1 / 255, 0],
    [2, 11, 13, 40, 2, 'relu', 1 / 127.5, -1],
    [1, 224, 224, 32, 2, 'relu6', 1, 0],
  ] as const)('n=%i %ix%i 3->%i stride %i %s, byte x %f + %f', async (n, h, w, cout, stride, act, scale, offset) => {
    const L = layer('stem', 3, cout, stride, act, h * 37 + cout);
    const pixels = Uint8Array.from(randomArray(n * h * w * 3, 200 + h, 0, 256), Math.floor);
    const x = Float32Array.from(pixels, (v) => Math.fround(Math.fround(v * Math.fround(scale)) + Math.fround(offset)));
    const oh = samePadding(h, stride).out;
    const ow = samePadding(w, stride).out;
    const ref = await tf.tidy(() =>
      activate(tf.add(tf.conv2d(tf.tensor4d(x, [n, h, w, 3]), tf.tensor4d(L.kernel, [3, 3, 3, cout]), stride, 'same'), tf.tensor1d(L.bias)), act),
    ).data() as Float32Array;
    const p = packLayerWeights(L);
    const outBytes = n * oh * ow * Math.ceil(cout / 4) * 16;
    const out = g.empty(outBytes);
    const src = g.upload(Uint8Array.from({ length: Math.ceil(pixels.length / 4) * 4 }, (_, i) => pixels[i] ?? 0));
    const op = stemRgb8Op({ label: 'stem', src, w: g.upload(p.weights), b: g.upload(p.bias), y: out, shape: { n, h, w, c: 3 }, cout, stride, activation: act, scale, offset }, tuning);
    const y = await g.run(op, out, outBytes);
    expect(maxAbsDiff(fromVec4Layout(y, n * oh * ow, cout), ref)).toBeLessThan(tol(ref));
    expect(paddingValues(y, n * oh * ow, cout).every((v) => v === 0)).toBe(true);
  });
  it('refuses what it cannot run, naming the layer', () => {
    const b = g.empty(16);
    const p = { label: 'stem0', src: b, w: b, b, y: b, stride: 2, activation: 'none' as const, scale: 1, offset: 0 };
    expect(() => stemRgb8Op({ ...p, shape: { n: 1, h: 3, w: 3, c: 4 }, cout: 8 }, tuning)).toThrow('stem0: the 8-bit RGB stem takes 3 input channels, not 4');
    expect(() => stemRgb8Op({ ...p, shape: { n: 1, h: 3, w: 3, c: 3 }, cout: STEM_RGB8_MAX_GROUPS * 4 + 1 }, tuning)).toThrow(/stem0: the 8-bit RGB stem keeps at most 64 output channels/);
    expect(() => stemRgb8Op({ ...p, shape: { n: 1, h: 3, w: 3, c: 3 }, cout: 8 }, { ...tuning, stemRgb8: 0 })).toThrow(/needs Tuning.stemRgb8/);
  });
});

describe('depthwise strips per workgroup', () => {
  it('packs whole strips where the channel groups leave lanes idle, within 256 invocations', () => {
    expect(stripsPerWorkgroup(16, 8)).toBe(1); // every MobileNet layer on CPU adapters
    expect(stripsPerWorkgroup(6, 8)).toBe(4); // BlazeFace's 24 channels: 24 lanes, none idle
    expect(stripsPerWorkgroup(12, 8)).toBe(2);
    expect(stripsPerWorkgroup(3, 8)).toBe(8);
    expect(stripsPerWorkgroup(6, 4)).toBe(2);
    expect(stripsPerWorkgroup(8, 32)).toBe(4);
    expect(stripsPerWorkgroup(129, 8)).toBe(1); // 8 x 129 lanes would be too many
  });

  it('layers packed into the same workgroup size share one pipeline: lanes per strip are a uniform', () => {
    const b = g.empty(16);
    const op = (c: number) => depthwiseOp({ label: `dw${c}`, x: b, w: b, b, y: b, shape: { n: 1, h: 64, w: 64, c }, stride: 1, activation: 'none' }, { ...DEFAULT_TUNING, subgroup: 8, dwWg: 8 });
    // BlazeFace's 24 and 48 channels: 4 strips of 6 lanes, 2 of 12, both 24 lanes.
    expect(op(24).kernel).toEqual(op(48).kernel);
    expect([op(24).uniforms.gw, op(48).uniforms.gw]).toEqual([6, 12]);
  });

  it("divides lane numbers by gw exactly with the shader's multiply and shift, for every gw and lane up to 256", () => {
    const wrong: string[] = [];
    for (let gw = 1; gw <= 256; gw++) {
      const recip = Math.ceil(65536 / gw); // the op's gw_recip
      for (let n = 0; n <= 256; n++) if ((n * recip) >>> 16 !== Math.floor(n / gw)) wrong.push(`${n} / ${gw}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe.each(TUNINGS)('depthwise 3x3, %s', (_name, tuning) => {
  onlyWhereItRuns(tuning);
  it.each([
    [1, 7, 9, 4, 1, 'relu6'],
    [5, 7, 7, 6, 2, 'relu6'],
    [1, 8, 10, 13, 2, 'none'],
    [5, 5, 4, 8, 1, 'relu'],
    [1, 1, 1, 3, 2, 'relu6'],
    [1, 14, 14, 64, 2, 'relu6'],
  ] as const)('n=%i %ix%i c=%i stride %i %s', async (n, h, w, c, stride, act) => {
    const L = layer('depthwise', c, c, stride, act, h * 17 + c);
    const x = randomArray(n * h * w * c, 200 + w, 0, 6);
    const oh = samePadding(h, stride).out;
    const ow = samePadding(w, stride).out;
    const ref = await tf.tidy(() =>
      activate(tf.add(tf.depthwiseConv2d(tf.tensor4d(x, [n, h, w, c]), tf.tensor4d(L.kernel, [3, 3, c, 1]), stride, 'same'), tf.tensor1d(L.bias)), act),
    ).data() as Float32Array;
    const p = packLayerWeights(L);
    const outBytes = n * oh * ow * Math.ceil(c / 4) * 16;
    const out = g.empty(outBytes);
    const op = depthwiseOp({ label: 'dw', x: g.upload(toVec4Layout(x, n * h * w, c)), w: g.upload(p.weights), b: g.upload(p.bias), y: out, shape: { n, h, w, c }, stride, activation: act }, tuning);
    const y = await g.run(op, out, outBytes);
    expect(maxAbsDiff(fromVec4Layout(y, n * oh * ow, c), ref)).toBeLessThan(tol(ref));
    expect(paddingValues(y, n * oh * ow, c).every((v) => v === 0)).toBe(true);
  });
});

describe('pointwise 1x1', () => {
  const cases = [
    // n, h, w, cin, cout, act
    [1, 7, 9, 5, 6, 'relu6'],
    [5, 3, 5, 8, 8, 'none'],
    [1, 13, 11, 32, 64, 'relu6'],
    [5, 7, 7, 13, 24, 'relu'],
    [1, 1, 1, 4, 12, 'relu6'],
    [1, 7, 7, 1024, 1024, 'relu6'],
  ] as const;
  for (const [name, tuning] of TUNINGS) {
    describe(name, () => {
      onlyWhereItRuns(tuning);
      // The subgroup kernels also read weights that are exactly float16 (as in the default face
      // backbone) as packed pairs.
      for (const half of tuning.subgroup > 0 ? [false, true] : [false]) {
        it.each(cases)(`${half ? 'float16 weights: ' : ''}n=%i %ix%i %i->%i %s`, async (n, h, w, cin, cout, act) => {
          const L = layer('pointwise', cin, cout, 1, act, cin * (half ? 7 : 13) + cout);
          if (half) L.kernel = L.kernel.map((v) => Math.round(v * 1024) / 1024); // multiples of 2^-10 in [-1, 1]: exact in float16
          const px = n * h * w;
          const x = randomArray(px * cin, (half ? 400 : 300) + cin, 0, 6);
          const ref = await tf.tidy(() =>
            activate(tf.add(tf.matMul(tf.tensor2d(x, [px, cin]), tf.tensor2d(L.kernel, [cin, cout])), tf.tensor1d(L.bias)), act),
          ).data() as Float32Array;
          const p = packLayerWeights(L);
          const pairs = half ? packFloat16PairsExact(p.weights) : null;
          if (half) expect(pairs).not.toBeNull();
          const outBytes = px * Math.ceil(cout / 4) * 16;
          const out = g.empty(outBytes);
          const weights = pairs ? new Uint8Array(pairs.buffer) : p.weights;
          const op = pointwiseOp({ label: 'pw', x: g.upload(toVec4Layout(x, px, cin)), w: g.upload(weights), b: g.upload(p.bias), y: out, pixels: px, cin, cout, activation: act, halfWeights: half }, tuning);
          expect(op.kernel.constants?.WH ?? 0).toBe(half ? 1 : 0);
          const y = await g.run(op, out, outBytes);
          expect(maxAbsDiff(fromVec4Layout(y, px, cout), ref)).toBeLessThan(tol(ref));
          expect(paddingValues(y, px, cout).every((v) => v === 0)).toBe(true);
        });
      }
    });
  }
  it('refuses float16 weights for the portable kernels', () => {
    const b = g.empty(16);
    expect(() => pointwiseOp({ label: 'pw', x: b, w: b, b, y: b, pixels: 1, cin: 4, cout: 4, activation: 'none', halfWeights: true }, DEFAULT_TUNING)).toThrow(/subgroup or tiled pointwise/);
    expect(() => stemOp({ label: 'stem', x: b, w: b, b, y: b, shape: { n: 1, h: 3, w: 3, c: 3 }, cout: 4, stride: 2, activation: 'none', halfWeights: true }, DEFAULT_TUNING)).toThrow(/subgroup stem/);
  });
});

describe('global_avg_pool.wgsl', () => {
  it.each([
    [1, 7, 7, 1024],
    [5, 5, 3, 10],
    [5, 1, 1, 6],
  ])('n=%i %ix%i c=%i', async (n, h, w, c) => {
    const x = randomArray(n * h * w * c, 400 + c, 0, 6);
    const ref = await tf.tidy(() => tf.mean(tf.tensor4d(x, [n, h, w, c]), [1, 2])).data() as Float32Array;
    const out = g.empty(n * c * 4);
    const y = await g.run(globalAvgPoolOp({ x: g.upload(toVec4Layout(x, n * h * w, c)), y: out, shape: { n, h, w, c } }, DEFAULT_TUNING), out, n * c * 4);
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
  });
});
