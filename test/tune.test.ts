// The tuner (src/tune/): every candidate kernel computes what the portable kernel computes;
// a stored tuning is read back without timing anything, and a changed adapter key (another
// driver) is tuned again; an engine on tuned kernels gives the default engine's descriptors;
// a bad or unbuildable tuning is an error naming it; `facegpu tune --json` prints its record.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBackboneDir } from '../src/backbones.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { depthwiseOp } from '../src/kernels/depthwise.ts';
import { pointwiseOp } from '../src/kernels/pointwise.ts';
import { stemOp } from '../src/kernels/stem.ts';
import { stemRgb8Op } from '../src/kernels/stem-rgb8.ts';
import { DEFAULT_TUNING, tuningFor, type Tuning } from '../src/kernels/common.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import type { LayerKind, TunedKernels } from '../src/mobilenet/tuned.ts';
import { packFloat16PairsExact } from '../src/weights/half.ts';
import { readsHalfWeights } from '../src/mobilenet/half-weights.ts';
import { packBackbone, packLayerWeights } from '../src/weights/pack.ts';
import { mobileNetV1Spec, PREPROCESS_SIGNED, type ConvLayer } from '../src/weights/spec.ts';
import { loadBackbone } from '../src/weights/store.ts';
import type { Backbone } from '../src/weights/format.ts';
import { candidatesFor, type Candidate } from '../src/tune/candidates.ts';
import { nodeTuningStore } from '../src/tune/store-node.ts';
import { distinctShapes, savedTuning, tuneBackbone, type TuningRecord, type TuningStore } from '../src/tune/tuner.ts';
import { expectSameDescriptors } from './helpers/engine-compare.ts';
import { testGpu, type TestGpu } from './helpers/gpu.ts';
import { fromVec4Layout, maxAbs, maxAbsDiff, randomArray, toVec4Layout } from './helpers/layout.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');

