// The tuner: for each distinct layer shape of a backbone and each batch size asked for, time
// every candidate kernel (candidates.ts) on this device and keep the fastest; the result is
// filed under the adapter, driver, limits, shapes, shaders and batch sizes (key.ts) in a
// store (a JSON file in Node, IndexedDB in a page) and read back, without timing anything,
// the next time the same key is asked for.
//
// How a shape is timed: its candidates are compiled, each run once (warm-up, and the
// hand-picked one's time sets how many dispatches a sample holds: ~2 ms of work, since
// timestamps are coarse), then `rounds` rounds, each timing every candidate once, in an order
// that rotates per round, so that load from elsewhere on the machine (CPU adapters share the
// cores) hits all alike; a candidate's time is its median. The hand-picked kernel stays
// unless another is faster by more than `margin`: a noise-sized win is not worth a change.
import { BufferPool, STORAGE } from '../gpu/buffers.ts';
import type { Gpu } from '../gpu/device.ts';
import { kernelKey, KernelRunner, type OpDesc, type ShaderSources } from '../gpu/runner.ts';
import { depthwiseOp } from '../kernels/depthwise.ts';
import { pointwiseOp } from '../kernels/pointwise.ts';
import { stemOp } from '../kernels/stem.ts';
import { stemRgb8Op } from '../kernels/stem-rgb8.ts';
import { preprocessOp } from '../kernels/preprocess.ts';
import { depthwisePointwiseOp } from '../kernels/depthwise-pointwise.ts';
import { tuningFor, type ImageShape, type Tuning } from '../kernels/common.ts';
import type { WorkgroupLimits } from '../kernels/depthwise-tiled.ts';
import { backboneLayerShapes, MobileNetEngine, type LayerShape } from '../mobilenet/engine.ts';
import { halfWeightsOf, readsHalfWeights } from '../mobilenet/half-weights.ts';
import { checkTunedKernels, type LayerKind, type TunedKernels } from '../mobilenet/tuned.ts';
import { c4, type Backbone, type PackedLayer } from '../weights/format.ts';
import { candidatesFor, choiceOf, handPickedFor, type Candidate, type LayerShapeInfo } from './candidates.ts';
import { keyId, tuningKey, type TuningKey } from './key.ts';
import { median, OpTimer, type TimingMethod } from './measure.ts';
import { RemedyError } from '../remedy.ts';

export interface CandidateTime {
  name: string;
  /** The kernel as the runner names it (shader + constants). */
  kernel: string;
  /** Median ms per dispatch; null when it did not build or was dropped after one sample. */
  ms: number | null;
  error?: string;
  /** Dropped after one sample (ms) for being over PRUNE x the fastest. */
  pruned?: number;
  /**
   * A fused depthwise + pointwise candidate: the chosen depthwise's median (ms) taken off its
   * own times (ms, pruned), which are then what it adds beyond the depthwise it replaces.
   */
  depthwiseCredit?: number;
  /**
   * A stem that runs after the preprocessing op, timed beside one that reads the 8-bit input
   * itself: the preprocessing op's median (ms) added to its own times (ms, pruned), which are
   * then what the whole input side costs, as they are for the other.
   */
  preprocessCharge?: number;
}

export interface ShapeReport {
  batch: number;
  shape: string;
  layers: string[];
  handPicked: string;
  chosen: string;
  /** Hand-picked median / chosen median (of the head-to-head when there was one). */
  speedup: number;
  /** What the per-layer timing chose, when the whole-pass check sent its batch size back to the hand-picked kernels. */
  notKept?: string;
  candidates: CandidateTime[];
  /**
   * The fastest candidate against the hand-picked one, alone, interleaved, twice the rounds:
   * medians, and whether it stayed faster by the margin (else the hand-picked one is chosen).
   */
  confirm?: { candidate: string; chosen: number; handPicked: number; kept: boolean };
}

export interface TuningRecord {
  /** keyId(): the file name / IndexedDB key. */
  id: string;
  key: TuningKey;
  created: string;
  timing: TimingMethod;
  rounds: number;
  kernels: TunedKernels;
  report: ShapeReport[];
  /**
   * Per batch size where the per-layer choices differ from the hand-picked kernels: the whole
   * forward pass on each, interleaved (median ms per batch), and whether the choices were kept
   * (else that batch size runs the hand-picked kernels).
   */
  endToEnd: { batch: number; handPickedMs: number; tunedMs: number; rounds: number; kept: boolean }[];
}

