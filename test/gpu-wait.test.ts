// Waiting for GPU work: PatientWait's sleep and what it learns (fake clock), and the sliced
// waits that keep Dawn's binding from spinning the event loop on a CPU adapter (real lavapipe work).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveBackboneDir } from '../src/backbones.ts';
import { pendingSlicedWaits, SLICE_MS, throttleWaits } from '../src/gpu/dawn-wait.ts';
import type { Gpu } from '../src/gpu/device.ts';
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { PatientWait } from '../src/gpu/patient-wait.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { loadBackbone } from '../src/weights/store.ts';

describe('PatientWait (fake clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * One wait for work of `workMs` submitted now: returns when `ready` was called (ms after
   * submission) and how long the wait took.
   */
  async function wait(w: PatientWait, workMs: number): Promise<{ askedAt: number; took: number }> {
    const since = performance.now();
    let askedAt = -1;
    const ready = () => {
      askedAt = performance.now() - since;
      // The work's promise: resolves once the work is done, at once if it already is.
      const left = since + workMs - performance.now();
      return left <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, left));
    };
    let took = -1;
    const p = w.until('k', since, ready).then(() => {
      took = performance.now() - since;
    });
    await vi.advanceTimersByTimeAsync(10 * workMs + 1000);
    await p;
    return { askedAt, took };
  }
  /** Within the fake clock's millisecond steps. */
  const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1);

  it('asks at once for the first two waits, then sleeps through 85% of the work', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    const w = new PatientWait();
    expect((await wait(w, 100)).askedAt).toBe(0);
    expect((await wait(w, 100)).askedAt).toBe(0);
    const third = await wait(w, 100);
    near(third.askedAt, 85);
    near(third.took, 100);
  });

  it('after a sleep that found the work done, halves what it expects and then takes the next measurement as it is', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    const w = new PatientWait();
    for (let i = 0; i < 3; i++) await wait(w, 100);
    // The work gets 5x faster: the sleep of 85 ms finds it done.
    const over = await wait(w, 20);
    near(over.askedAt, 85);
    near(over.took, 85);
    // Expected 42.5 ms: sleeps 36.1 and again finds it done; expects half of that.
    const again = await wait(w, 20);
    near(again.askedAt, 0.85 * 42.5);
    // Expected 18.06 ms: sleeps 15.35, asks before the work is done, measures 20 ms.
    const measured = await wait(w, 20);
    near(measured.askedAt, 0.85 * 0.5 * 0.85 * 42.5);
    near(measured.took, 20);
    // That measurement taken as it is, though it is above the expectation.
    near((await wait(w, 20)).askedAt, 17);
  });

  it('follows a slowdown by a tenth and a speed-up at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    const w = new PatientWait();
    for (let i = 0; i < 3; i++) await wait(w, 100);
    await wait(w, 200); // one slow run: expects 110
    near((await wait(w, 100)).askedAt, 0.85 * 110);
    await wait(w, 95); // asked at 85, done at 95 (not overslept): expects 95
    near((await wait(w, 95)).askedAt, 0.85 * 95);
  });
});

describe('waits in slices on a CPU adapter (dawn-wait.ts)', () => {
  let gpu: Gpu;
  let engine: MobileNetEngine;
  let pixels: Uint8Array;
  const batch = 8;

  beforeAll(async () => {
    gpu = await createNodeGpu({ adapter: 'lavapipe' });
    engine = new MobileNetEngine(gpu, await loadBackbone(resolveBackboneDir('face')), loadShaders());
    pixels = new Uint8Array(batch * engine.inputSize ** 2 * 3).map((_, i) => (i * 2654435761) >>> 24);
    await engine.embed(pixels, batch); // pipelines compiled
  });
  afterAll(() => {
    engine?.destroy();
    gpu?.destroy();
  });

  /** Turns of the event loop while `wait()` (for a forward pass just submitted) is pending, and the ms it took. */
  async function turnsDuring(wait: () => Promise<unknown>): Promise<{ turns: number; ms: number }> {
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    engine.forward(pixels, batch);
    const t0 = performance.now();
    setImmediate(count);
    await wait();
    const ms = performance.now() - t0;
    counting = false;
    return { turns, ms };
  }

  it('createNodeGpu\'s device: the event loop turns about once a slice while a forward pass runs', async () => {
    const { turns, ms } = await turnsDuring(() => gpu.device.queue.onSubmittedWorkDone());
    expect(ms).toBeGreaterThan(20 * SLICE_MS); // a real wait, not already done
    // Every turn sleeps SLICE_MS (one ticker, however many waits), so this is a bound by construction.
    expect(turns).toBeLessThanOrEqual(ms / SLICE_MS + 2);
    expect(turns).toBeGreaterThan(0);
    expect(pendingSlicedWaits()).toBe(0);
  });

  it('the mapAsync of a buffer the device makes, as the engine\'s read-back and tfjs use it', async () => {
    const staging = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const source = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_SRC });
    try {
      // A copy into the buffer queued behind the pass: the map waits for both.
      const copyAfterPass = () => {
        const enc = gpu.device.createCommandEncoder();
        enc.copyBufferToBuffer(source, 0, staging, 0, 16);
        gpu.device.queue.submit([enc.finish()]);
        return staging.mapAsync(GPUMapMode.READ);
      };
      const { turns, ms } = await turnsDuring(copyAfterPass);
      expect(ms).toBeGreaterThan(20 * SLICE_MS);
      expect(turns).toBeLessThanOrEqual(ms / SLICE_MS + 2);
      staging.unmap();
    } finally {
      staging.destroy();
      source.destroy();
    }
  });

  it('Dawn\'s own method turns the loop without pause (why this exists)', async () => {
    const queue = gpu.device.queue;
    const { turns, ms } = await turnsDuring(() => GPUQueue.prototype.onSubmittedWorkDone.call(queue));
    expect(turns).toBeGreaterThan((4 * ms) / SLICE_MS);
  });

  it('passes a rejection through and leaves nothing pending', async () => {
    const buf = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    buf.destroy();
    await expect(buf.mapAsync(GPUMapMode.READ)).rejects.toThrow();
    expect(pendingSlicedWaits()).toBe(0);
  });

  it('leaves a GPU\'s device as it is, and Dawn\'s classes too', () => {
    const queue = { onSubmittedWorkDone: () => Promise.resolve() };
    const createBuffer = () => ({});
    const device = { adapterInfo: { architecture: 'ampere', description: 'NVIDIA H100', device: '', vendor: 'nvidia' }, queue, createBuffer } as unknown as GPUDevice;
    throttleWaits(device);
    expect(device.queue.onSubmittedWorkDone).toBe(queue.onSubmittedWorkDone);
    expect(device.createBuffer).toBe(createBuffer);
    expect(Object.hasOwn(gpu.device.queue, 'onSubmittedWorkDone')).toBe(true);
    expect(GPUQueue.prototype.onSubmittedWorkDone).not.toBe(gpu.device.queue.onSubmittedWorkDone);
  });
});
