// Cutting aligned faces out of a photo on the GPU: the photo goes up once as packed RGB bytes,
// every face's transform (align.ts) is one view of it, and shaders/warp_affine.wgsl writes
// the views as size x size packed RGB, the layout MobileNetEngine.embed / embedGpuInto take,
// so the crops can go into the backbone without a round trip through the CPU.
// Platform-neutral: the page uses it too, through the same KernelRunner and bundled shaders.
import { BufferPool, STORAGE } from '../gpu/buffers.ts';
import { assertAlive, type Gpu } from '../gpu/device.ts';
import { PatientWait } from '../gpu/patient-wait.ts';
import type { KernelRunner, OpDesc } from '../gpu/runner.ts';
import type { RgbImage } from '../image/rgb.ts';
import { packMaps, warpOp, MAX_TAPS, MAP_FLOATS, tapsFor } from '../kernels/warp.ts';
import type { Affine } from './align.ts';
import { packedBytes, sourceParts } from './warp-parts.ts';

export { MAX_TAPS, MAP_FLOATS, tapsFor, packMaps, warpOp };

/** Usage of the buffers `warp` writes into (its own, and what it requires of a caller's `into`). */
export const WARP_OUTPUT_USAGE = STORAGE;


export interface WarpOutput {
  /** Holds the views: count x size x size x 3 bytes from `offset`, packed RGB. */
  buffer: GPUBuffer;
  offset: number;
  count: number;
  /** count * size * size * 3 (the last word is padded with zeros when that is not a multiple of 4). */
  bytes: number;
}

export interface WarperOptions {
  /** Workgroup size. */
  wg?: number;
  /** Cap on the supersampling grid (taps per axis). */
  maxTaps?: number;
  /**
   * Most bytes of photo uploaded in one buffer (default: what the device binds in one storage
   * buffer). A larger photo is warped from the parts of it the views read (warp-parts.ts).
   */
  maxSourceBytes?: number;
}

type Slot = 'source' | 'maps' | 'output' | 'staging' | 'uniforms';

/**
 * Warps photos into aligned face crops on the GPU, one command buffer per call (per part, for
 * a photo too big to bind: below). Buffers are kept between calls and grown when a call needs
 * more.
 *
 * A photo larger than the device binds in one storage buffer (maxStorageBufferBindingSize,
 * 128 MiB by default: about 44 megapixels, less than a 48-megapixel phone photo) is warped
 * from the parts of it its views read, cut out on the CPU (warp-parts.ts): the same crops.
 */
export class FaceWarper {
  private readonly pool: BufferPool;
  private readonly buffers = new Map<Slot, GPUBuffer>();
  private readonly waits = new PatientWait();
  private readonly gpu: Gpu | null;
  private reading: Promise<unknown> = Promise.resolve();
  private destroyed = false;

  /**
   * @param runner the kernel runner to compile and bind with (an engine's `runner`: its
   *   pipeline cache and its device)
   * @param gpu the device's handle (a lost device then gives its error instead of a hang),
   *   or the device itself, which must be the runner's
   */
  constructor(
    readonly runner: KernelRunner,
    gpu?: Gpu | GPUDevice,
    private readonly opts: WarperOptions = {},
  ) {
    const device = gpu && 'adapter' in gpu && 'device' in gpu ? gpu.device : gpu;
    if (device && device !== runner.device) throw new Error('FaceWarper: the device is not the kernel runner\'s');
    this.gpu = gpu && 'adapter' in gpu && 'device' in gpu ? gpu : null;
    this.pool = new BufferPool(runner.device);
  }

  private get device(): GPUDevice {
    return this.runner.device;
  }

  /**
   * Encode and submit the views of `image` under `maps` (one per face), size x size each,
   * into `into` (a caller's buffer with STORAGE usage, from byte `offset`, a multiple of 4;
   * whole words are written, so when count * size * size * 3 is not a multiple of 4 the
   * bytes up to the next multiple of 4 are zeroed) or else into the warper's own output
   * buffer (WARP_OUTPUT_USAGE). The work is submitted
   * before the promise resolves. The warper's own buffer is reused by the next call: submit
   * what reads it first (`await engine.embedGpuInto(out.buffer, out.count, ...)` submits
   * before it resolves); the GPU queue keeps the order from there.
   */
  async warp(image: RgbImage, maps: readonly Affine[], size: number, into?: { buffer: GPUBuffer; offset?: number }): Promise<WarpOutput> {
    return this.submit(image, maps, size, into, false).out;
  }

  /** `warp`, read back: count x size x size x 3 bytes (tests, and to show what the network saw). */
  async warpToBytes(image: RgbImage, maps: readonly Affine[], size: number): Promise<Uint8Array> {
    // The staging buffer is shared: one read back at a time.
    const run = this.reading.then(async () => {
      const { out, since } = this.submit(image, maps, size, undefined, true);
      const staging = this.buffers.get('staging')!;
      const bytes = Math.ceil(out.bytes / 4) * 4;
      await this.waits.until(`read ${bytes}`, since, () => staging.mapAsync(GPUMapMode.READ, 0, bytes));
      try {
        return new Uint8Array(staging.getMappedRange(0, bytes).slice(0, out.bytes));
      } finally {
        staging.unmap();
      }
    });
    this.reading = run.catch(() => undefined);
    return run;
  }

