// openEngine releases the GPU device it opened itself when no engine comes back (choosing
// the kernels or building the engine throws), and leaves a device the caller passed alone.
// The device, the weights and the kernel choice are stand-ins (no GPU, no files).
import { beforeEach, describe, expect, it, vi } from 'vitest';

const h = vi.hoisted(() => ({ destroyed: [] as string[] }));

vi.mock('../src/gpu/node-gpu.ts', () => ({ createNodeGpu: async () => ({ name: 'opened', destroy: () => h.destroyed.push('opened') }) }));
vi.mock('../src/default-backbone.ts', () => ({ ensureDefaultBackbone: async () => {} }));
vi.mock('../src/weights/store.ts', () => ({ loadBackbone: async () => ({}) }));
vi.mock('../src/gpu/shaders-node.ts', () => ({ loadShaders: () => ({}) }));
vi.mock('../src/tune/engine-kernels.ts', () => ({
  kernelsFor: async () => {
    throw new Error('tuned kernel (batch 1): does not build');
  },
}));

const { openEngine } = await import('../src/node.ts');

beforeEach(() => {
  h.destroyed.length = 0;
});

describe('openEngine', () => {
  it('destroys the device it opened when choosing the kernels fails', async () => {
    await expect(openEngine({ home: '/nonexistent-facegpu-home' })).rejects.toThrow('tuned kernel (batch 1): does not build');
    expect(h.destroyed).toEqual(['opened']);
  });

  it("leaves the caller's device alone", async () => {
    const gpu = { name: 'callers', destroy: () => h.destroyed.push('callers') };
    await expect(openEngine({ home: '/nonexistent-facegpu-home', gpu: gpu as never })).rejects.toThrow('does not build');
    expect(h.destroyed).toEqual([]);
  });
});
