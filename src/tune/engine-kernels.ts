// Which kernels an engine opened for a caller runs (openEngine in Node and in the page):
// 'saved' (default) the tuning `facegpu tune` (or a page) saved for this adapter, driver,
// backbone and shaders if there is one, else the hand-picked kernels; 'tune' the same, but
// measured and saved first when there is none (tens of seconds on a CPU adapter, once);
// 'hand-picked' never a tuning.
import type { Gpu } from '../gpu/device.ts';
import type { ShaderSources } from '../gpu/runner.ts';
import type { TunedKernels } from '../mobilenet/tuned.ts';
import type { Backbone } from '../weights/format.ts';
import { savedTuning, tuneBackbone, type TuningStore } from './tuner.ts';

export type KernelSource = 'saved' | 'tune' | 'hand-picked';

/** Batch sizes tuned when an engine is opened with kernels: 'tune' (others use the nearest). */
export const DEFAULT_TUNED_BATCHES = [1, 8];

export async function kernelsFor(gpu: Gpu, backbone: Backbone, shaders: ShaderSources, store: TuningStore, source: KernelSource = 'saved'): Promise<TunedKernels | null> {
  if (source === 'hand-picked') return null;
  const saved = await savedTuning(gpu, backbone, shaders, store);
  if (saved || source === 'saved') return saved?.kernels ?? null;
  if (source !== 'tune') throw new Error(`kernels must be 'saved', 'tune' or 'hand-picked', not "${String(source)}"`);
  return (await tuneBackbone(gpu, backbone, shaders, { batches: DEFAULT_TUNED_BATCHES, store })).record.kernels;
}
