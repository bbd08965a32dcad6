// What a tuning depends on, and so what a cached one is filed under: the adapter (vendor,
// architecture, device, description: on Mesa and most drivers the description carries the
// driver's version; on a CPU adapter the CPU under it, AdapterSummary.host), the limits and features that decide which kernels exist and how big a
// grid may be, the subgroup sizes, the backbone's layer shapes, the shaders' text and the
// runner's way of assembling them (a changed shader, or a change to what the runner does to
// it, invalidates every tuning) and the batch sizes tuned. Any change: another key, a
// fresh tuning.
import type { AdapterSummary } from '../gpu/device.ts';
import { SOURCE_ASSEMBLY_VERSION, type ShaderSources } from '../gpu/runner.ts';

/** Bump when the candidates or the way they are timed change (old tunings are then ignored). */
export const TUNER_VERSION = 4;

export interface TuningKey {
  tuner: number;
  /** `host`: the CPU under a CPU adapter (AdapterSummary.host), '' on a GPU. */
  adapter: { vendor: string; architecture: string; device: string; description: string; host: string };
  subgroupSizes: [number, number];
  features: string[];
  limits: Record<string, number>;
  /** The backbone's distinct layer shapes (layerShapeKey), in network order. */
  shapes: string[];
  /** Hash of every shader's source. */
  shaders: string;
  batches: number[];
}

/** 64-bit FNV-1a of a string as 16 hex digits: a stable file name, not a security measure. */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = (1n << 64n) - 1n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * prime) & mask;
  }
  return h.toString(16).padStart(16, '0');
}

/** Hash of every shader's text and of the way the runner assembles a kernel from them. */
export function shadersHash(shaders: ShaderSources, assembly = SOURCE_ASSEMBLY_VERSION): string {
  return fnv1a64(`assembly ${assembly}\n\0` + Object.keys(shaders).sort().map((k) => `${k}\n${shaders[k]}`).join('\n\0'));
}

export function tuningKey(adapter: AdapterSummary, device: GPUDevice, shapes: string[], shaders: ShaderSources, batches: number[]): TuningKey {
  const info = device.adapterInfo as (GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number }) | undefined;
  return {
    tuner: TUNER_VERSION,
    adapter: { vendor: adapter.vendor, architecture: adapter.architecture, device: adapter.device, description: adapter.description, host: adapter.host ?? '' },
    subgroupSizes: [info?.subgroupMinSize ?? 0, info?.subgroupMaxSize ?? 0],
    features: [...adapter.features].sort(),
    limits: { ...adapter.limits, minUniformBufferOffsetAlignment: device.limits.minUniformBufferOffsetAlignment },
    shapes,
    shaders: shadersHash(shaders),
    batches: [...batches].sort((a, b) => a - b),
  };
}

/**
 * The record's id (file name): adapter id + hash of the key without its batch sizes, so that
 * one tuning per adapter, driver, backbone and shaders is kept (a tuning for other batch
 * sizes replaces it) and an engine can find it without knowing which sizes were tuned.
 */
export function keyId(adapterId: string, key: TuningKey): string {
  return `${adapterId}-${fnv1a64(JSON.stringify({ ...key, batches: null }))}`;
}
