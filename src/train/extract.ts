// Descriptor extraction for training: images are decoded a batch ahead on the CPU while the
// backbone runs, and every descriptor lands in one GPU buffer that tfjs then reads in place
// (zero copy), so descriptors never come back to the CPU. With augmentation, each batch of
// originals is uploaded once; the augmentation shader writes its views on the GPU and the
// engine takes them from there. Browser-safe: WebGPU, tfjs and the engine only.
import * as tf from '@tensorflow/tfjs-core';
import { STORAGE } from '../gpu/buffers.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { augmentOp } from '../kernels/augment.ts';
import { drawView, packViews, viewAffine, type AugmentRecipe } from './augment.ts';
import type { LabeledTensors } from './fit.ts';

/** One image of a data set: a stable id (its path relative to the data folder) and its class. */
export interface ImageItem {
  id: string;
  label: number;
}

/** Decodes an image to packed RGB at the engine's input size; throws on unreadable files. */
export type PixelLoader = (id: string) => Promise<Uint8Array>;

export interface SkippedFile {
  id: string;
  reason: string;
}

export interface ExtractOptions {
  /** Images per forward pass. */
  batchSize?: number;
  /** Augmented views per image (training only), drawn from `seed`. */
  augment?: { views: number; seed: number; recipe: AugmentRecipe };
  /** Augmented views made and embedded at a time (default: as many as one buffer of the device binds). */
  viewsAtOnce?: number;
  onProgress?: (done: number, total: number) => void;
  onSkip?: (skipped: SkippedFile) => void;
}

/** Descriptors of a set, resident in one GPU buffer that tfjs reads without a copy. */
export class DescriptorSet {
  constructor(
    readonly buffer: GPUBuffer,
    readonly rows: number,
    readonly dim: number,
    /** Class of each row. */
    readonly labels: Int32Array,
    /** The originals that decoded (augmented views follow their batch's originals in the buffer). */
    readonly kept: ImageItem[],
    readonly skipped: SkippedFile[],
  ) {}

  /**
   * tfjs tensors over the buffer. zeroCopy: the tensor binds this very GPUBuffer (no copy,
   * no read back); tfjs does not own it, so dispose the tensors before `destroy()`.
   */
  tensors(): LabeledTensors {
    return {
      x: tf.tensor({ buffer: this.buffer, zeroCopy: true }, [this.rows, this.dim], 'float32') as tf.Tensor2D,
      labels: tf.tensor1d(this.labels, 'int32'),
    };
  }

  destroy(): void {
    this.buffer.destroy();
  }
}

const BUFFER_USAGE = STORAGE; // tfjs needs STORAGE | COPY_SRC

