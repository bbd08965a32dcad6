// The workgroup-memory depthwise (shaders/depthwise3x3_tiled.wgsl, src/kernels/depthwise-tiled.ts):
// every tiling the tuner may pick on this device computes exactly what the portable kernel
// computes, over shapes that leave tails everywhere (tile rows and columns, channel groups past
// a workgroup's, both paddings of stride 2, a batch); its candidates follow the device's
// limits; it is off in every hand-picked tuning; and its shader is part of the tuning key.
// On lavapipe by default; FACEGPU_ADAPTER=swiftshader for the other CPU adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { depthwiseOp } from '../src/kernels/depthwise.ts';
import { DEFAULT_TUNING, tuningFor, type Tuning } from '../src/kernels/common.ts';
import { depthwiseTiledCost, depthwiseTiledFits } from '../src/kernels/depthwise-tiled.ts';
import { candidatesFor, choiceOf, DEFAULT_WORKGROUP_LIMITS } from '../src/tune/candidates.ts';
import { shadersHash } from '../src/tune/key.ts';
import { packLayerWeights } from '../src/weights/pack.ts';
import { testGpu, type TestGpu } from './helpers/gpu.ts';
import { fromVec4Layout, maxAbs, randomArray, toVec4Layout } from './helpers/layout.ts';

let g: TestGpu;
beforeAll(async () => {
  g = await testGpu();
});
afterAll(() => g?.close());

const tiled = (cg: number, tw: number, th: number, ry: number): Tuning => ({ ...DEFAULT_TUNING, dwTile: cg, dwTileW: tw, dwTileH: th, dwTileRows: ry });

describe('the tiled depthwise kernel', () => {
  const cases: { h: number; w: number; c: number; stride: number }[] = [
    // Tails in tile rows and columns, 3 channel groups (under every CG), odd sizes.
    { h: 13, w: 11, c: 12, stride: 1 },
    { h: 13, w: 11, c: 12, stride: 2 },
    // 10 channel groups, the last half empty: several channel workgroups and a partial one.
    { h: 17, w: 19, c: 38, stride: 1 },
    // Even size at stride 2 (no padding before), odd (one before).
    { h: 14, w: 16, c: 40, stride: 2 },
    { h: 9, w: 10, c: 20, stride: 2 },
    // Smaller than one tile.
    { h: 3, w: 2, c: 8, stride: 1 },
  ];
  it.each(cases)('$h x $w x $c /$stride: its tilings match the portable kernel', async ({ h, w, c, stride }) => {
    const n = 2;
    const seed = h * 31 + w + c + stride;
    // ReLU6 as in the network, with values that keep every output inside (0, 6) (checked
    // below): none is clipped, so a wrong tap, halo row or column always shows.
    const L = { name: 'dw', kind: 'depthwise' as const, stride, inChannels: c, outChannels: c, activation: 'relu6' as const, kernel: randomArray(9 * c, seed, -0.25, 0.25), bias: randomArray(c, seed + 1, 2.5, 3.5) };
    const p = packLayerWeights(L);
    const xb = g.upload(toVec4Layout(randomArray(n * h * w * c, seed + 2, -1, 1), n * h * w, c));
    const wb = g.upload(p.weights);
    const bb = g.upload(p.bias);
    const px = n * Math.ceil(h / stride) * Math.ceil(w / stride);
    const bytes = px * Math.ceil(c / 4) * 16;
    const op = (t: Tuning, y: GPUBuffer) => depthwiseOp({ label: 'dw', x: xb, w: wb, b: bb, y, activation: 'relu6', shape: { n, h, w, c }, stride }, t);
    const runWith = async (t: Tuning) => {
      // A sentinel in every output: one the kernel does not write shows.
      const y = g.upload(new Float32Array(bytes / 4).fill(1234.5));
      return g.run(op(t, y), y, bytes);
    };
    const ref = await runWith(DEFAULT_TUNING);
    expect(fromVec4Layout(ref, px, c).every((v) => v > 0 && v < 6)).toBe(true);
    // The first and last tiling the tuner has for this device (test/tune.test.ts runs them
    // all), and two no candidate has: rows per invocation = the tile's 5 rows on a 3-wide
    // tile of 2 channel groups, and a tile of one column, one channel group.
    const cands = candidatesFor({ key: 'dw', kind: 'depthwise', stride }, tuningFor(g.gpu.device), g.gpu.device.limits).filter((x) => x.choice.dwTile);
    expect(cands.length).toBeGreaterThanOrEqual(4);
    const tilings = [cands[0], cands[cands.length - 1]].map((x) => ({ name: x.name, t: { ...DEFAULT_TUNING, ...x.choice } }));
    tilings.push({ name: 'cg2 3x5 ry5', t: tiled(2, 3, 5, 5) }, { name: 'cg1 1x2 ry1', t: tiled(1, 1, 2, 1) });
    const tol = 1e-5 * Math.max(1, maxAbs(ref)) * 10;
    for (const { name, t } of tilings) {
      expect(op(t, xb).kernel.shader, name).toBe('depthwise3x3_tiled');
      const got = await runWith(t);
      let worst = 0;
      let at = -1;
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(got[i] - ref[i]);
        if (!(d <= worst)) [worst, at] = [d, i];
      }
      expect(worst, `${name}: output ${at} is ${got[at]}, the portable kernel's ${ref[at]}`).toBeLessThan(tol);
    }
  });

  it('refuses a tiling whose rows per invocation do not divide its rows, and a stride it does not take', () => {
    const prob = { label: 'dw', x: null as unknown as GPUBuffer, w: null as unknown as GPUBuffer, b: null as unknown as GPUBuffer, y: null as unknown as GPUBuffer, activation: 'none' as const, shape: { n: 1, h: 8, w: 8, c: 8 }, stride: 1 };
    expect(() => depthwiseOp(prob, tiled(8, 4, 6, 4))).toThrow(/rows per invocation must divide/);
    expect(() => depthwiseOp({ ...prob, stride: 3 }, tiled(8, 4, 4, 1))).toThrow(/stride 1 or 2/);
  });
});

