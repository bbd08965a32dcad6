// WebGPU in Node through Dawn (the `webgpu` npm package). Kept apart from device.ts so that
// the browser build never sees a Node import.
import { existsSync } from 'node:fs';
import { throttleWaits } from './dawn-wait.ts';
import { createGpuFrom, GpuUnavailableError, isCpuAdapter, type DeviceOptions, type Gpu } from './device.ts';
import { hostCpu } from './host-cpu-node.ts';

export interface NodeGpuOptions extends DeviceOptions {
  /**
   * Which adapter: 'auto' (Dawn's first choice), 'lavapipe', 'swiftshader', or any
   * substring of an adapter name Dawn lists. SwiftShader needs Chromium's
   * vk_swiftshader_icd.json, found on the usual Debian path.
   */
  adapter?: string;
}

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const INSTALL_HINT =
  'no Vulkan driver that Dawn can use was found. On Debian 12 without a GPU run ' +
  '`bash scripts/install-system.sh` (installs Mesa >= 24 lavapipe from bookworm-backports); ' +
  'Mesa 22 fails with "shaderUniform*ArrayDynamicIndexing required"';

let dawn: typeof import('webgpu') | null = null;
// Dawn's GPU objects, one per flag set, kept for the life of the process: if one were garbage
// collected, its native instance would be torn down under the devices created from it
// (seen as futex/mutex aborts inside the Vulkan driver).
const instances = new Map<string, GPU>();

export async function createNodeGpu(opts: NodeGpuOptions = {}): Promise<Gpu> {
  const which = (opts.adapter ?? process.env.FACEGPU_ADAPTER ?? 'auto').toLowerCase();
  const gpu = await nodeGpu(opts);
  try {
    const handle = await createGpuFrom(gpu, opts, INSTALL_HINT);
    // On a CPU adapter, the binding's polling would take a core from the driver (dawn-wait.ts).
    throttleWaits(handle.device);
    if (isCpuAdapter(handle.device)) handle.adapter.host = hostCpu();
    return handle;
  } catch (err) {
    if (which !== 'auto') throwIfNoMatch(err, opts.adapter ?? which);
    if (err instanceof GpuUnavailableError) throw err;
    throw new GpuUnavailableError(`${INSTALL_HINT} (${(err as Error).message})`);
  }
}

/**
 * Dawn's `GPU` object (what `navigator.gpu` is in a page) for the adapter `createNodeGpu`
 * picks with the same options, kept for the life of the process: for libraries that make
 * their own device on the same adapter (the benchmark's ONNX Runtime side).
 */
export async function nodeGpu(opts: Pick<NodeGpuOptions, 'adapter'> = {}): Promise<GPU> {
  const which = (opts.adapter ?? process.env.FACEGPU_ADAPTER ?? 'auto').toLowerCase();
  if (which === 'swiftshader') {
    // The Vulkan loader reads this once, when Dawn first enumerates drivers.
    process.env.VK_ICD_FILENAMES = process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD;
  }
  dawn ??= await import('webgpu');
  const flags: string[] = ['backend=vulkan'];
  if (which === 'lavapipe') flags.push('adapter=llvmpipe');
  else if (which !== 'auto' && which !== 'swiftshader') flags.push(`adapter=${opts.adapter}`);
  const key = flags.join(' ');
  let gpu = instances.get(key);
  if (!gpu) {
    try {
      gpu = dawn.create(flags) as unknown as GPU;
    } catch (err) {
      if (which !== 'auto') throwIfNoMatch(err, opts.adapter ?? which);
      throw new GpuUnavailableError(`${INSTALL_HINT} (Dawn said: ${(err as Error).message.replace(/\s+/g, ' ')})`);
    }
    instances.set(key, gpu);
  }
  // tfjs-backend-webgpu checks these globals (GPUBufferUsage etc.) at import time.
  Object.assign(globalThis, dawn.globals);
  return gpu;
}

/**
 * Dawn lists the adapters it has when an asked-for name matches none: then the driver is
 * there and the name is the problem, so say that, in one line.
 */
function throwIfNoMatch(err: unknown, asked: string): void {
  const names = [...String((err as Error)?.message ?? '').matchAll(/name: '([^']+)'/g)].map((m) => `"${m[1]}"`);
  // SwiftShader is a driver of its own that Dawn lists only when asked for it (its ICD file
  // is given to the Vulkan loader then), so it is told of here when it is installed.
  if (names.length && !names.some((n) => /swiftshader/i.test(n)) && existsSync(SWIFTSHADER_ICD)) names.push('SwiftShader');
  if (names.length) throw new GpuUnavailableError(`adapter "${asked}" matched no WebGPU adapter; this machine has ${names.join(', ')}; use auto, lavapipe, swiftshader or part of an adapter's name`);
}