/** Where tunings are kept: a folder of JSON files (Node), IndexedDB (page), a Map (tests). */
export interface TuningStore {
  get(id: string): Promise<TuningRecord | undefined>;
  set(id: string, record: TuningRecord): Promise<void>;
  /** Where a record lives, for messages (a file path, "IndexedDB ..."). */
  where(id: string): string;
}

export interface TuneOptions {
  /** Batch sizes to tune for; the engine uses the nearest for other sizes. */
  batches: number[];
  store?: TuningStore | null;
  /** Time again even when the store has this key's tuning (`facegpu tune`). */
  force?: boolean;
  /** Timed rounds per shape (median over them); default 5. */
  rounds?: number;
  /** A candidate replaces the hand-picked kernel only when faster by more than this fraction; default 0.03. */
  margin?: number;
  /** Candidate list per shape (tests narrow it); default candidatesFor. */
  candidates?: (shape: LayerShapeInfo, base: Tuning, limits: WorkgroupLimits, features: ReadonlySet<string>) => Candidate[];
  log?: (line: string) => void;
}

export interface TuneResult {
  record: TuningRecord;
  /** Read from the store: nothing was timed. */
  fromCache: boolean;
  /** Timing samples taken (0 from the cache). */
  samples: number;
  /** Where the record is stored, or null without a store. */
  where: string | null;
}

/** Candidates slower than this many times the fastest in their first sample are not timed further. */
const PRUNE = 2;

/** A distinct layer shape: its first layer, every layer's name, and the depthwise layer before its first layer when every layer of a pointwise shape follows one (the fused kernel's candidates are timed with it). */
export interface DistinctShape {
  shape: LayerShape;
  layer: PackedLayer;
  layers: string[];
  before: { shape: LayerShape; layer: PackedLayer } | null;
}

/** The distinct layer shapes of a backbone at batch n, in network order, with their layers. */
export function distinctShapes(backbone: Backbone, n: number): DistinctShape[] {
  const out = new Map<string, DistinctShape>();
  const layers = backbone.manifest.layers;
  const shapes = backboneLayerShapes(backbone.manifest, n);
  const afterDepthwise = (i: number) => layers[i].kind === 'pointwise' && layers[i - 1]?.kind === 'depthwise' && layers[i - 1].outChannels === layers[i].inChannels;
  shapes.forEach((shape, i) => {
    const seen = out.get(shape.key);
    if (seen) {
      seen.layers.push(shape.name);
      if (!afterDepthwise(i)) seen.before = null;
    } else out.set(shape.key, { shape, layer: layers[i], layers: [shape.name], before: afterDepthwise(i) ? { shape: shapes[i - 1], layer: layers[i - 1] } : null });
  });
  return [...out.values()];
}

/**
 * The saved tuning of this device, driver, backbone and shaders, whatever batch sizes it was
 * made for, or null: nothing is timed (engines that should use a tuning when there is one).
 */
export async function savedTuning(gpu: Gpu, backbone: Backbone, shaders: ShaderSources, store: TuningStore): Promise<TuningRecord | null> {
  const shapes = distinctShapes(backbone, 1).map((s) => s.shape.key);
  const key = tuningKey(gpu.adapter, gpu.device, shapes, shaders, [1]);
  const id = keyId(gpu.adapter.id, key);
  const rec = await store.get(id);
  if (!rec || JSON.stringify({ ...rec.key, batches: null }) !== JSON.stringify({ ...key, batches: null })) return null;
  // The key matched, so a tuning that does not fit is damaged: say which, and how to redo it.
  const kinds = distinctShapes(backbone, 1).map((s) => ({ key: s.shape.key, kind: s.shape.kind as LayerKind }));
  try {
    checkTunedKernels(rec.kernels, kinds, store.where(id));
  } catch (err) {
    throw new RemedyError((err as Error).message, ' (measure again with tuneBackbone)', { case: 'tuning-damaged' });
  }
  return rec;
}

