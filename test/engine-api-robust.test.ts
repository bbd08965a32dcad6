// The engine's public calls under misuse: pixels reused by the caller right after a call, an
// engine destroyed under queued calls, a bad target for embedInto, the wrong pixel array type,
// bad options. Each gives the right descriptors or a one-line error naming the problem, never
// zeros, a misleading message, or a line printed by the driver. One engine for the file.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readBuffer } from '../src/gpu/buffers.ts';
import type { Gpu } from '../src/gpu/device.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { openEngine } from '../src/node.ts';
import { randomArray } from './helpers/layout.ts';

let gpu: Gpu;
let engine: MobileNetEngine;
let per: number;
let imgA: Uint8Array;
let imgB: Uint8Array;
/** The descriptors of imgA and imgB, each embedded alone. */
let wantA: Float32Array;
let wantB: Float32Array;
/** Everything the library printed with console.error during a test. */
let printed: string[] = [];

const image = (seed: number) => Uint8Array.from(randomArray(per, seed, 0, 256), Math.floor);
const bytesOf = (f: Float32Array) => Buffer.from(f.buffer, f.byteOffset, f.byteLength);
/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${v instanceof Float32Array ? `descriptors (${v.length})` : String(v)}`);
    },
    (e: Error) => e,
  );
}
function expectOneLine(err: Error, pattern: RegExp): void {
  expect(err.message).toMatch(pattern);
  expect(err.message).not.toContain('\n');
}
function target(bytes: number, usage: number, label: string): GPUBuffer {
  return gpu.device.createBuffer({ size: bytes, usage, label });
}

beforeAll(async () => {
  ({ gpu, engine } = await openEngine({ onNotice: () => undefined }));
  per = engine.inputSize ** 2 * 3;
  imgA = image(11);
  imgB = image(12);
  wantA = await engine.embed(imgA, 1);
  wantB = await engine.embed(imgB, 1);
  // Different images, different descriptors: the checks below can tell them apart.
  expect(bytesOf(wantA).equals(bytesOf(wantB))).toBe(false);
});
afterAll(() => {
  engine?.destroy();
  gpu?.destroy();
});
const realError = console.error;
afterEach(() => {
  vi.restoreAllMocks();
  printed = [];
});
/** Collect console.error lines (facegpu's uncaptured WebGPU errors) from here to the test's end. */
function capturePrints(): void {
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    printed.push(args.map(String).join(' '));
    if (!String(args[0]).startsWith('facegpu: uncaptured')) realError(...args);
  });
}

describe('pixels are taken when the call is made', () => {
  it('embed: overwriting the array right after the call does not change its descriptors', async () => {
    const buf = new Uint8Array(per);
    buf.set(imgA);
    const pA = engine.embed(buf, 1);
    buf.set(imgB);
    const pB = engine.embed(buf, 1);
    buf.fill(0);
    const [gotA, gotB] = await Promise.all([pA, pB]);
    expect(bytesOf(gotA).equals(bytesOf(wantA))).toBe(true);
    expect(bytesOf(gotB).equals(bytesOf(wantB))).toBe(true);
  });

  it('embedInto: the same, with the descriptors left on the GPU', async () => {
    const d = engine.outputDim * 4;
    const out = target(2 * d, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, 'reuse target');
    try {
      const buf = new Uint8Array(per);
      buf.set(imgA);
      const pA = engine.embedInto(buf, 1, out, 0);
      buf.set(imgB);
      const pB = engine.embedInto(buf, 1, out, d);
      buf.fill(0);
      await Promise.all([pA, pB]);
      const got = new Float32Array(await readBuffer(gpu.device, out, 2 * d));
      expect(bytesOf(got.subarray(0, engine.outputDim)).equals(bytesOf(wantA))).toBe(true);
      expect(bytesOf(got.subarray(engine.outputDim)).equals(bytesOf(wantB))).toBe(true);
    } finally {
      out.destroy();
    }
  });
});

describe('destroy() under queued calls', () => {
  // Destroyed at once, while the first call is on the GPU, and while its wait sleeps (a
  // PatientWait sleeps from a key's third wait: two batches of 4 run first).
  it.each([0, 5, 40])('calls in flight and queued reject with "the engine has been destroyed", never zeros, nothing printed (destroyed after %i ms)', async (delay) => {
    capturePrints();
    const { engine: doomed } = await openEngine({ gpu, warmUp: false });
    const four = new Uint8Array(4 * per);
    for (let i = 0; i < 4; i++) four.set(i % 2 ? imgB : imgA, i * per);
    const once = await doomed.embed(four, 4);
    expect(bytesOf(once.subarray(0, doomed.outputDim)).equals(bytesOf(wantA))).toBe(true);
    await doomed.embed(four, 4);
    const inFlight = doomed.embed(four, 4);
    const out = target(engine.outputDim * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'queued target');
    const queued = [doomed.embed(imgA, 1), doomed.embed(imgB, 1), doomed.embedInto(imgA, 1, out)];
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    doomed.destroy();
    // Destroyed in the same turn as the calls: none has started, all reject. Later, a call
    // that finished first (a fast device) has its right descriptors; no other outcome.
    const want = [once, wantA, wantB, undefined];
    const outcomes = await Promise.all([inFlight, ...queued].map((p) => p.then((v) => ({ v }), (e: Error) => ({ e }))));
    outcomes.forEach((o, i) => {
      if ('e' in o || delay === 0) expectOneLine((o as { e: Error }).e ?? new Error('resolved'), /^the engine has been destroyed$/);
      else if (o.v instanceof Float32Array) expect(bytesOf(o.v).equals(bytesOf(want[i]!))).toBe(true);
    });
    // And afterwards, at once.
    expectOneLine(await rejection(doomed.embed(imgA, 1)), /^the engine has been destroyed$/);
    await gpu.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    expect(printed).toEqual([]);
    out.destroy();
    // The file's engine, on the same device and runner, is unharmed.
    expect(bytesOf(await engine.embed(imgB, 1)).equals(bytesOf(wantB))).toBe(true);
  });
});

describe('uncaptured WebGPU errors', () => {
  it("are said once on stderr by facegpu, and Dawn's own copy is not printed on stdout", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facegpu-uncaptured-'));
    try {
      const script = join(dir, 'uncaptured.mts');
      const nodeGpu = join(import.meta.dirname, '..', 'src', 'gpu', 'node-gpu.ts');
      writeFileSync(
        script,
        `import { createNodeGpu } from ${JSON.stringify(nodeGpu)};