let g: TestGpu;
let backbone: Backbone;
let base: Tuning;
let tmp: string;
beforeAll(async () => {
  g = await testGpu();
  backbone = await loadBackbone(resolveBackboneDir('face'));
  base = tuningFor(g.gpu.device);
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-tune-'));
});
afterAll(() => {
  g?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Values k/32 (|k| <= 32): exact in float16, so the float16-weight candidates read them too. */
const halfExact = (n: number, seed: number) => Float32Array.from(randomArray(n, seed), (v) => Math.round(v * 32) / 32);

describe('every candidate kernel', () => {
  // Small shapes that leave pixel, strip and channel tails.
  const cases: { kind: LayerKind; h: number; w: number; cin: number; cout: number; stride: number }[] = [
    // Rows of 33 or 21 bytes: the 8-bit RGB stem's tiles start at every offset within a word.
    { kind: 'stem', h: 13, w: 11, cin: 3, cout: 20, stride: 2 },
    { kind: 'stem', h: 6, w: 7, cin: 3, cout: 8, stride: 1 },
    { kind: 'depthwise', h: 13, w: 11, cin: 12, cout: 12, stride: 1 },
    { kind: 'depthwise', h: 13, w: 11, cin: 12, cout: 12, stride: 2 },
    { kind: 'pointwise', h: 7, w: 5, cin: 12, cout: 40, stride: 1 },
    // More input channel groups than the tiled kernel's step (10 > 8): several steps and a tail.
    { kind: 'pointwise', h: 5, w: 7, cin: 40, cout: 20, stride: 1 },
  ];
  it.each(cases)('$kind $h x $w x $cin -> $cout /$stride matches the portable kernel', async ({ kind, h, w, cin, cout, stride }) => {
    const n = 2;
    const taps = kind === 'pointwise' ? 1 : 9;
    const seed = h * 100 + cin + stride;
    const L = { name: kind, kind, stride, inChannels: cin, outChannels: cout, activation: 'relu6' as const, kernel: halfExact(kind === 'depthwise' ? taps * cout : taps * cin * cout, seed), bias: randomArray(cout, seed + 1, -0.5, 0.5) };
    const p = packLayerWeights(L);
    const half = packFloat16PairsExact(p.weights);
    expect(half).not.toBeNull();
    // The stem's input: bytes, preprocessed as the ImageNet backbone's (byte / 127.5 - 1) in
    // float32 for the kernels that take floats.
    const pixels = Uint8Array.from(randomArray(n * h * w * cin, seed + 2, 0, 256), Math.floor);
    const [scale, offset] = [1 / 127.5, -1];
    const x = kind === 'stem' ? Float32Array.from(pixels, (v) => Math.fround(Math.fround(v * Math.fround(scale)) + offset)) : randomArray(n * h * w * cin, seed + 2, 0, 6);
    const xb = g.upload(toVec4Layout(x, n * h * w, cin));
    const rgb8 = g.upload(Uint8Array.from({ length: Math.ceil(pixels.length / 4) * 4 }, (_, i) => pixels[i] ?? 0));
    const wb = g.upload(p.weights);
    const hb = g.upload(new Uint8Array(half!.buffer));
    const bb = g.upload(p.bias);
    const oh = Math.ceil(h / stride);
    const ow = Math.ceil(w / stride);
    const px = n * oh * ow;
    const bytes = px * Math.ceil(cout / 4) * 16;
    const shape = { n, h, w, c: cin };
    const runWith = async (t: Tuning) => {
      const y = g.empty(bytes);
      const useHalf = readsHalfWeights(kind, t);
      const prob = { label: kind, x: xb, w: useHalf ? hb : wb, b: bb, y, activation: L.activation };
      const op =
        kind === 'stem' && t.stemRgb8 > 0
          ? stemRgb8Op({ ...prob, src: rgb8, shape, stride, cout, scale, offset }, t)
          : kind === 'stem'
          ? stemOp({ ...prob, shape, stride, cout, halfWeights: useHalf }, t)
          : kind === 'depthwise'
            ? depthwiseOp({ ...prob, shape, stride }, t)
            : pointwiseOp({ ...prob, pixels: px, cin, cout, halfWeights: useHalf }, t);
      return fromVec4Layout(await g.run(op, y, bytes), px, cout);
    };
    const ref = await runWith(DEFAULT_TUNING);
    const cands = candidatesFor({ key: kind, kind, stride }, base, g.gpu.device.limits, g.gpu.device.features);
    expect(cands.length).toBeGreaterThan(1);
    for (const c of cands) {
      const got = await runWith({ ...base, ...c.choice });
      expect(maxAbsDiff(got, ref), c.name).toBeLessThan(1e-5 * Math.max(1, maxAbs(ref)) * 10);
    }
    // The stem that reads the 8-bit input is among the stem's candidates, tiles of 1 to 8 pixels.
    if (kind === 'stem') expect(cands.filter((c) => c.choice.stemRgb8).map((c) => c.choice.stemPixels)).toEqual(expect.arrayContaining([1, 2, 4, 8]));
    // The tiled pointwise is tried on float16 weights (where they are exact), so the loop above ran its float16 path.
    if (kind === 'pointwise') expect(cands.filter((c) => c.choice.gemm && readsHalfWeights(kind, { ...base, ...c.choice })).length).toBeGreaterThan(0);
    // ... and, where the device has shader-f16, with its weight tile in float16 (there only).
    if (kind === 'pointwise') expect(cands.some((c) => c.choice.gemmF16)).toBe(g.gpu.device.features.has('shader-f16'));
  });
});

/** A store in memory that counts its reads and writes. */
function memoryStore(): TuningStore & { map: Map<string, TuningRecord>; writes: number } {
  const map = new Map<string, TuningRecord>();
  const s = {
    map,
    writes: 0,
    where: (id: string) => `memory:${id}`,
    get: async (id: string) => structuredClone(map.get(id)),
    set: async (id: string, r: TuningRecord) => {
      s.writes++;
      map.set(id, structuredClone(r));
    },
  };
  return s;
}

/** Two candidates per shape (the hand-picked one and the first other): enough to exercise the tuner quickly. */
const two = (shape: Parameters<typeof candidatesFor>[0], t: Tuning): Candidate[] => candidatesFor(shape, t).slice(0, 2);

describe('the tuning cache', () => {
  it('times once, reads the stored tuning on the second run, and tunes again for another driver or CPU', async () => {
    const store = memoryStore();
    const opts = { batches: [1], rounds: 1, store, candidates: two };
    const first = await tuneBackbone(g.gpu, backbone, loadShaders(), opts);
    expect(first.fromCache).toBe(false);
    expect(first.samples).toBeGreaterThan(0);
    expect(store.writes).toBe(1);
    const shapes = distinctShapes(backbone, 1).map((s) => s.shape.key);
    expect(Object.keys(first.record.kernels.batches['1']).sort()).toEqual([...shapes].sort());
    expect(first.record.report.every((r) => r.candidates.length === 2 && r.candidates[0].name === r.handPicked)).toBe(true);

    const second = await tuneBackbone(g.gpu, backbone, loadShaders(), opts);
    expect(second.fromCache).toBe(true);
    expect(second.samples).toBe(0);
    expect(second.record).toEqual(first.record);
    expect(store.writes).toBe(1);

    // The same adapter with another driver version: a different key, timed again.
    const other = { ...g.gpu, adapter: { ...g.gpu.adapter, description: `${g.gpu.adapter.description} (another driver)` } };
    const third = await tuneBackbone(other, backbone, loadShaders(), opts);
    expect(third.fromCache).toBe(false);
    expect(third.samples).toBeGreaterThan(0);
    expect(third.record.id).not.toBe(first.record.id);
    expect(store.map.size).toBe(2);

    // The same driver on another CPU: a CPU adapter's host is part of the key, timed again.
    expect(g.gpu.adapter.host).toMatch(/; \d+ cores/);
    const otherCpu = { ...g.gpu, adapter: { ...g.gpu.adapter, host: `${g.gpu.adapter.host} (another CPU)` } };
    const fourth = await tuneBackbone(otherCpu, backbone, loadShaders(), opts);
    expect(fourth.fromCache).toBe(false);
    expect(fourth.samples).toBeGreaterThan(0);
    expect(store.map.size).toBe(3);

    // Another batch-size set is another tuning too; force times again under the same key.
    const forced = await tuneBackbone(g.gpu, backbone, loadShaders(), { ...opts, force: true });
    expect(forced.fromCache).toBe(false);
    expect(forced.record.id).toBe(first.record.id);
  });

  it('checks per-layer choices on the whole pass and records it', async () => {
    // The portable kernels posing as the hand-picked ones: the device's own kernels beat them
    // layer by layer, so the whole-pass check runs (against the engine's real hand-picked kernels).
    const flipped = (shape: Parameters<typeof candidatesFor>[0], t: Tuning): Candidate[] => {
      const c = candidatesFor(shape, t);
      const portable = c.find((x) => x.choice.subgroup === 0 && !x.choice.gemm)!;
      return [portable, c[0]];
    };
    const { record } = await tuneBackbone(g.gpu, backbone, loadShaders(), { batches: [1], rounds: 1, candidates: flipped });
    expect(record.endToEnd).toHaveLength(1);
    const e = record.endToEnd[0];
    expect(e).toMatchObject({ batch: 1, rounds: 3, kept: e.tunedMs < e.handPickedMs });
    expect(e.handPickedMs).toBeGreaterThan(0);
    expect(record.report.some((r) => r.chosen !== r.handPicked || r.notKept)).toBe(true);
  });

  it('charges the preprocessing to the stems that run after it, where a stem candidate reads the 8-bit input itself', async () => {
    // The stem's candidates: one that reads the input bytes and one after the preprocessing op
    // (whichever the device hand-picks first); every other shape only its hand-picked kernel.
    const stems = (shape: Parameters<typeof candidatesFor>[0], t: Tuning): Candidate[] => {
      const c = candidatesFor(shape, t);
      if (shape.kind !== 'stem') return [c[0]];
      return [c[0], c.find((x) => !x.choice.stemRgb8 !== !c[0].choice.stemRgb8)!];
    };
    const { record } = await tuneBackbone(g.gpu, backbone, loadShaders(), { batches: [1], rounds: 1, candidates: stems });
    const stem = record.report.find((r) => r.shape.startsWith('stem'))!;
    expect(stem.candidates).toHaveLength(2);
    const bytes = stem.candidates.find((c) => c.kernel.startsWith('conv3x3_rgb8('))!;
    const after = stem.candidates.find((c) => !c.kernel.startsWith('conv3x3_rgb8('))!;
    expect(bytes.preprocessCharge).toBeUndefined();
    expect(after.preprocessCharge).toBeGreaterThan(0);
    // Its time (a median, or the one sample of a candidate pruned as too slow) includes the charge.
    expect(after.ms ?? after.pruned).toBeGreaterThan(after.preprocessCharge!);
    // No other shape is charged anything.
    expect(record.report.filter((r) => r !== stem).every((r) => r.candidates.every((c) => c.preprocessCharge === undefined))).toBe(true);
  });

  it('keeps tunings as JSON files that a new store reads back', async () => {
    const dir = join(tmp, 'tuning');
    const opts = { batches: [1], rounds: 1, candidates: two };
    const first = await tuneBackbone(g.gpu, backbone, loadShaders(), { ...opts, store: nodeTuningStore(dir) });
    expect(first.where).toBe(join(dir, `${first.record.id}.json`));
    expect(existsSync(first.where!)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    const again = await tuneBackbone(g.gpu, backbone, loadShaders(), { ...opts, store: nodeTuningStore(dir) });
    expect(again.fromCache).toBe(true);
    expect(again.samples).toBe(0);
    // What bench and engines look up (any batch sizes): this adapter's record; none for another driver.
    expect((await savedTuning(g.gpu, backbone, loadShaders(), nodeTuningStore(dir)))?.id).toBe(first.record.id);
    const other = { ...g.gpu, adapter: { ...g.gpu.adapter, description: 'another driver' } };
    expect(await savedTuning(other, backbone, loadShaders(), nodeTuningStore(dir))).toBeNull();
    expect(await savedTuning(g.gpu, backbone, { ...loadShaders(), 'pointwise': `${loadShaders().pointwise}\n// edited` }, nodeTuningStore(dir))).toBeNull();

    // A damaged file (the key intact): an error naming it, not a silent hand-picked engine.
    const damaged = JSON.parse(readFileSync(first.where!, 'utf8'));
    delete damaged.kernels.batches['1'][Object.keys(damaged.kernels.batches['1'])[0]];
    const dir2 = join(tmp, 'damaged');
    mkdirSync(dir2);
    writeFileSync(join(dir2, `${first.record.id}.json`), JSON.stringify(damaged));
    await expect(savedTuning(g.gpu, backbone, loadShaders(), nodeTuningStore(dir2))).rejects.toThrow(`${join(dir2, first.record.id)}.json: the tuning for batch 1 has no kernel`);

    // The CLI reads the same file with --if-missing and prints the record.
    const { stdout } = await run(process.execPath, [CLI, 'tune', '--batch-sizes', '1', '--dir', dir, '--if-missing', '--json'], { timeout: 120_000 });
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ adapter: g.gpu.adapter.id, file: first.where, fromCache: true, samples: 0, id: first.record.id, timing: first.record.timing });
    expect(out.kernels).toEqual(first.record.kernels);
    expect(out.layers.length).toBe(distinctShapes(backbone, 1).length);
    for (const l of out.layers) {
      expect(l).toMatchObject({ batch: 1, shape: expect.any(String), layers: expect.any(Array), handPicked: expect.any(String), chosen: expect.any(String), speedup: expect.any(Number) });
      expect(l.candidates.map((c: { name: string }) => c.name)).toContain(l.chosen);
      for (const c of l.candidates) expect(c).toMatchObject({ name: expect.any(String), kernel: expect.stringMatching(/^\w+\(.*\)(<.*>)?$/) });
    }
  }, 150_000);

  it('refuses bad batch sizes and an unwritable folder before timing anything', async () => {
    await expect(tuneBackbone(g.gpu, backbone, loadShaders(), { batches: [0] })).rejects.toThrow(/positive integers/);
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    // Refused before the timing: no "batch ..." line of a timed shape on stderr (a tuning
    // that started would print one per shape before failing at the save).
    const err = await run(process.execPath, [CLI, 'tune', '--dir', join(file, 'tuning')], { timeout: 60_000 }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1, stderr: expect.stringContaining(`--dir ${join(file, 'tuning')}: ${file} is a file, not a folder`) });
    expect(err!.stderr).not.toMatch(/^batch \d+, /m);
  });
});