/** The tuning of this device for a backbone: from the store when it has the key, else measured (and stored). */
export async function tuneBackbone(gpu: Gpu, backbone: Backbone, shaders: ShaderSources, opts: TuneOptions): Promise<TuneResult> {
  const batches = [...new Set(opts.batches)].sort((a, b) => a - b);
  if (!batches.length || batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`batch sizes to tune must be positive integers, got ${opts.batches.join(',')}`);
  const shapes = distinctShapes(backbone, 1);
  const key = tuningKey(gpu.adapter, gpu.device, shapes.map((s) => s.shape.key), shaders, batches);
  const id = keyId(gpu.adapter.id, key);
  const store = opts.store ?? null;
  if (store && !opts.force) {
    const cached = await store.get(id);
    if (cached && JSON.stringify(cached.key) === JSON.stringify(key)) return { record: cached, fromCache: true, samples: 0, where: store.where(id) };
  }
  const { record, samples } = await measure(gpu, backbone, shaders, batches, key, id, opts);
  if (store) await store.set(id, record);
  return { record, fromCache: false, samples, where: store?.where(id) ?? null };
}

async function measure(gpu: Gpu, backbone: Backbone, shaders: ShaderSources, batches: number[], key: TuningKey, id: string, opts: TuneOptions): Promise<{ record: TuningRecord; samples: number }> {
  const log = opts.log ?? (() => {});
  const rounds = opts.rounds ?? 5;
  const margin = opts.margin ?? 0.03;
  const device = gpu.device;
  const base = tuningFor(device);
  const runner = KernelRunner.shared(device, shaders);
  const timer = new OpTimer(device, runner);
  const kernels: TunedKernels = { batches: {} };
  const report: ShapeReport[] = [];
  const endToEnd: TuningRecord['endToEnd'] = [];
  try {
    for (const n of batches) {
      const choices: TunedKernels['batches'][string] = {};
      // The chosen kernel's median per shape at this batch: a fused depthwise + pointwise
      // candidate is credited with the time of the depthwise it makes unnecessary.
      const chosenTimes = new Map<string, number>();
      for (const { shape, layer, layers, before } of distinctShapes(backbone, n)) {
        const info: LayerShapeInfo = { key: shape.key, kind: shape.kind as LayerKind, stride: shape.stride, fusable: before !== null && chosenTimes.has(before.shape.key), cin: shape.in.c, cout: shape.out.c };
        const cands = (opts.candidates ?? candidatesFor)(info, base, device.limits, device.features);
        const dwMs = before ? (chosenTimes.get(before.shape.key) ?? 0) : 0;
        const { row, best, confirm } = await timeShape(gpu, runner, timer, backbone, shape, layer, cands, base, rounds, margin, info.fusable ? { ...before!, ms: dwMs } : null);
        choices[shape.key] = cands[best].choice;
        const hand = confirm?.handPicked ?? row[0].ms;
        const chosenMs = confirm ? (confirm.kept ? confirm.chosen : confirm.handPicked) : row[best].ms!;
        chosenTimes.set(shape.key, chosenMs);
        // A fused pair's speedup is the pair's: (hand-picked pointwise + depthwise) / fused.
        const fused = cands[best].choice.dwFuse ? dwMs : 0;
        const r: ShapeReport = { batch: n, shape: shape.key, layers, handPicked: cands[0].name, chosen: cands[best].name, speedup: hand !== null ? (hand + fused) / (chosenMs + fused) : Infinity, candidates: row };
        if (confirm) r.confirm = confirm;
        report.push(r);
        log(`batch ${n}, ${shape.key}: ${r.chosen} ${chosenMs.toFixed(3)} ms (hand-picked ${r.handPicked} ${hand?.toFixed(3) ?? 'failed'} ms; ${cands.length} candidates${confirm ? `, head to head ${confirm.chosen.toFixed(3)} vs ${confirm.handPicked.toFixed(3)} ms${confirm.kept ? '' : ': not confirmed'}` : ''})`);
      }
      // The whole pass, tuned against hand-picked: layers timed alone are not layers in the
      // network (caches, the previous layer's output), so the choices stay only if the
      // network as a whole is faster with them.
      const rows = report.filter((r) => r.batch === n);
      if (rows.some((r) => r.chosen !== r.handPicked)) {
        const e2e = await wholePass(gpu, backbone, shaders, n, choices, 2 * rounds + 1);
        timer.samples += 2 * (2 * rounds + 1);
        endToEnd.push({ batch: n, ...e2e });
        log(`batch ${n}, whole pass: tuned ${e2e.tunedMs.toFixed(1)} ms, hand-picked ${e2e.handPickedMs.toFixed(1)} ms${e2e.kept ? '' : ': the hand-picked kernels stay'}`);
        if (!e2e.kept) {
          for (const r of rows) {
            if (r.chosen === r.handPicked) continue;
            r.notKept = r.chosen;
            r.chosen = r.handPicked;
            r.speedup = 1;
          }
          for (const { shape } of distinctShapes(backbone, n)) {
            const info = { key: shape.key, kind: shape.kind as LayerKind, stride: shape.stride, cin: shape.in.c, cout: shape.out.c };
            choices[shape.key] = choiceOf(info.kind, handPickedFor(info, base), shape.stride);
          }
        }
      }
      kernels.batches[String(n)] = choices;
    }
  } finally {
    timer.destroy();
  }
  return { record: { id, key, created: new Date().toISOString(), timing: timer.method, rounds, kernels, report, endToEnd }, samples: timer.samples };
}