const gpu = await createNodeGpu();
// MAP_READ with STORAGE is invalid: an error no scope catches.
gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE, label: 'probe-bad-usage' });
await gpu.device.queue.onSubmittedWorkDone();
await new Promise((r) => setTimeout(r, 200));
gpu.destroy();
`,
      );
      const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { cwd: join(import.meta.dirname, '..') });
      expect(stderr).toMatch(/facegpu: uncaptured WebGPU error: .*probe-bad-usage/s);
      expect(stderr.match(/probe-bad-usage/g)?.length).toBe(1);
      expect(stdout).not.toContain('probe-bad-usage');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("embedInto's target is checked", () => {
  const d = () => engine.outputDim * 4;

  it('a target with room, at an offset, gets the descriptors', async () => {
    const out = target(3 * d(), GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, 'good target');
    try {
      await engine.embedInto(imgB, 1, out, d());
      const got = new Float32Array(await readBuffer(gpu.device, out, d(), d()));
      expect(bytesOf(got).equals(bytesOf(wantB))).toBe(true);
    } finally {
      out.destroy();
    }
  });

  it('too small, or too small from the offset: one line with the sizes', async () => {
    capturePrints();
    const out = target(2 * d(), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'small target');
    try {
      const two = new Uint8Array(2 * per);
      expectOneLine(await rejection(engine.embedInto(two, 2, out, 4)), new RegExp(`^the target buffer "small target" holds ${2 * d()} bytes: 2 descriptors \\(${2 * d()} bytes\\) from byte 4 need ${2 * d() + 4}$`));
      expectOneLine(await rejection(engine.embedInto(new Uint8Array(3 * per), 3, out)), /holds .* bytes: 3 descriptors/);
      expectOneLine(await rejection(engine.embedInto(imgA, 1, out, 2)), /^the target offset must be a non-negative multiple of 4, got 2$/);
    } finally {
      out.destroy();
    }
    expect(printed).toEqual([]);
  });

  it('without COPY_DST: one line saying so', async () => {
    capturePrints();
    const out = target(d(), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, 'read-only target');
    try {
      expectOneLine(await rejection(engine.embedInto(imgA, 1, out)), /^the target buffer "read-only target" needs COPY_DST usage/);
    } finally {
      out.destroy();
    }
    expect(printed).toEqual([]);
  });

  it('destroyed: the call rejects, one line saying so', async () => {
    capturePrints();
    const out = target(d(), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'gone target');
    out.destroy();
    expectOneLine(await rejection(engine.embedInto(imgA, 1, out)), /^the forward pass into the target buffer failed: .*"gone target".*destroyed/);
    expect(printed).toEqual([]);
    // The engine goes on.
    expect(bytesOf(await engine.embed(imgA, 1)).equals(bytesOf(wantA))).toBe(true);
  });

  it('embedGpuInto checks its target too, and embedGpu its input', async () => {
    const input = gpu.device.createBuffer({ size: per, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, label: 'gpu pixels' });
    const noCopySrc = gpu.device.createBuffer({ size: per, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label: 'sealed pixels' });
    const small = target(d() - 4, GPUBufferUsage.COPY_DST, 'short target');
    try {
      gpu.device.queue.writeBuffer(input, 0, imgA);
      expect(bytesOf(await engine.embedGpu(input, 1)).equals(bytesOf(wantA))).toBe(true);
      expectOneLine(await rejection(engine.embedGpuInto(input, 1, small)), /^the target buffer "short target" holds/);
      expectOneLine(await rejection(engine.embedGpu(noCopySrc, 1)), /^the input buffer "sealed pixels" needs COPY_SRC/);
    } finally {
      [input, noCopySrc, small].forEach((b) => b.destroy());
    }
  });
});

describe('pixel array types', () => {
  it('a Uint8ClampedArray (canvas bytes) is read as the same bytes', async () => {
    const clamped = new Uint8ClampedArray(imgB);
    expect(bytesOf(await engine.embed(clamped, 1)).equals(bytesOf(wantB))).toBe(true);
  });

  it('anything else is a one-line TypeError naming what was given', async () => {
    const cases: [unknown, string][] = [
      [new Float32Array(per), `got a Float32Array of ${per} elements`],
      [new Uint16Array(per), `got a Uint16Array of ${per} elements`],
      [null, 'got null'],
      [undefined, 'got undefined'],
      [Array.from(imgA), `got an Array of ${per} elements`],
      ['pixels', 'got string pixels'],
    ];
    for (const [given, said] of cases) {
      for (const call of [() => engine.embed(given as Uint8Array, 1), () => engine.embedInto(given as Uint8Array, 1, null as never)]) {
        const err = await rejection(call());
        expect(err).toBeInstanceOf(TypeError);
        expectOneLine(err, /^pixels must be a Uint8Array \(or Uint8ClampedArray\) of packed RGB bytes, got /);
        expect(err.message.endsWith(said)).toBe(true);
      }
    }
    expect(() => engine.forward(new Float32Array(per) as never, 1)).toThrow(TypeError);
  });

  it('a GPU buffer given to embed, or bytes to embedGpu, name the other call', async () => {
    const buf = gpu.device.createBuffer({ size: per, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, label: 'pixels on gpu' });
    try {
      const err = await rejection(engine.embed(buf as never, 1));
      expect(err).toBeInstanceOf(TypeError);
      expectOneLine(err, /got a GPUBuffer \(images in a GPU buffer: embedGpu \/ embedGpuInto\)$/);
    } finally {
      buf.destroy();
    }
    const err = await rejection(engine.embedGpu(imgA as never, 1));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe(`input must be a GPUBuffer of packed RGB bytes, got a Uint8Array of ${per} elements (images in memory: embed / embedInto)`);
  });
});

describe('options', () => {
  it('maxBatch and maxPlans must be positive integers: one line naming the option, before any GPU work', async () => {
    capturePrints();
    const cases: [Record<string, unknown>, string][] = [
      [{ maxBatch: 0 }, 'maxBatch must be a positive integer, got 0'],
      [{ maxBatch: -3 }, 'maxBatch must be a positive integer, got -3'],
      [{ maxBatch: NaN }, 'maxBatch must be a positive integer, got NaN'],
      [{ maxBatch: 2.5 }, 'maxBatch must be a positive integer, got 2.5'],
      [{ maxBatch: '4' }, 'maxBatch must be a positive integer, got "4"'],
      [{ maxPlans: 0 }, 'maxPlans must be a positive integer, got 0'],
      [{ maxPlans: Infinity }, 'maxPlans must be a positive integer, got Infinity'],
    ];
    for (const [opts, said] of cases) {
      const err = await rejection(openEngine({ gpu, warmUp: false, ...opts }));
      expect(err.message).toBe(said);
    }
    // Checked before anything else openEngine does: a missing backbone is not what it says.
    const first = await rejection(openEngine({ maxBatch: 0, backbone: '/nonexistent/facegpu-backbone' }));
    expect(first.message).toBe('maxBatch must be a positive integer, got 0');
    expect(printed).toEqual([]);
    // Good values still open an engine, capped as asked, with the same descriptors.
    const { engine: small } = await openEngine({ gpu, warmUp: false, maxBatch: 1, maxPlans: 1 });
    try {
      expect(small.maxBatch).toBe(1);
      const two = new Uint8Array(2 * per);
      two.set(imgA);
      two.set(imgB, per);
      const got = await small.embed(two, 2);
      expect(bytesOf(got.subarray(0, small.outputDim)).equals(bytesOf(wantA))).toBe(true);
      expect(bytesOf(got.subarray(small.outputDim)).equals(bytesOf(wantB))).toBe(true);
    } finally {
      small.destroy();
    }
  });
});
