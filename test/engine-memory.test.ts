// 1,000 forward passes of the default backbone leave the engine's GPU buffers (count and
// bytes) and compiled pipelines exactly where the first pass left them: everything a pass
// needs is allocated once per batch size and reused, and nothing is created per call.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveBackboneDir } from '../src/backbones.ts';
import type { Gpu } from '../src/gpu/device.ts';
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { loadBackbone } from '../src/weights/store.ts';

let gpu: Gpu;
let engine: MobileNetEngine;

beforeAll(async () => {
  gpu = await createNodeGpu();
  engine = new MobileNetEngine(gpu, await loadBackbone(resolveBackboneDir('face')), loadShaders());
});
afterAll(() => {
  engine?.destroy();
  gpu?.destroy();
});

function noise(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let s = seed;
  for (let i = 0; i < bytes; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

const footprint = () => ({ buffers: engine.buffers.count, bytes: engine.buffers.bytes, pipelines: engine.runner.pipelineCount });

it('1,000 forward passes keep GPU buffer count, bytes and pipeline count flat', async () => {
  const per = engine.inputSize ** 2 * 3;
  const one = noise(per, 1);
  const two = noise(2 * per, 2);

  // First use of batch sizes 1 and 2 builds their plans; after that nothing may grow.
  const first = await engine.embed(one, 1);
  await engine.embed(two, 2);
  const start = footprint();
  expect(start.buffers).toBeGreaterThan(0);

  gpu.device.pushErrorScope('out-of-memory');
  gpu.device.pushErrorScope('validation');
  for (let i = 1; i <= 1000; i++) {
    engine.forward(one, 1);
    if (i % 10 === 0) await engine.onDone();
    if (i % 100 === 0) {
      // The read-back path and the other plan, too.
      await engine.embed(two, 2);
      expect(footprint()).toEqual(start);
    }
  }
  await engine.onDone();
  expect(await gpu.device.popErrorScope()).toBeNull();
  expect(await gpu.device.popErrorScope()).toBeNull();

  expect(footprint()).toEqual(start);
  // And the results have not drifted: the same image gives the same descriptor as at first.
  expect(await engine.embed(one, 1)).toEqual(first);
});