/**
 * The forward pass of a batch of n on the hand-picked kernels and on `choices`, interleaved
 * (the order alternating), wall time to onSubmittedWorkDone, median ms per pass of each; the
 * choices are kept when their median is the lower.
 */
async function wholePass(gpu: Gpu, backbone: Backbone, shaders: ShaderSources, n: number, choices: TunedKernels['batches'][string], rounds: number) {
  const hand = new MobileNetEngine(gpu, backbone, shaders, { tuned: null, maxPlans: 1 });
  const tuned = new MobileNetEngine(gpu, backbone, shaders, { tuned: { batches: { [n]: choices } }, maxPlans: 1 });
  try {
    await Promise.all([hand.ready(), tuned.ready()]);
    const s = backbone.manifest.inputSize;
    const pixels = Uint8Array.from(seeded(n * s * s * 3, 11, 256), Math.floor);
    const sides = [hand, tuned];
    const times: number[][] = [[], []];
    for (const e of sides) {
      e.forward(pixels, n);
      await e.onDone();
    }
    for (let r = 0; r < rounds; r++) {
      for (const i of r % 2 ? [1, 0] : [0, 1]) {
        const t0 = performance.now();
        sides[i].forward(pixels, n);
        await sides[i].onDone();
        times[i].push(performance.now() - t0);
      }
    }
    const [handPickedMs, tunedMs] = times.map(median);
    return { handPickedMs, tunedMs, rounds, kept: tunedMs < handPickedMs };
  } finally {
    hand.destroy();
    tuned.destroy();
  }
}

/** Seeded values in [0, 6) (what a ReLU6 layer's input holds) or pixel values for the stem. */
function seeded(count: number, seed: number, max: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 0x100000000) * max;
  }
  return out;
}

/** Dispatches per sample: about 2 ms of the work whose one dispatch took `ms` (timestamps are coarse), at most 32. */
const repsFor = (ms: number) => Math.max(1, Math.min(32, Math.round(2 / Math.max(ms, 1e-3))));

/**
 * The stem's input as seeded 8-bit RGB (`src`), and the preprocessing op's median ms (per
 * dispatch, `rounds` samples after a warm-up) turning it into `x`, the float input of the
 * stems that run after that op.
 */
async function timePreprocessing(runner: KernelRunner, timer: OpTimer, pool: BufferPool, backbone: Backbone, inp: ImageShape, x: GPUBuffer, base: Tuning, rounds: number): Promise<{ src: GPUBuffer; ms: number }> {
  const pixels = inp.n * inp.h * inp.w;
  const bytes = new Uint8Array(Math.ceil((pixels * 3) / 4) * 4);
  bytes.set(Uint8Array.from(seeded(pixels * 3, 7, 256), Math.floor));
  const src = pool.createWith(bytes, STORAGE, 'tuner 8-bit input');
  const { scale, offset } = backbone.manifest.preprocess;
  const op = preprocessOp({ src, dst: x, pixels, scale, offset }, base);
  await runner.compile([op]);
  const prepared = runner.prepare([op], (size, usage, label) => pool.create(size, usage, label)).ops[0];
  await timer.time(prepared, 1);
  const reps = repsFor(await timer.time(prepared, 1));
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) times.push(await timer.time(prepared, reps));
  return { src, ms: median(times) };
}

