// How the benchmark measures time, in one place so that every side is measured alike.
//
// - GPU time: a timestamp written at the beginning and the end of a compute pass
//   (`timestampWrites`), one pass per measured piece of work. This is what tfjs-backend-webgpu
//   does inside `tf.time()` (each program in its own timed pass), so kernel rows compare like
//   with like. Available where the adapter offers 'timestamp-query' (lavapipe does).
// - Wall time: from before the work is encoded (input upload included) to
//   `queue.onSubmittedWorkDone()`; never includes a read-back. Used where timestamps are
//   missing, for the end-to-end rows (which also compare against tfjs-wasm, a CPU backend)
//   and as a cross-check. End-to-end waits are "patient" on both WebGPU sides (our engine's
//   own onDone, PatientWallTimer for tfjs): they sleep through most of the expected time
//   before creating the promise, because Dawn's Node binding busy-polls while one is pending
//   and on a CPU adapter that steals a core from the driver (src/gpu/patient-wait.ts); there
//   every device in the benchmark awaits its promises in slices (src/gpu/dawn-wait.ts).
import { PatientWait } from '../src/gpu/patient-wait.ts';

export interface Stats {
  /** Median of the repeated runs, ms. */
  median: number;
  min: number;
  max: number;
  /** Half the interquartile range relative to the median (0.05 = +-5%). */
  spread: number;
  runs: number;
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const q = (f: number) => {
    const at = (s.length - 1) * f;
    const lo = Math.floor(at);
    const hi = Math.ceil(at);
    return s[lo] + (s[hi] - s[lo]) * (at - lo);
  };
  const median = q(0.5);
  return { median, min: s[0], max: s[s.length - 1], spread: median > 0 ? (q(0.75) - q(0.25)) / 2 / median : 0, runs: s.length };
}

export function hasTimestamps(device: GPUDevice): boolean {
  return device.features.has('timestamp-query');
}

/**
 * Times compute passes with timestamp queries. `time(passes)` encodes each entry as its own
 * compute pass (begin/end timestamps) into one command buffer, submits it, and returns each
 * pass's GPU time in ms. Query set and buffers are made once and reused.
 */
export class PassTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly readback: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    readonly maxPasses: number,
  ) {
    if (!hasTimestamps(device)) throw new Error("this adapter has no 'timestamp-query'; use wall time");
    const count = 2 * maxPasses;
    this.querySet = device.createQuerySet({ type: 'timestamp', count, label: 'bench timestamps' });
    this.resolve = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'bench timestamps resolve' });
    this.readback = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'bench timestamps readback' });
  }

  async time(passes: readonly ((pass: GPUComputePassEncoder) => void)[], before?: (enc: GPUCommandEncoder) => void): Promise<number[]> {
    const n = passes.length;
    if (n > this.maxPasses) throw new Error(`PassTimer made for ${this.maxPasses} passes, asked for ${n}`);
    const enc = this.device.createCommandEncoder({ label: 'bench timed passes' });
    before?.(enc);
    passes.forEach((encode, i) => {
      const pass = enc.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      encode(pass);
      pass.end();
    });
    enc.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 2 * n * 8);
    this.device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ, 0, 2 * n * 8);
    const t = new BigUint64Array(this.readback.getMappedRange(0, 2 * n * 8).slice(0));
    this.readback.unmap();
    return passes.map((_, i) => Number(t[2 * i + 1] - t[2 * i]) / 1e6);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolve.destroy();
    this.readback.destroy();
  }
}

/** Wall time of `run` (which submits GPU work) until the queue has finished it, ms. */
export async function wallToDone(device: GPUDevice, run: () => void | Promise<void>): Promise<number> {
  const t0 = performance.now();
  await run();
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}

/** Wall time to done with a patient wait, learned per key (e.g. side and batch). */
export class PatientWallTimer {
  private readonly waits = new PatientWait();

  constructor(private readonly device: GPUDevice) {}

  async time(key: string, run: () => void | Promise<void>): Promise<number> {
    const t0 = performance.now();
    await run();
    await this.waits.until(key, t0, () => this.device.queue.onSubmittedWorkDone());
    return performance.now() - t0;
  }
}

/** Run `measure` warmup times (discarded), then `repeats` times; return the samples. */
export async function repeat(warmup: number, repeats: number, measure: () => Promise<number>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await measure();
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) out.push(await measure());
  return out;
}