export async function extractDescriptors(engine: MobileNetEngine, items: readonly ImageItem[], load: PixelLoader, opts: ExtractOptions = {}): Promise<DescriptorSet> {
  const device = engine.gpu.device;
  const batchSize = Math.max(1, opts.batchSize ?? 16);
  const views = opts.augment?.views ?? 0;
  const dim = engine.outputDim;
  const size = engine.inputSize;
  const per = size * size * 3;
  const rowBytes = dim * 4;
  // Every descriptor in one buffer that tfjs binds whole: refused, before any work, where the
  // device cannot (its allocation failed as a WebGPU error that nothing caught, and training
  // went on with zeros).
  const bind = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const bytes = Math.max(1, items.length * (1 + views)) * rowBytes;
  if (bytes > bind) {
    throw new Error(`${items.length} images${views ? ` and ${views} augmented views of each` : ''} make ${bytes} bytes of descriptors, more than this device binds in one buffer (${bind})${views ? ': ask for fewer augmented views' : ''}`);
  }
  const buffer = device.createBuffer({ label: 'training descriptors', size: bytes, usage: BUFFER_USAGE });
  // The views of a batch are made and embedded as many at a time as one buffer binds.
  const viewsAtOnce = Math.max(1, Math.min(batchSize * views, Math.floor(bind / per), opts.viewsAtOnce ?? Infinity));
  const perBatch = views > 0 ? createAugmentBuffers(device, batchSize, viewsAtOnce, per) : null;
  const labels: number[] = [];
  const kept: ImageItem[] = [];
  const skipped: SkippedFile[] = [];
  let rows = 0;
  try {
    const batches: ImageItem[][] = [];
    for (let at = 0; at < items.length; at += batchSize) batches.push(items.slice(at, at + batchSize));
    const decode = (batch: ImageItem[]) =>
      Promise.all(batch.map((item) => load(item.id).then((px) => ({ item, px }), (err: Error) => ({ item, err }))));
    let next = batches.length ? decode(batches[0]) : null;
    let done = 0;
    for (let b = 0; b < batches.length; b++) {
      const decoded = await next!;
      // Decode the next batch on the CPU while this one runs on the GPU.
      next = b + 1 < batches.length ? decode(batches[b + 1]) : null;
      const ok: { item: ImageItem; px: Uint8Array }[] = [];
      for (const d of decoded) {
        if ('px' in d) {
          if (d.px.length !== per) throw new Error(`${d.item.id}: the loader returned ${d.px.length} bytes, expected ${per}`);
          ok.push(d);
        } else {
          const s = { id: d.item.id, reason: d.err.message };
          skipped.push(s);
          opts.onSkip?.(s);
        }
      }
      if (ok.length) {
        const pixels = new Uint8Array(ok.length * per);
        ok.forEach((d, i) => pixels.set(d.px, i * per));
        if (!perBatch) await engine.embedInto(pixels, ok.length, buffer, rows * rowBytes);
        else {
          device.queue.writeBuffer(perBatch.originals, 0, pixels);
          await engine.embedGpuInto(perBatch.originals, ok.length, buffer, rows * rowBytes);
          const { recipe, seed } = opts.augment!;
          const viewList = ok.flatMap((d, i) =>
            Array.from({ length: views }, (_, v) => ({ affine: viewAffine(drawView(recipe, seed, d.item.id, v, size, size), size, size), source: i })),
          );
          for (let at = 0; at < viewList.length; at += viewsAtOnce) {
            const part = viewList.slice(at, at + viewsAtOnce);
            runAugment(engine, perBatch, part, size, recipe);
            await engine.embedGpuInto(perBatch.views, part.length, buffer, (rows + ok.length + at) * rowBytes);
          }
        }
        for (const d of ok) labels.push(d.item.label);
        for (const d of ok) for (let v = 0; v < views; v++) labels.push(d.item.label);
        kept.push(...ok.map((d) => d.item));
        rows += ok.length * (1 + views);
      }
      await engine.onDone(); // a patient wait: no core spent polling while the backbone runs
      done += batches[b].length;
      opts.onProgress?.(done, items.length);
    }
  } catch (err) {
    buffer.destroy();
    throw err;
  } finally {
    perBatch?.destroy();
  }
  return new DescriptorSet(buffer, rows, dim, Int32Array.from(labels), kept, skipped);
}

interface AugmentBuffers {
  originals: GPUBuffer;
  params: GPUBuffer;
  views: GPUBuffer;
  destroy(): void;
}

/** Buffers for a batch of `batch` originals and `views` views made at a time (of all its originals'). */
function createAugmentBuffers(device: GPUDevice, batch: number, views: number, per: number): AugmentBuffers {
  const originals = device.createBuffer({ label: 'augment originals', size: batch * per, usage: BUFFER_USAGE });
  const params = device.createBuffer({ label: 'augment params', size: views * 8 * 4, usage: BUFFER_USAGE });
  const out = device.createBuffer({ label: 'augment views', size: views * per, usage: BUFFER_USAGE });
  return {
    originals,
    params,
    views: out,
    destroy() {
      originals.destroy();
      params.destroy();
      out.destroy();
    },
  };
}

/** Write the views' parameters and run the augmentation shader (one command buffer). */
function runAugment(engine: MobileNetEngine, bufs: AugmentBuffers, viewList: { affine: readonly number[]; source: number }[], size: number, recipe: AugmentRecipe): void {
  const device = engine.gpu.device;
  device.queue.writeBuffer(bufs.params, 0, packViews(viewList));
  const uniforms: GPUBuffer[] = [];
  const { ops } = engine.runner.prepare([augmentOp({ src: bufs.originals, views: bufs.params, dst: bufs.views, count: viewList.length, width: size, height: size, interpolation: recipe.interpolation })], (s, usage, label) => {
    const u = device.createBuffer({ size: Math.max(16, s), usage, label });
    uniforms.push(u);
    return u;
  });
  const enc = device.createCommandEncoder({ label: 'augment' });
  const pass = enc.beginComputePass();
  engine.runner.encode(pass, ops);
  pass.end();
  device.queue.submit([enc.finish()]);
  // Work already submitted keeps its buffers alive; the uniforms are not needed past it.
  for (const u of uniforms) u.destroy();
}
