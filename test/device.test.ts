// Device creation and loss: clear errors instead of crashes or hangs.
import { describe, expect, it } from 'vitest';
import { createGpuFrom, GpuLostError, GpuUnavailableError } from '../src/gpu/device.ts';
import { existsSync } from 'node:fs';
import { createNodeGpu, SWIFTSHADER_ICD } from '../src/gpu/node-gpu.ts';
import { openEngine } from '../src/node.ts';

describe('device', () => {
  it('no WebGPU at all: says so, with the hint', async () => {
    await expect(createGpuFrom(undefined, {}, 'install X')).rejects.toThrow(GpuUnavailableError);
    await expect(createGpuFrom(undefined, {}, 'install X')).rejects.toThrow(/WebGPU is not available: install X/);
  });

  it('no adapter: says so, with what to install', async () => {
    const fake = { requestAdapter: async () => null } as unknown as GPU;
    await expect(createGpuFrom(fake, {}, 'run scripts/install-system.sh')).rejects.toThrow(/no WebGPU adapter was found: run scripts\/install-system\.sh/);
  });

  it('an adapter name that matches nothing says so and lists the adapters, not "install a driver"', async () => {
    const err = await createNodeGpu({ adapter: 'nosuchgpu' }).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect(err!.message).toMatch(/^adapter "nosuchgpu" matched no WebGPU adapter; this machine has "[^"]+"/);
    expect(err!.message).not.toMatch(/Vulkan driver|\n/);
    // The other CPU driver, listed by Dawn only when asked for, is named when installed.
    expect(err!.message.includes(', SwiftShader; use auto, lavapipe, swiftshader')).toBe(existsSync(SWIFTSHADER_ICD));
  });

  it('reports the adapter and raises limits to what it offers', async () => {
    const gpu = await createNodeGpu();
    try {
      expect(gpu.adapter.description.length + gpu.adapter.device.length + gpu.adapter.vendor.length).toBeGreaterThan(0);
      expect(gpu.adapter.id).toMatch(/^[a-z0-9-]+$/);
      expect(gpu.device.limits.maxStorageBufferBindingSize).toBe(gpu.adapter.limits.maxStorageBufferBindingSize);
      expect(gpu.device.limits.maxComputeWorkgroupStorageSize).toBe(gpu.adapter.limits.maxComputeWorkgroupStorageSize);
    } finally {
      gpu.destroy();
    }
  });

  it('a lost device gives a clear error, not a hang', async () => {
    const { gpu, engine } = await openEngine();
    const pixels = new Uint8Array(224 * 224 * 3);
    expect((await engine.embed(pixels, 1)).length).toBe(engine.outputDim);
    const pending = engine.embed(pixels, 1);
    gpu.device.destroy();
    const outcome = await pending.then(
      (r) => r,
      (e) => e,
    );
    // The pass may finish before the loss; if it did not, the error must say what happened.
    if (outcome instanceof Error) expect(outcome).toBeInstanceOf(GpuLostError);
    await expect(engine.embed(pixels, 1)).rejects.toThrow(/the WebGPU device was lost \(destroyed\)/);
    engine.destroy();
  });
});
