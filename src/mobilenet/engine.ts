// MobileNet V1 on our own WGSL shaders. Pipelines are compiled and weights uploaded once;
// activation buffers, uniforms and bind groups are built once per batch size (a "plan") and
// reused; a whole forward pass is one command buffer; only the descriptors are read back, and
// only when the caller asks for them.
import { BufferPool, STORAGE } from '../gpu/buffers.ts';
import { assertAlive, type Gpu } from '../gpu/device.ts';
import { PatientWait } from '../gpu/patient-wait.ts';
import { KernelError, kernelKey, KernelRunner, type Binding, type OpDesc, type PreparedOp, type ShaderSources } from '../gpu/runner.ts';
import { c4, type Backbone, type BackboneManifest } from '../weights/format.ts';
import { halfWeightLayers, readsHalfWeights } from './half-weights.ts';
import { depthwiseOp } from '../kernels/depthwise.ts';
import { globalAvgPoolOp } from '../kernels/pool.ts';
import { pointwiseOp } from '../kernels/pointwise.ts';
import { preprocessOp } from '../kernels/preprocess.ts';
import { stemOp } from '../kernels/stem.ts';
import { stemRgb8Op, stemTuningFor } from '../kernels/stem-rgb8.ts';
import { depthwisePointwiseOp } from '../kernels/depthwise-pointwise.ts';
import { samePadding, tuningFor, type ImageShape, type Tuning } from '../kernels/common.ts';
import { checkTunedKernels, layerShapeKey, nearestTunedBatch, type LayerKind, type TunedKernels } from './tuned.ts';

/** The input of a batch's chunk: images `at` to `at + n` (packed RGB in memory, or a range of a GPU buffer). */
type ChunkInput = (at: number, n: number) => Uint8Array | Required<GPUBufferBinding>;

/** What a call was given, for its TypeError: `null`, `an Array of 3 elements`, `a Float32Array of 150528 elements`. */
function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an Array of ${v.length} elements`;
  if (ArrayBuffer.isView(v)) {
    const name = Object.prototype.toString.call(v).slice(8, -1);
    return `a ${name} of ${(v as unknown as { length?: number }).length ?? v.byteLength} ${'length' in v ? 'elements' : 'bytes'}`;
  }
  if (isGpuBuffer(v)) return 'a GPUBuffer';
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'no prototype'})`;
  return `${typeof v} ${String(v).slice(0, 40)}`;
}

/** A GPUBuffer, by what the engine uses of it (a page's and Dawn's classes differ). */
function isGpuBuffer(v: unknown): v is GPUBuffer {
  const b = v as GPUBuffer | null;
  return typeof b === 'object' && b !== null && typeof b.size === 'number' && typeof b.usage === 'number' && typeof b.mapAsync === 'function';
}