/** Every candidate of one shape timed on the backbone's own weights (the first layer of that shape), index 0 first. */
async function timeShape(
  gpu: Gpu,
  runner: KernelRunner,
  timer: OpTimer,
  backbone: Backbone,
  shape: LayerShape,
  layer: PackedLayer,
  cands: Candidate[],
  base: Tuning,
  rounds: number,
  margin: number,
  dw: { shape: LayerShape; layer: PackedLayer; ms: number } | null,
): Promise<{ row: CandidateTime[]; best: number; confirm: ShapeReport['confirm'] | null }> {
  const pool = new BufferPool(gpu.device);
  try {
    const { in: inp, out } = shape;
    // A stem that reads the 8-bit input is timed on seeded bytes; the preprocessing op it makes
    // unnecessary turns them into the other stems' input and is charged to those stems.
    const readsBytes = layer.kind === 'stem' && cands.some((c) => c.choice.stemRgb8);
    const xBytes = inp.n * inp.h * inp.w * c4(inp.c) * 16;
    const x = readsBytes ? pool.create(xBytes, STORAGE, 'tuner x') : pool.createWith(seeded(xBytes / 4, 7, shape.kind === 'stem' ? 255 : 6), STORAGE, 'tuner x');
    const pre = readsBytes ? await timePreprocessing(runner, timer, pool, backbone, inp, x, base, rounds) : null;
    const preprocessMs = pre?.ms ?? 0;
    const y = pool.create(out.n * out.h * out.w * c4(out.c) * 16, STORAGE, 'tuner y');
    const weights = new Float32Array(backbone.data, layer.weights.offset, layer.weights.bytes / 4);
    const w32 = pool.createWith(new Uint8Array(backbone.data, layer.weights.offset, layer.weights.bytes), STORAGE, 'tuner w');
    const b = pool.createWith(new Uint8Array(backbone.data, layer.bias.offset, layer.bias.bytes), STORAGE, 'tuner b');
    // The float16 copy, where a candidate reads one (null where the weights are not exactly float16).
    const half = halfWeightsOf(layer.kind, weights, cands.map((c) => ({ ...base, ...c.choice })));
    const w16 = half ? pool.createWith(new Uint8Array(half.buffer), STORAGE, 'tuner w16') : null;
    // A fused candidate reads the depthwise's input (its own seeded values) and weights.
    let dwX: GPUBuffer | null = null;
    let dwW: GPUBuffer | null = null;
    let dwB: GPUBuffer | null = null;
    if (dw && cands.some((c) => c.choice.dwFuse)) {
      const di = dw.shape.in;
      dwX = pool.createWith(seeded(di.n * di.h * di.w * c4(di.c) * 4, 5, 6), STORAGE, 'tuner depthwise x');
      dwW = pool.createWith(new Uint8Array(backbone.data, dw.layer.weights.offset, dw.layer.weights.bytes), STORAGE, 'tuner depthwise w');
      dwB = pool.createWith(new Uint8Array(backbone.data, dw.layer.bias.offset, dw.layer.bias.bytes), STORAGE, 'tuner depthwise b');
    }
    const ops: OpDesc[] = cands.map((c) => {
      const t: Tuning = { ...base, ...c.choice };
      const useHalf = w16 !== null && readsHalfWeights(layer.kind, t);
      const p = { label: `${shape.key} ${c.name}`, x, w: useHalf ? w16 : w32, b, y, activation: layer.activation };
      if (t.dwFuse > 0) {
        if (!dw || !dwX) throw new Error(`${shape.key}: the fused candidate ${c.name} has no depthwise layer before it`);
        return depthwisePointwiseOp({ ...p, x: dwX, dwW: dwW!, dwB: dwB!, shape: dw.shape.in, stride: dw.layer.stride, dwActivation: dw.layer.activation, cout: layer.outChannels, halfWeights: useHalf }, t);
      }
      if (layer.kind === 'stem' && t.stemRgb8 > 0) {
        const { scale, offset } = backbone.manifest.preprocess;
        return stemRgb8Op({ ...p, src: pre!.src, w: w32, shape: inp, stride: layer.stride, cout: layer.outChannels, scale, offset }, t);
      }
      if (layer.kind === 'stem') return stemOp({ ...p, shape: inp, stride: layer.stride, cout: layer.outChannels, halfWeights: useHalf }, t);
      if (layer.kind === 'depthwise') return depthwiseOp({ ...p, shape: inp, stride: layer.stride }, t);
      return pointwiseOp({ ...p, pixels: out.n * out.h * out.w, cin: layer.inChannels, cout: layer.outChannels, halfWeights: useHalf }, t);
    });
    // Build every candidate; one that does not build on this device is reported, not timed.
    const errors = await Promise.all(ops.map((op) => runner.compile([op]).then(() => undefined, (err: Error) => err.message)));
    const prepared = ops.map((op, i) => (errors[i] ? null : runner.prepare([op], (size, usage, label) => pool.create(size, usage, label)).ops[0]));
    // Warm-up (first dispatch of each, discarded), then one sample each to drop the clearly
    // slow (over PRUNE x the fastest; the hand-picked one always stays) and to size the
    // samples: about 2 ms of the hand-picked kernel's work each.
    // ms per dispatch, less the depthwise time a fused candidate makes unnecessary, plus the
    // preprocessing a stem needs where another stem candidate does it itself.
    const credit = cands.map((c) => (c.choice.dwFuse && dw ? dw.ms : layer.kind === 'stem' && !c.choice.stemRgb8 ? -preprocessMs : 0));
    const sample = async (i: number, reps: number) => (await timer.time(prepared[i]!, reps)) - credit[i];
    for (const p of prepared) if (p) await timer.time(p, 1);
    const first: (number | null)[] = [];
    for (let i = 0; i < prepared.length; i++) first.push(prepared[i] ? await sample(i, 1) : null);
    const fastest = Math.min(...first.filter((v): v is number => v !== null));
    const kept = first.map((v, i) => v !== null && (i === 0 || v <= PRUNE * fastest));
    const ref = first[0] ?? fastest;
    const reps = repsFor(ref);
    const samples: number[][] = cands.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < cands.length; j++) {
        const i = (j + r) % cands.length;
        if (kept[i]) samples[i].push(await sample(i, reps));
      }
    }
    const row = cands.map((c, i) => {
      const t: CandidateTime = { name: c.name, kernel: kernelKey(ops[i].kernel), ms: kept[i] ? median(samples[i]) : null };
      if (credit[i] > 0) t.depthwiseCredit = credit[i];
      if (credit[i] < 0) t.preprocessCharge = -credit[i];
      if (errors[i]) t.error = errors[i];
      else if (!kept[i]) t.pruned = first[i]!;
      return t;
    });
    let best = -1;
    row.forEach((c, i) => {
      if (c.ms !== null && (best < 0 || c.ms < row[best].ms!)) best = i;
    });
    if (best < 0) throw new Error(`${shape.key}: no candidate kernel could be built (${row.map((c) => `${c.name}: ${c.error}`).join('; ')})`);
    const hand = row[0].ms;
    // Index 0 is the hand-picked kernel: it stays unless beaten by more than the margin, in
    // the rounds above and again head to head (a win that noise made does not survive both).
    if (hand === null || best === 0) return { row, best, confirm: null };
    if (row[best].ms! > hand * (1 - margin)) return { row, best: 0, confirm: null };
    const a: number[] = [];
    const h: number[] = [];
    for (let r = 0; r < 2 * rounds; r++) {
      for (const i of r % 2 ? [best, 0] : [0, best]) (i === 0 ? h : a).push(await sample(i, reps));
    }
    const confirm = { candidate: cands[best].name, chosen: median(a), handPicked: median(h), kept: median(a) <= median(h) * (1 - margin) };
    return { row, best: confirm.kept ? best : 0, confirm };
  } finally {
    pool.destroyAll();
  }
}
