// Timing one prepared op for the tuner: `reps` dispatches of it in one compute pass, timed by
// the pass's begin/end timestamps where the device has 'timestamp-query', else by wall time
// from submit to `queue.onSubmittedWorkDone()`. Several dispatches per sample because Dawn
// quantizes timestamps (65.5 us on lavapipe) and wall time carries a submit's fixed cost.
import type { KernelRunner, PreparedOp } from '../gpu/runner.ts';

export type TimingMethod = 'gpu-timestamp' | 'wall-to-done';

export class OpTimer {
  readonly method: TimingMethod;
  /** Samples taken so far (a cached tuning takes none). */
  samples = 0;
  private readonly query: { set: GPUQuerySet; resolve: GPUBuffer; readback: GPUBuffer } | null = null;

  constructor(
    private readonly device: GPUDevice,
    private readonly runner: KernelRunner,
  ) {
    this.method = device.features.has('timestamp-query') ? 'gpu-timestamp' : 'wall-to-done';
    if (this.method === 'gpu-timestamp') {
      this.query = {
        set: device.createQuerySet({ type: 'timestamp', count: 2, label: 'tuner timestamps' }),
        resolve: device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'tuner resolve' }),
        readback: device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'tuner readback' }),
      };
    }
  }

  /** ms per dispatch of `op`, from one pass of `reps` dispatches. */
  async time(op: PreparedOp, reps: number): Promise<number> {
    this.samples++;
    const enc = this.device.createCommandEncoder({ label: 'tuner sample' });
    const q = this.query;
    const pass = enc.beginComputePass(q ? { timestampWrites: { querySet: q.set, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    for (let i = 0; i < reps; i++) this.runner.encode(pass, [op]);
    pass.end();
    if (q) {
      enc.resolveQuerySet(q.set, 0, 2, q.resolve, 0);
      enc.copyBufferToBuffer(q.resolve, 0, q.readback, 0, 16);
    }
    const t0 = performance.now();
    this.device.queue.submit([enc.finish()]);
    if (!q) {
      await this.device.queue.onSubmittedWorkDone();
      return (performance.now() - t0) / reps;
    }
    await q.readback.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(q.readback.getMappedRange().slice(0));
    q.readback.unmap();
    return Number(t[1] - t[0]) / 1e6 / reps;
  }

  destroy(): void {
    this.query?.set.destroy();
    this.query?.resolve.destroy();
    this.query?.readback.destroy();
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