describe('its candidates', () => {
  it("fit the device's workgroup memory and invocations, and are off in the hand-picked tunings", () => {
    const base = tuningFor(g.gpu.device);
    expect(DEFAULT_TUNING.dwTile).toBe(0);
    expect(base.dwTile).toBe(0);
    for (const stride of [1, 2]) {
      const shape = { key: 'dw', kind: 'depthwise' as const, stride };
      // The hand-picked choice is unchanged: no tiled field in it.
      expect(Object.keys(choiceOf('depthwise', base, stride)).some((k) => k.startsWith('dwTile'))).toBe(false);
      expect(candidatesFor(shape, base)[0].choice).toEqual(choiceOf('depthwise', base, stride));
      const small = candidatesFor(shape, base).filter((x) => x.choice.dwTile);
      const big = candidatesFor(shape, base, { maxComputeWorkgroupStorageSize: 65536, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024 }).filter((x) => x.choice.dwTile);
      const tiny = candidatesFor(shape, base, { ...DEFAULT_WORKGROUP_LIMITS, maxComputeWorkgroupStorageSize: 6000 }).filter((x) => x.choice.dwTile);
      expect(small.length).toBeGreaterThanOrEqual(4);
      expect(big.length).toBeGreaterThan(small.length);
      expect(tiny.length).toBeLessThan(small.length);
      for (const [list, lim] of [[small, DEFAULT_WORKGROUP_LIMITS], [tiny, { ...DEFAULT_WORKGROUP_LIMITS, maxComputeWorkgroupStorageSize: 6000 }]] as const) {
        for (const x of list) {
          const t = { ...DEFAULT_TUNING, ...x.choice };
          const cost = depthwiseTiledCost(t, stride);
          expect(cost.bytes, x.name).toBeLessThanOrEqual(lim.maxComputeWorkgroupStorageSize);
          expect(cost.invocations, x.name).toBeLessThanOrEqual(lim.maxComputeInvocationsPerWorkgroup);
          expect(depthwiseTiledFits(t, stride, lim)).toBe(true);
        }
      }
      // On this device: what its own limits allow.
      const lim = g.gpu.device.limits;
      const here = candidatesFor(shape, base, lim).filter((x) => x.choice.dwTile);
      expect(here.every((x) => depthwiseTiledFits({ ...DEFAULT_TUNING, ...x.choice }, stride, lim))).toBe(true);
    }
    // Other kinds get none.
    expect(candidatesFor({ key: 'pw', kind: 'pointwise', stride: 1 }, base).some((x) => x.choice.dwTile)).toBe(false);
  });

  it("are in the tuning key: the shader's source is hashed with the others", () => {
    const shaders = loadShaders();
    expect(shaders.depthwise3x3_tiled).toContain('var<workgroup> tile');
    expect(shadersHash({ ...shaders, depthwise3x3_tiled: `${shaders.depthwise3x3_tiled}\n// edited` })).not.toBe(shadersHash(shaders));
    const { depthwise3x3_tiled: _, ...without } = shaders;
    expect(shadersHash(without)).not.toBe(shadersHash(shaders));
  });
});