  /** Release the warper's buffers (a caller's `into` buffers stay the caller's). */
  destroy(): void {
    this.destroyed = true;
    this.buffers.clear();
    this.pool.destroyAll();
  }

  private submit(image: RgbImage, maps: readonly Affine[], size: number, into: { buffer: GPUBuffer; offset?: number } | undefined, read: boolean): { out: WarpOutput; since: number } {
    if (this.destroyed) throw new Error('warp: the face warper has been destroyed');
    if (this.gpu) assertAlive(this.gpu);
    const { data, width, height } = image;
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data.length !== width * height * 3) {
      throw new Error(`warp: ${data.length} bytes for a ${width}x${height} RGB image`);
    }
    if (!Number.isInteger(size) || size < 1) throw new Error(`warp: the output size must be a positive integer, got ${size}`);
    if (!maps.length) throw new Error('warp: no transforms (no face to cut)');
    for (const m of maps) {
      if (![m.a, m.b, m.c, m.d, m.e, m.f].every(Number.isFinite)) throw new Error(`warp: a transform that is not finite: ${JSON.stringify(m)}`);
    }
    const lim = this.device.limits;
    const bind = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
    const count = maps.length;
    const bytes = count * size * size * 3;
    const words = Math.ceil(bytes / 4);
    let dst: GPUBuffer;
    let offset = 0;
    if (into) {
      offset = into.offset ?? 0;
      if (!Number.isInteger(offset) || offset < 0 || offset % 4 !== 0) throw new Error(`warp: the output offset must be a non-negative multiple of 4, got ${offset}`);
      if (offset + words * 4 > into.buffer.size) throw new Error(`warp: ${count} views of ${size}x${size} need ${words * 4} bytes from byte ${offset}, the buffer has ${into.buffer.size}`);
      if (into.buffer.size > bind) throw new Error(`warp: the output buffer (${into.buffer.size} bytes) is larger than this WebGPU device binds in one storage buffer (${bind})`);
      if (into.buffer.usage !== undefined && !(into.buffer.usage & 0x80)) throw new Error('warp: the output buffer needs STORAGE usage');
      dst = into.buffer;
    } else {
      if (words * 4 > bind) throw new Error(`warp: ${count} views of ${size}x${size} take ${words * 4} bytes, more than this WebGPU device binds in one storage buffer (${bind}); warp fewer at a time`);
      dst = this.slot('output', words * 4, WARP_OUTPUT_USAGE);
    }

    // Parts are uploaded and dispatched one after another, each in its own submit: they share
    // the source, maps and uniforms buffers, which writeBuffer rewrites in queue order.
    const parts = sourceParts(image, maps, size, Math.min(bind, this.opts.maxSourceBytes ?? Infinity));
    const q = this.device.queue;
    const wg = this.opts.wg ?? 64;
    let since = 0;
    parts.forEach((part, k) => {
      const src = part.image.data;
      const source = this.slot('source', packedBytes(part.image.width, part.image.height), WARP_OUTPUT_USAGE);
      // writeBuffer takes multiples of 4 bytes: the whole words, then the last one padded.
      const whole = src.length & ~3;
      if (whole > 0) q.writeBuffer(source, 0, src, 0, whole);
      if (whole < src.length) {
        const tail = new Uint8Array(4);
        tail.set(src.subarray(whole));
        q.writeBuffer(source, whole, tail);
      }
      const packed = packMaps(part.maps, this.opts.maxTaps ?? MAX_TAPS);
      const mapBuffer = this.slot('maps', packed.byteLength, WARP_OUTPUT_USAGE);
      q.writeBuffer(mapBuffer, 0, packed);

      const first = offset + part.first * size * size * 3; // whole words: sourceParts sees to it
      const shape = { count: part.maps.length, size, width: part.image.width, height: part.image.height, outWord: first / 4 };
      const op = warpOp(source, mapBuffer, dst, shape, wg, lim.maxComputeWorkgroupsPerDimension);
      // The uniforms' size is the same every call: one buffer, rewritten in queue order.
      const { ops } = this.runner.prepare([op], (s, usage) => this.slot('uniforms', s, usage));
      const enc = this.device.createCommandEncoder({ label: op.label });
      const pass = enc.beginComputePass({ label: op.label });
      this.runner.encode(pass, ops);
      pass.end();
      if (read && k === parts.length - 1) {
        const staging = this.slot('staging', words * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
        enc.copyBufferToBuffer(dst, 0, staging, 0, words * 4);
      }
      if (k === 0) since = performance.now();
      q.submit([enc.finish()]);
    });
    return { out: { buffer: dst, offset, count, bytes }, since };
  }

  /** The warper's buffer for `slot`, at least `bytes` long (replaced by a larger one when not). */
  private slot(slot: Slot, bytes: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const have = this.buffers.get(slot);
    if (have && have.size >= bytes) return have;
    // Work already submitted keeps the old buffer alive until it is done.
    this.pool.destroy(have);
    const buf = this.pool.create(bytes, usage, `face warp ${slot}`);
    this.buffers.set(slot, buf);
    return buf;
  }
}
