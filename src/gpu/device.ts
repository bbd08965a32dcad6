// One place that turns a WebGPU entry point (navigator.gpu in a page, Dawn's GPU object in
// Node) into a device that facegpu can use: adapter chosen, limits raised to what the
// adapter offers (the defaults would cap us at 128 MiB per storage binding and 16 KiB of
// workgroup memory), device loss turned into an error instead of a hang.

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Short, file-name-safe name of the adapter, e.g. "llvmpipe" or "swiftshader". */
  id: string;
  features: string[];
  limits: Record<string, number>;
  /**
   * On a CPU adapter (lavapipe, SwiftShader), the CPU under it: its speed, and which kernels
   * win, depend on that as much as on the driver. Node: model, cores and SIMD extensions
   * (host-cpu-node.ts); a page: the core count. Absent on a GPU.
   */
  host?: string;
}

export interface Gpu {
  device: GPUDevice;
  adapter: AdapterSummary;
  /** Set once the device is lost; every engine call checks it. */
  lost: GPUDeviceLostInfo | null;
  /**
   * The first WebGPU error on the device that nothing caught (a bug, or a limit no check
   * foresaw): results since are unknown, so what would keep them (a model, a gallery) is
   * not saved (assertNoUncaughtError).
   */
  uncaught: string | null;
  /** Release the device. Safe to call twice. */
  destroy(): void;
}

export class GpuUnavailableError extends Error {}
export class GpuLostError extends Error {}

/** Limits worth raising above the WebGPU defaults when the adapter allows it. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Features we turn on where present; none is required. */
const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'shader-f16', 'subgroups' as GPUFeatureName];

export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const limits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) limits[key] = Number((adapter.limits as unknown as Record<string, number>)[key]);
  const raw = `${description || device || architecture || vendor || 'gpu'}`.toLowerCase();
  const id = /llvmpipe|lavapipe/.test(raw)
    ? 'llvmpipe'
    : /swiftshader/.test(raw)
      ? 'swiftshader'
      : raw.replace(/\(.*?\)/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || 'gpu';
  return { vendor, architecture, device, description, id, features: [...adapter.features].sort(), limits };
}

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Called once if the device is lost after creation (besides the error every call raises). */
  onLost?: (info: GPUDeviceLostInfo) => void;
}

/** Get an adapter and a device from a WebGPU entry point (navigator.gpu or Dawn's GPU). */
export async function createGpuFrom(gpu: GPU | undefined, opts: DeviceOptions = {}, hint = ''): Promise<Gpu> {
  if (!gpu) throw new GpuUnavailableError(`WebGPU is not available${hint ? `: ${hint}` : ''}`);
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new GpuUnavailableError(`no WebGPU adapter was found${hint ? `: ${hint}` : ''}`);
  const summary = summarizeAdapter(adapter);
  const requiredLimits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[key];
    if (typeof v === 'number' && Number.isFinite(v)) requiredLimits[key] = v;
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const handle: Gpu = {
    device,
    adapter: summary,
    lost: null,
    uncaught: null,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      device.destroy();
    },
  };
  let destroyed = false;
  device.lost.then((info) => {
    handle.lost = info;
    if (!destroyed) opts.onLost?.(info);
  });
  device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
    // Validation errors we did not scope are bugs; surface them loudly instead of letting
    // the device continue with undefined results. Handled here, on stderr: preventDefault
    // keeps Dawn from printing it a second time on stdout, which is the user's.
    ev.preventDefault();
    handle.uncaught ??= ev.error.message;
    console.error(`facegpu: uncaptured WebGPU error: ${ev.error.message}`);
  };
  return handle;
}

/**
 * Throw where a WebGPU error nothing caught happened on the device (Gpu.uncaught): `what`
 * (a model folder, a gallery) is then not saved, as its GPU results may be wrong (a large
 * augmentation had trained on blank views and saved the model).
 */
export function assertNoUncaughtError(gpu: Gpu, what: string): void {
  if (gpu.uncaught) throw new Error(`${what}: not saved: a WebGPU error that nothing caught happened on the device (${gpu.uncaught.split('\n')[0]}), and its results since are unknown`);
}

/** Throws a clear error if the device has been lost. */
export function assertAlive(gpu: Gpu): void {
  if (gpu.lost) {
    throw new GpuLostError(`the WebGPU device was lost (${gpu.lost.reason}): ${gpu.lost.message || 'no message'}`);
  }
}

/**
 * A CPU adapter (lavapipe, SwiftShader): there a workgroup runs as SIMD batches of lanes on
 * a core, and kernels are tiled for that rather than for a GPU's registers.
 */
export function isCpuAdapter(device: GPUDevice): boolean {
  const info = device.adapterInfo as GPUAdapterInfo | undefined;
  return info?.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info?.description} ${info?.device}`);
}