/** A positive whole number, or absent. */
function checkCount(name: string, v: unknown): void {
  if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 1)) throw new Error(`${name} must be a positive integer, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
}

/**
 * The engine options' own checks (maxBatch, maxPlans: positive integers), one line naming the
 * option. The constructor makes them before any GPU work; callers may make them earlier.
 */
export function checkEngineOptions(opts: EngineOptions): void {
  checkCount('maxBatch', opts.maxBatch);
  checkCount('maxPlans', opts.maxPlans);
}

const destroyedError = () => new Error('the engine has been destroyed');

/** Everything that depends on the batch size, built once per size and reused. */
interface Plan {
  batch: number;
  input: GPUBuffer;
  /** The two activation buffers the layers ping-pong between. */
  a: GPUBuffer;
  b: GPUBuffer;
  output: GPUBuffer;
  staging: GPUBuffer;
  uniforms: GPUBuffer;
  ops: PreparedOp[];
  buffers: GPUBuffer[];
}

export interface LayerShape {
  name: string;
  kind: string;
  in: ImageShape;
  out: ImageShape;
  stride: number;
  /** Batch-independent shape name (tuned.ts layerShapeKey): layers with the same key run the same kernel. */
  key: string;
}

/** The shape of every layer of a backbone for a batch of n. */
export function backboneLayerShapes(m: BackboneManifest, n: number): LayerShape[] {
  const s = m.inputSize;
  let cur: ImageShape = { n, h: s, w: s, c: 3 };
  return m.layers.map((l) => {
    const h = samePadding(cur.h, l.stride).out;
    const w = samePadding(cur.w, l.stride).out;
    const shape = { name: l.name, kind: l.kind, in: cur, out: { n, h, w, c: l.outChannels }, stride: l.stride, key: layerShapeKey(l.kind, cur, l.outChannels, l.stride) };
    cur = shape.out;
    return shape;
  });
}

/**
 * A layer's tuning as it applies to that layer: the stem that reads the 8-bit input
 * (Tuning.stemRgb8, hand-picked on CPU adapters) only where the stem fits it (RGB in, at most
 * 64 channels out), else the preprocessing op and a stem.ts kernel.
 */
function fitted(shape: LayerShape, t: Tuning): Tuning {
  return shape.kind === 'stem' ? stemTuningFor(t, shape.in.c, shape.out.c) : t;
}

export interface EngineOptions {
  /** Overrides of the device's hand-picked tuning, for every layer (experiments). */
  tuning?: Partial<Tuning>;
  /**
   * Kernel choices measured on this adapter (src/tune/), per batch size and layer shape,
   * merged over the hand-picked tuning; none: the hand-picked kernels. A choice whose
   * pipeline fails to build is an error naming it (no fallback).
   */
  tuned?: TunedKernels | null;
  /** Most batch sizes whose plans are kept (least recently used dropped). */
  maxPlans?: number;
  /** Cap on images per command buffer (lower = less GPU memory); the device's limits cap it too. */
  maxBatch?: number;
}

export class MobileNetEngine {
  readonly runner: KernelRunner;
  readonly buffers: BufferPool;
  readonly manifest: BackboneManifest;
  /** The hand-picked tuning (device rules + opts.tuning); per-layer tuned choices go over it. */
  readonly tuning: Tuning;
  /** The measured per-layer choices in use, or null (hand-picked kernels). */
  readonly tuned: TunedKernels | null;
  /** Largest batch one command buffer runs; bigger batches are split. */
  readonly maxBatch: number;
  /**
   * How long the last warmUp took, ms (null before one): seconds when the driver compiled the
   * kernels then (src/gpu/first-use.ts).
   */
  warmUpMs: number | null = null;
  private readonly weights: GPUBuffer;
  /** Float16 copies of the stem and pointwise layers whose weights are exactly float16 (half-weights.ts), when the tuning uses them. */
  private readonly halfWeights: { buffer: GPUBuffer; ranges: Map<string, { offset: number; bytes: number }> } | null = null;
  private plans = new Map<number, Plan>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly compiled: Promise<void>;
  private destroyed = false;
  /** Waits that sleep through most of the expected GPU time instead of polling (patient-wait.ts). */
  private readonly waits = new PatientWait();
  /** Work submitted and not yet waited for: when the first of it went out, and how many images. */
  private pending: { since: number; images: number } | null = null;

  constructor(readonly gpu: Gpu, backbone: Backbone, shaders: ShaderSources, private readonly opts: EngineOptions = {}) {
    checkEngineOptions(opts);
    this.manifest = backbone.manifest;
    this.tuning = { ...tuningFor(gpu.device), ...opts.tuning };
    this.tuned = opts.tuned ?? null;
    if (this.tuned) checkTunedKernels(this.tuned, this.layerShapes(1).map((l) => ({ key: l.key, kind: l.kind as LayerKind })), `${this.manifest.id}`);
    // One pipeline cache per device and shader library, shared with the tfjs bridge.
    this.runner = KernelRunner.shared(gpu.device, shaders);
    this.buffers = new BufferPool(gpu.device);
    this.weights = this.buffers.createWith(new Uint8Array(backbone.data), GPUBufferUsage.STORAGE, `${this.manifest.id} weights`);
    const half = halfWeightLayers(backbone, (name) => this.tuningBatches().map((b) => this.layerTuning(name, b)));
    if (half.ranges.size > 0) {
      const buffer = this.buffers.createWith(half.data, GPUBufferUsage.STORAGE, `${this.manifest.id} float16 weights`);
      this.halfWeights = { buffer, ranges: half.ranges };
    }
    this.maxBatch = this.computeMaxBatch();
    // Create every pipeline now, not during the first embed (where a driver compiles at
    // creation it does so here; lavapipe compiles at the first dispatch: warmUp). A shader or
    // pipeline that does not validate rejects `compiled` with the kernel's label and
    // constants, and every call that runs the network throws that error (ready() too).
    // With a tuning, the kernels of every tuned batch size are created.
    const w = this.weights;
    const runner = this.runner;
    const tuned = this.tuned;
    const lists = this.tuningBatches().map((b) => ({ b, ops: this.buildOps(1, w, w, w, w, w, b) }));
    this.compiled = Promise.all(
      lists.map(({ b, ops }) =>
        runner.compile(ops).catch((err: Error) => {
          throw tuned ? new KernelError(`tuned kernel (batch ${b}): ${err.message}`) : err;
        }),
      ),
    ).then(() => undefined);
    this.compiled.catch(() => undefined); // reported by the calls that wait for it
  }

  /** Resolves once every pipeline is compiled and validated; rejects with the first that failed. */
  ready(): Promise<void> {
    return this.compiled;
  }

  get inputSize(): number {
    return this.manifest.inputSize;
  }

  get outputDim(): number {
    return this.manifest.outputDim;
  }

  /** The shape of every layer for a batch of n. */
  layerShapes(n: number): LayerShape[] {
    return backboneLayerShapes(this.manifest, n);
  }

  /** Bytes of the largest activation of one image (vec4-padded channels). */
  private activationBytesPerImage(): number {
    const s = this.manifest.inputSize;
    let most = s * s * 16;
    for (const l of this.layerShapes(1)) most = Math.max(most, l.out.h * l.out.w * c4(l.out.c) * 16);
    return most;
  }

  private computeMaxBatch(): number {
    const lim = this.gpu.device.limits;
    const bytes = this.activationBytesPerImage();
    const byMemory = Math.floor(Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize) / bytes);
    // The widest grid dimension: pixels of the largest layer over the pixels a workgroup covers.
    const first = this.layerShapes(1)[0].out;
    const all = this.layerShapes(1).flatMap((l) => this.tuningBatches().map((b) => this.layerTuning(l.name, b)));
    const perGroup = Math.min(...[this.tuning, ...all].map((t) => Math.min(t.wg, t.pwWg * t.pwPixels)));
    const byGrid = Math.floor((lim.maxComputeWorkgroupsPerDimension * perGroup) / (first.h * first.w));
    const n = Math.min(byMemory, byGrid, this.opts.maxBatch ?? 64);
    if (n < 1) throw new Error(`${this.manifest.id}: one image needs ${bytes} bytes per activation, more than this device allows per buffer`);
    return n;
  }

  /** The tuning the kernel of a layer shape (LayerShape.key) runs under at batch n. */
  kernelTuning(shapeKey: string, n: number): Tuning {
    const shape = this.layerShapes(1).find((l) => l.key === shapeKey);
    const t = this.tuned ? { ...this.tuning, ...this.tuned.batches[this.tuningBatchFor(n)][shapeKey] } : this.tuning;
    return shape ? fitted(shape, t) : t;
  }

  /** The tuned batch sizes (as keys of `tuned.batches`), or one entry standing for the hand-picked tuning. */
  private tuningBatches(): string[] {
    return this.tuned ? Object.keys(this.tuned.batches) : ['hand-picked'];
  }

  /** Whether layer i (a depthwise) runs inside the fused kernel of layer i + 1 under tuned batch `batch`. */
  private fusedIntoNext(i: number, batch: string): boolean {
    const layers = this.manifest.layers;
    return layers[i].kind === 'depthwise' && layers[i + 1]?.kind === 'pointwise' && this.layerTuning(layers[i + 1].name, batch).dwFuse > 0;
  }

  /** The tuning a layer's kernel runs under for tuned batch `batch` (tuningBatches()). */
  private layerTuning(layer: string, batch: string): Tuning {
    const shape = this.layerShapes(1).find((l) => l.name === layer)!;
    return fitted(shape, this.tuned ? { ...this.tuning, ...this.tuned.batches[batch][shape.key] } : this.tuning);
  }

  /** Where a batch of n takes its kernels from: the nearest tuned batch, or the hand-picked tuning. */
  private tuningBatchFor(n: number): string {
    return this.tuned ? nearestTunedBatch(this.tuned, n) : 'hand-picked';
  }

  /**
   * The kernel each layer runs at batch n, as the runner names it (shader + constants), and
   * whether it was tuned by measuring or hand-picked (benchmarks report it). `op` is the
   * index of the layer's op in `preparedOps(n)`: a depthwise fused with its pointwise has the
   * pointwise's (the pair is one op), so whatever times layers one by one must not assume
   * layer i is op i + 1.
   */
  kernelChoices(n: number): { source: 'tuned' | 'hand-picked'; tunedBatch: number | null; layers: { layer: string; shape: string; kernel: string; op: number }[] } {
    const w = this.weights;
    const shapes = this.layerShapes(n);
    const layerOps: number[] = [];
    const ops = this.buildOps(n, w, w, w, w, w, undefined, layerOps);
    const b = this.tuningBatchFor(n);
    return {
      source: this.tuned ? 'tuned' : 'hand-picked',
      tunedBatch: this.tuned ? Number(b) : null,
      // The strip depthwise's strip height is a uniform, not a constant: named too. A
      // depthwise fused with its pointwise names the fused kernel, as the pointwise does.
      layers: shapes.map((s, i) => {
        const op = ops[layerOps[i]];
        return { layer: s.name, shape: s.key, kernel: `${kernelKey(op.kernel)}${op.uniforms.rows !== undefined ? ` rows=${op.uniforms.rows}` : ''}`, op: layerOps[i] };
      }),
    };
  }

  /**
   * The op list of one forward pass, each layer's kernel from the tuning of `tunedBatch`
   * (default: the one serving n). A depthwise layer whose pointwise runs fused
   * (Tuning.dwFuse) has no op of its own: the pair is one op. `layerOps`, when given,
   * receives the index of each layer's op.
   */
  private buildOps(n: number, input: Binding, a: Binding, b: Binding, out: Binding, weights: GPUBuffer, tunedBatch = this.tuningBatchFor(n), layerOps: number[] = []): OpDesc[] {
    const m = this.manifest;
    const t = this.tuning;
    const s = m.inputSize;
    const range = (r: { offset: number; bytes: number }): GPUBufferBinding => ({ buffer: weights, offset: r.offset, size: r.bytes });
    const ops: OpDesc[] = [];
    let src = a;
    let dst = b;
    const shapes = this.layerShapes(n);
    m.layers.forEach((l, i) => {
      const { in: inp, out } = shapes[i];
      const bias = range(l.bias);
      const lt = this.layerTuning(l.name, tunedBatch);
      // Exactly-float16 weights from the packed copy where there is one (stem, pointwise) and this layer's kernel reads them.
      const half = readsHalfWeights(l.kind, lt) ? this.halfWeights?.ranges.get(l.name) : undefined;
      const w: Binding = half ? { buffer: this.halfWeights!.buffer, offset: half.offset, size: half.bytes } : range(l.weights);
      const layer = { label: l.name, x: src, w, b: bias, y: dst, activation: l.activation };
      const halfWeights = half !== undefined;
      const readsBytes = l.kind === 'stem' && lt.stemRgb8 > 0;
      if (readsBytes && i !== 0) throw new Error(`${l.name}: the 8-bit RGB stem reads the network's input, so it must be the first layer`);
      // The network's input: the preprocessing op turns the bytes into floats in `src`, unless
      // the first layer is a stem that reads them itself (Tuning.stemRgb8).
      if (i === 0 && !readsBytes) ops.push(preprocessOp({ src: input, dst: src, pixels: n * s * s, scale: m.preprocess.scale, offset: m.preprocess.offset }, t));
      layerOps[i] = ops.length;
      // The depthwise of a fused pair: its op is the pointwise's (next), reading this layer's input.
      if (this.fusedIntoNext(i, tunedBatch)) return;
      if (readsBytes) ops.push(stemRgb8Op({ ...layer, src: input, shape: inp, stride: l.stride, cout: l.outChannels, scale: m.preprocess.scale, offset: m.preprocess.offset }, lt));
      else if (l.kind === 'stem') ops.push(stemOp({ ...layer, shape: inp, stride: l.stride, cout: l.outChannels, halfWeights }, lt));
      else if (l.kind === 'depthwise') ops.push(depthwiseOp({ ...layer, shape: inp, stride: l.stride }, lt));
      else if (lt.dwFuse > 0) {
        // (A MobileNet V1 manifest is stem, then depthwise / pointwise pairs: src/weights/spec.ts.)
        const dw = m.layers[i - 1];
        if (dw.kind !== 'depthwise') throw new Error(`${l.name}: tuned to run fused with the layer before it, ${dw.name}, which is not a depthwise layer`);
        const dwIn = shapes[i - 1].in;
        ops.push(depthwisePointwiseOp({ label: `${dw.name}+${l.name}`, x: src, dwW: range(dw.weights), dwB: range(dw.bias), w, b: bias, y: dst, shape: dwIn, stride: dw.stride, dwActivation: dw.activation, cout: l.outChannels, activation: l.activation, halfWeights }, lt));
      } else ops.push(pointwiseOp({ ...layer, pixels: n * out.h * out.w, cin: l.inChannels, cout: l.outChannels, halfWeights }, lt));
      [src, dst] = [dst, src];
    });
    ops.push(globalAvgPoolOp({ x: src, y: out, shape: shapes[shapes.length - 1].out }, t));
    return ops;
  }

  private plan(n: number): Plan {
    let p = this.plans.get(n);
    if (p) {
      // Most recently used last.
      this.plans.delete(n);
      this.plans.set(n, p);
      return p;
    }
    const s = this.manifest.inputSize;
    const act = this.activationBytesPerImage() * n;
    const outBytes = n * this.outputDim * 4;
    const mk = (size: number, usage: GPUBufferUsageFlags, label: string) => this.buffers.create(size, usage, `${label} [batch ${n}]`);
    const input = mk(n * s * s * 3, STORAGE, 'input');
    const a = mk(act, STORAGE, 'activations A');
    const b = mk(act, STORAGE, 'activations B');
    const output = mk(outBytes, STORAGE, 'descriptors');
    const staging = mk(outBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    const { ops, uniformBuffer } = this.runner.prepare(this.buildOps(n, input, a, b, output, this.weights), mk);
    p = { batch: n, input, a, b, output, staging, uniforms: uniformBuffer, ops, buffers: [input, a, b, output, staging, uniformBuffer] };
    this.plans.set(n, p);
    const max = this.opts.maxPlans ?? 4;
    while (this.plans.size > max) {
      const [oldest, old] = this.plans.entries().next().value as [number, Plan];
      this.plans.delete(oldest);
      old.buffers.forEach((buf) => this.buffers.destroy(buf));
    }
    return p;
  }

  /**
   * Serialize calls: plans' buffers (and the readback buffer) are shared between calls. A call
   * still queued when the engine is destroyed rejects ("the engine has been destroyed") and
   * runs nothing.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const body = () =>
      this.compiled.then(() => {
        if (this.destroyed) throw destroyedError();
        return fn();
      });
    const run = this.queue.then(body, body);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The checks every call makes: a live engine and device, a positive whole batch size. */
  private checkCall(count: number): void {
    if (this.destroyed) throw new Error('the engine has been destroyed');
    assertAlive(this.gpu);
    if (!Number.isInteger(count) || count < 1) throw new Error(`batch size must be a positive integer, got ${count}`);
  }

  /**
   * Checked packed RGB images in memory, cut into a batch's chunks. A Uint8ClampedArray (a
   * canvas's bytes) is read as the same bytes. With `copy` (every call that waits its turn in
   * `exclusive`), the pixels are copied now, so that the caller may reuse its array as soon as
   * the call returns; `forward` writes them to the queue at once and needs no copy.
   */
  private cpuInput(pixels: Uint8Array | Uint8ClampedArray, count: number, copy: boolean): ChunkInput {
    if (!(pixels instanceof Uint8Array) && !(pixels instanceof Uint8ClampedArray)) {
      const hint = isGpuBuffer(pixels) ? ' (images in a GPU buffer: embedGpu / embedGpuInto)' : '';
      throw new TypeError(`pixels must be a Uint8Array (or Uint8ClampedArray) of packed RGB bytes, got ${describeValue(pixels)}${hint}`);
    }
    this.checkCall(count);
    const s = this.manifest.inputSize;
    const per = s * s * 3;
    if (pixels.length !== count * per) throw new Error(`expected ${count} RGB images of ${s}x${s} (${count * per} bytes), got ${pixels.length} bytes`);
    const view = pixels instanceof Uint8Array ? pixels : new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    const bytes = copy ? view.slice() : view;
    return (at, n) => bytes.subarray(at * per, (at + n) * per);
  }

  /** Checked packed RGB images in a GPU buffer from `inputOffset`, cut into a batch's chunks. */
  private gpuInput(input: GPUBuffer, count: number, inputOffset: number): ChunkInput {
    if (!isGpuBuffer(input)) throw new TypeError(`input must be a GPUBuffer of packed RGB bytes, got ${describeValue(input)}${ArrayBuffer.isView(input) ? ' (images in memory: embed / embedInto)' : ''}`);
    this.checkCall(count);
    const per = this.manifest.inputSize ** 2 * 3;
    if (!Number.isInteger(inputOffset) || inputOffset < 0) throw new Error(`inputOffset must be a non-negative integer, got ${inputOffset}`);
    if (per % 4 !== 0 || inputOffset % 4 !== 0) throw new Error(`GPU input needs 4-byte aligned images (input size ${this.manifest.inputSize}, offset ${inputOffset})`);
    if (inputOffset + count * per > input.size) throw new Error(`expected ${count} RGB images (${count * per} bytes) from byte ${inputOffset} of a ${input.size}-byte buffer`);
    if (!(input.usage & GPUBufferUsage.COPY_SRC)) throw new Error(`the input buffer${input.label ? ` "${input.label}"` : ''} needs COPY_SRC usage to be copied from`);
    return (at, n) => ({ buffer: input, offset: inputOffset + at * per, size: n * per });
  }

  /** The checks of embedInto's target: a GPUBuffer with COPY_DST and room for `count` descriptors from `offset`. */
  private checkTarget(target: GPUBuffer, count: number, offset: number): void {
    if (!isGpuBuffer(target)) throw new TypeError(`target must be a GPUBuffer, got ${describeValue(target)}`);
    const name = `the target buffer${target.label ? ` "${target.label}"` : ''}`;
    if (!Number.isInteger(offset) || offset < 0 || offset % 4 !== 0) throw new Error(`the target offset must be a non-negative multiple of 4, got ${offset}`);
    const bytes = count * this.outputDim * 4;
    if (offset + bytes > target.size) throw new Error(`${name} holds ${target.size} bytes: ${count} descriptors (${bytes} bytes) from byte ${offset} need ${offset + bytes}`);
    if (!(target.usage & GPUBufferUsage.COPY_DST)) throw new Error(`${name} needs COPY_DST usage for the descriptors to be copied into it`);
  }

  /**
   * Run `submit` (a call's submits, nothing awaited) inside a validation error scope and turn
   * what it caught into a one-line Error (a caller's buffer destroyed, most often) instead of
   * an uncaptured error line and a call that succeeds with nothing written.
   */
  private validated(what: string, submit: () => void): Promise<void> {
    const device = this.gpu.device;
    device.pushErrorScope('validation');
    let thrown: { err: unknown } | null = null;
    try {
      submit();
    } catch (err) {
      thrown = { err };
    }
    // Popped in the same turn as it was pushed: no other user of the device comes in between.
    const popped = device.popErrorScope();
    if (thrown) {
      popped.catch(() => undefined);
      return Promise.reject(thrown.err);
    }
    return popped.then((err) => {
      if (err) throw new Error(`${what} failed: ${err.message.split('\n')[0].trim()}`);
    });
  }

  /** Upload one chunk and encode its forward pass (plus `after`) into one command buffer. */
  private submitChunk(pixels: Uint8Array | Required<GPUBufferBinding>, n: number, after?: (enc: GPUCommandEncoder, p: Plan) => void): Plan {
    const p = this.plan(n);
    const q = this.gpu.device.queue;
    const enc = this.gpu.device.createCommandEncoder({ label: `forward [batch ${n}]` });
    // Pixels already on the GPU (embedGpuInto) are copied in by this same command buffer.
    if (!(pixels instanceof Uint8Array)) enc.copyBufferToBuffer(pixels.buffer, pixels.offset, p.input, 0, pixels.size);
    // writeBuffer needs a multiple of 4 bytes; the input buffer is padded to one.
    else if (pixels.byteLength % 4 === 0) q.writeBuffer(p.input, 0, pixels.buffer, pixels.byteOffset, pixels.byteLength);
    else {
      const padded = new Uint8Array(Math.ceil(pixels.byteLength / 4) * 4);
      padded.set(pixels);
      q.writeBuffer(p.input, 0, padded);
    }
    const pass = enc.beginComputePass();
    this.runner.encode(pass, p.ops);
    pass.end();
    after?.(enc, p);
    this.pending ??= { since: performance.now(), images: 0 };
    this.pending.images += n;
    q.submit([enc.finish()]);
    return p;
  }

  /** Chunk boundaries for a batch: as few command buffers as the device limits allow. */
  private chunks(count: number): [number, number][] {
    const out: [number, number][] = [];
    const per = Math.ceil(count / Math.ceil(count / this.maxBatch));
    for (let at = 0; at < count; at += per) out.push([at, Math.min(per, count - at)]);
    return out;
  }

  /**
   * Descriptors of `count` images given as packed 8-bit RGB, inputSize x inputSize each:
   * [count, outputDim] float32, row-major. `pixels` is a Uint8Array (a Uint8ClampedArray is
   * read as the same bytes); anything else is a TypeError. The pixels are taken (copied) when
   * the call is made: the caller may overwrite the array as soon as `embed` returns, even
   * while the call waits behind others.
   */
  async embed(pixels: Uint8Array | Uint8ClampedArray, count: number): Promise<Float32Array> {
    const input = this.cpuInput(pixels, count, true);
    return this.exclusive(() => this.readBack(count, input));
  }

  /**
   * `embed` for images already on the GPU: `count` packed RGB images in `input` from byte
   * `inputOffset` (a multiple of 4; `input` needs COPY_SRC), copied into the engine's input
   * by the forward pass's own command buffer. The face aligner's warp hands its crops over
   * this way: pixels never visit the CPU, only descriptors come back.
   */
  async embedGpu(input: GPUBuffer, count: number, inputOffset = 0): Promise<Float32Array> {
    const chunks = this.gpuInput(input, count, inputOffset);
    return this.exclusive(() => this.readBack(count, chunks));
  }

  /** Run the chunks of a batch and read their descriptors back, one chunk at a time. */
  private async readBack(count: number, chunkInput: ChunkInput): Promise<Float32Array> {
    const result = new Float32Array(count * this.outputDim);
    for (const [at, n] of this.chunks(count)) {
      // Destroyed between two chunks: the next one is not run on freed buffers.
      if (this.destroyed) throw destroyedError();
      const bytes = n * this.outputDim * 4;
      let p!: Plan;
      const submitted = this.validated('the forward pass', () => {
        p = this.submitChunk(chunkInput(at, n), n, (enc, plan) => enc.copyBufferToBuffer(plan.output, 0, plan.staging, 0, bytes));
      });
      const work = this.pending;
      this.pending = null;
      await submitted;
      // The engine may be destroyed while the wait sleeps: then its staging buffer is not mapped.
      const map = () => {
        if (this.destroyed) throw destroyedError();
        return p.staging.mapAsync(GPUMapMode.READ, 0, bytes);
      };
      try {
        await this.waits.until(`read ${work!.images}`, work!.since, map);
      } catch (err) {
        throw await this.explain(err);
      }
      // Destroyed while this chunk was on the GPU: its staging buffer is gone (its map aborted, or not read).
      if (this.destroyed) throw destroyedError();
      assertAlive(this.gpu);
      result.set(new Float32Array(p.staging.getMappedRange(0, bytes)), at * this.outputDim);
      p.staging.unmap();
    }
    return result;
  }

  /**
   * Run the forward pass and leave the descriptors on the GPU: they are copied into `target`
   * (STORAGE | COPY_DST, at least count * outputDim * 4 bytes from `offset`) without a read
   * back. Used to hand descriptors to tfjs on the same device. The pixels are taken when the
   * call is made, as in `embed`. The target is checked first (a GPUBuffer with COPY_DST, room
   * for the descriptors, `offset` a multiple of 4); one destroyed by the time the pass is
   * submitted rejects the call.
   */
  async embedInto(pixels: Uint8Array | Uint8ClampedArray, count: number, target: GPUBuffer, offset = 0): Promise<void> {
    const input = this.cpuInput(pixels, count, true);
    this.checkTarget(target, count, offset);
    return this.exclusive(async () => this.copyOut(count, input, target, offset));
  }

  /**
   * embedInto for images that are already on the GPU: `count` packed RGB images in `input`
   * from byte `inputOffset` (a multiple of 4; `input` needs COPY_SRC) are copied into the
   * engine's input inside the forward pass's own command buffer, never through the CPU.
   * Training's augmentation shader hands its views to the backbone this way.
   */
  async embedGpuInto(input: GPUBuffer, count: number, target: GPUBuffer, offset = 0, inputOffset = 0): Promise<void> {
    const chunks = this.gpuInput(input, count, inputOffset);
    this.checkTarget(target, count, offset);
    return this.exclusive(async () => this.copyOut(count, chunks, target, offset));
  }

  /** Run the chunks of a batch, each copying its descriptors into `target` from `offset` (no read back). */
  private copyOut(count: number, chunkInput: ChunkInput, target: GPUBuffer, offset: number): Promise<void> {
    return this.validated('the forward pass into the target buffer', () => {
      for (const [at, n] of this.chunks(count)) {
        const bytes = n * this.outputDim * 4;
        this.submitChunk(chunkInput(at, n), n, (enc, plan) => enc.copyBufferToBuffer(plan.output, 0, target, offset + at * this.outputDim * 4, bytes));
      }
    });
  }

  /**
   * A failed map is most often a lost device, or the engine destroyed under the call: say so
   * rather than pass on a bare AbortError.
   */
  private async explain(err: unknown): Promise<unknown> {
    if (this.destroyed) return destroyedError();
    await Promise.race([this.gpu.device.lost, new Promise((r) => setTimeout(r, 1000))]);
    try {
      assertAlive(this.gpu);
    } catch (lost) {
      return lost;
    }
    return err;
  }

  /**
   * Run every kernel once: a pass of one image (whatever the input buffer holds) with the
   * kernels of each tuned batch size, nothing read back. Some drivers compile a pipeline at its
   * first dispatch, not when it is created (the constructor creates them all): Mesa's lavapipe
   * turns each kernel into machine code with LLVM then, about a second per kernel on a 2-core
   * machine, and keeps it in its disk cache for later runs (src/gpu/README.md, "Compiled at
   * first use"). This does that work now, where a caller can say what the wait is, rather than
   * inside the first real call. Once compiled, it costs a pass of one image per tuned batch size.
   */
  async warmUp(): Promise<void> {
    this.checkCall(1);
    return this.exclusive(async () => {
      const t0 = performance.now();
      const p = this.plan(1);
      const device = this.gpu.device;
      const enc = device.createCommandEncoder({ label: 'warm-up [batch 1]' });
      const pass = enc.beginComputePass();
      this.runner.encode(pass, p.ops);
      // The kernels of the other tuned batch sizes, on the same buffers (an image's worth).
      const uniforms: GPUBuffer[] = [];
      const served = this.tuningBatchFor(1);
      for (const batch of this.tuningBatches()) {
        if (batch === served) continue;
        const mk = (size: number, usage: GPUBufferUsageFlags, label: string) => this.buffers.create(size, usage, `warm-up ${label} [tuned batch ${batch}]`);
        const { ops, uniformBuffer } = this.runner.prepare(this.buildOps(1, p.input, p.a, p.b, p.output, this.weights, batch), mk);
        uniforms.push(uniformBuffer);
        this.runner.encode(pass, ops);
      }
      pass.end();
      device.queue.submit([enc.finish()]);
      try {
        await device.queue.onSubmittedWorkDone();
      } finally {
        uniforms.forEach((u) => this.buffers.destroy(u));
      }
      if (this.destroyed) throw destroyedError();
      assertAlive(this.gpu);
      this.warmUpMs = performance.now() - t0;
    });
  }

  /** Wait for all submitted work (benchmarks time to here). */
  async onDone(): Promise<void> {
    const work = this.pending;
    this.pending = null;
    const done = () => this.gpu.device.queue.onSubmittedWorkDone();
    await (work ? this.waits.until(`done ${work.images}`, work.since, done) : done());
    assertAlive(this.gpu);
  }

  /** Prepared ops of the plan for a batch of n (benchmarks time them one by one). */
  preparedOps(n: number): readonly PreparedOp[] {
    return this.plan(n).ops;
  }

  /** Run forward passes without reading anything back (benchmarks; wait with onDone). */
  forward(pixels: Uint8Array | Uint8ClampedArray, count: number): void {
    const input = this.cpuInput(pixels, count, false);
    for (const [at, n] of this.chunks(count)) this.submitChunk(input(at, n), n);
  }

  /** Whether destroy was called: every call is refused since. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.plans.clear();
    this.buffers.destroyAll();
  }
}