/** For every shape, the last candidate that is not the hand-picked one: a tuning unlike the default everywhere. */
function unlikeHandPicked(batches: number[]): TunedKernels {
  const out: TunedKernels = { batches: {} };
  for (const b of batches) {
    const choices: TunedKernels['batches'][string] = {};
    for (const { shape } of distinctShapes(backbone, b)) {
      const c = candidatesFor({ key: shape.key, kind: shape.kind as LayerKind, stride: shape.stride }, base, g.gpu.device.limits);
      choices[shape.key] = c[c.length - 1 - b % 2].choice;
    }
    out.batches[String(b)] = choices;
  }
  return out;
}

describe('the stem that reads the 8-bit input, where the stem fits it', () => {
  /** A small MobileNet V1 (stem 3 -> stemOut, one depthwise / pointwise pair to 8) on 20x20 input. */
  function tinyBackbone(stemOut: number): Backbone {
    const conv = (name: string, kind: ConvLayer['kind'], cin: number, cout: number, stride: number, seed: number): ConvLayer => {
      const taps = kind === 'pointwise' ? 1 : 9;
      return { name, kind, stride, inChannels: cin, outChannels: cout, activation: 'relu6', kernel: randomArray(kind === 'depthwise' ? taps * cout : taps * cin * cout, seed, -0.3, 0.3), bias: randomArray(cout, seed + 1, -0.2, 0.2) };
    };
    const layers = [conv('conv1', 'stem', 3, stemOut, 2, 1), conv('dw1', 'depthwise', stemOut, stemOut, 1, 3), conv('pw1', 'pointwise', stemOut, 8, 1, 5)];
    const spec = mobileNetV1Spec(layers, 20, PREPROCESS_SIGNED, { format: 'tfjs-layers', file: 'tiny', sha256: '0'.repeat(64), output: 'out' });
    const { manifest, data } = packBackbone(spec, `tiny-${stemOut}`);
    return { manifest: { ...manifest, weightsSha256: '0'.repeat(64) }, data: data.buffer as ArrayBuffer };
  }

  it.each([
    [32, true],
    [64, true],
    [72, false],
  ])('a %i-channel stem runs it: %s (else the preprocessing op and the hand-picked stem), with the portable kernels\' descriptors', async (stemOut, fits) => {
    const tiny = tinyBackbone(stemOut);
    // The CPU adapters' hand-picked tuning asks for it; the portable kernels are the reference.
    const engine = new MobileNetEngine(g.gpu, tiny, loadShaders(), { tuning: { stemRgb8: 8, stemPixels: 4 } });
    const plain = new MobileNetEngine(g.gpu, tiny, loadShaders(), { tuning: DEFAULT_TUNING });
    try {
      expect(engine.preparedOps(1)[0].desc.kernel.shader).toBe(fits ? 'conv3x3_rgb8' : 'preprocess');
      expect(engine.kernelChoices(1).layers[0].kernel).toMatch(fits ? /^conv3x3_rgb8\(/ : /^conv3x3(_subgroup)?\(/);
      expect(engine.kernelTuning(engine.layerShapes(1)[0].key, 1).stemRgb8).toBe(fits ? 8 : 0);
      await expectSameDescriptors(plain, engine, stemOut);
      // The tuner's candidates for that stem: the 8-bit ones only where it fits, and the hand-picked one first as the engine runs it.
      const s = engine.layerShapes(1)[0];
      const cands = candidatesFor({ key: s.key, kind: 'stem', stride: 2, cin: s.in.c, cout: s.out.c }, { ...base, stemRgb8: 8 });
      expect(cands.some((c) => c.choice.stemRgb8)).toBe(fits);
      expect(Boolean(cands[0].choice.stemRgb8)).toBe(fits);
    } finally {
      engine.destroy();
      plain.destroy();
    }
  });
});

describe('an engine on tuned kernels', () => {
  it("gives the default engine's descriptors on real weights", async () => {
    const tuned = unlikeHandPicked([1, 4]);
    const plain = new MobileNetEngine(g.gpu, backbone, loadShaders());
    const engine = new MobileNetEngine(g.gpu, backbone, loadShaders(), { tuned });
    try {
      await engine.ready();
      const a = plain.kernelChoices(1);
      const b = engine.kernelChoices(1);
      expect(a.source).toBe('hand-picked');
      expect(b.source).toBe('tuned');
      expect(b.layers.every((l, i) => l.kernel !== a.layers[i].kernel)).toBe(true);
      // Unfused, layer i is op i + 1 of preparedOps (op 0 is the input preprocessing), or op i
      // where the stem reads the input bytes itself (the last stem candidates do).
      expect(b.layers[0].kernel).toMatch(/^conv3x3_rgb8\(/);
      expect(engine.preparedOps(1)[0].desc.kernel.shader).toBe('conv3x3_rgb8');
      expect(b.layers.map((l) => l.op)).toEqual(b.layers.map((_, i) => i));
      expect(engine.kernelChoices(5).tunedBatch).toBe(4);
      await expectSameDescriptors(plain, engine, 40);
    } finally {
      engine.destroy();
      plain.destroy();
    }
  }, 120_000);

  it('names a tuning that does not fit the backbone, and a tuned kernel that does not build', async () => {
    const tuned = unlikeHandPicked([1]);
    const [key] = Object.keys(tuned.batches['1']);
    const missing = structuredClone(tuned);
    delete missing.batches['1'][key];
    expect(() => new MobileNetEngine(g.gpu, backbone, loadShaders(), { tuned: missing })).toThrow(`no kernel for layer shape "${key}"`);
    const wrongField = structuredClone(tuned);
    wrongField.batches['1'][key] = { ...wrongField.batches['1'][key], dwRows: 4, pwWg: 'x' as unknown as number };
    expect(() => new MobileNetEngine(g.gpu, backbone, loadShaders(), { tuned: wrongField })).toThrow(/is not a (stem|pointwise|depthwise) kernel setting|is not a valid value/);

    // A workgroup far past the device's limit: the pipeline fails, and the engine says which tuned kernel.
    const pw = distinctShapes(backbone, 1).find((s) => s.shape.kind === 'pointwise')!;
    const huge = structuredClone(tuned);
    huge.batches['1'][pw.shape.key] = { subgroup: 0, pwWg: 4096, pwPixels: 1, pwChannels: 1 };
    const engine = new MobileNetEngine(g.gpu, backbone, loadShaders(), { tuned: huge });
    try {
      await expect(engine.ready()).rejects.toThrow(/tuned kernel \(batch 1\).*shaders\/pointwise\.wgsl/);
    } finally {
      engine.destroy();
    }
  });
});
