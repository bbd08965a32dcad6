// openEngine: a WebGPU device (Dawn), the shaders from disk, a backbone from the weights
// folder (the default one converted there on first use) and the kernels tuned for this
// adapter, in one call. Its own module, below the package's entry (src/node.ts), so that the
// library's modules that open an engine of their own (the photo library's index run and
// worker) import it without importing the entry that re-exports them.
import { createNodeGpu, type NodeGpuOptions } from './gpu/node-gpu.ts';
import { loadShaders } from './gpu/shaders-node.ts';
import type { Gpu } from './gpu/device.ts';
import { noticeIfSlow } from './gpu/first-use.ts';
import { checkEngineOptions, MobileNetEngine, type EngineOptions } from './mobilenet/engine.ts';
import { loadBackbone } from './weights/store.ts';
import { DEFAULT_BACKBONE, facegpuHome, resolveBackboneDir, weightsDir } from './backbones.ts';
import { ensureDefaultBackbone } from './default-backbone.ts';
import { kernelsFor, type KernelSource } from './tune/engine-kernels.ts';
import { nodeTuningStore } from './tune/store-node.ts';
import { join } from 'node:path';

export interface OpenEngineOptions extends EngineOptions, NodeGpuOptions {
  /** Backbone name in the weights folder, or a folder with manifest.json; default "face". */
  backbone?: string;
  /** facegpu's folder for converted backbones (<home>/weights); default $FACEGPU_HOME, else the user's cache folder. */
  home?: string;
  /**
   * Told before the default backbone is converted on first use, and when the warm-up is long
   * (a driver compiling the kernels on its first use): one line each; default: stderr.
   */
  onNotice?: (line: string) => void;
  /**
   * Run every kernel once before returning (default true; `MobileNetEngine.warmUp`), so that a
   * driver that compiles pipelines at their first dispatch (lavapipe: 15-18 s for the
   * backbone's kernels the first time on a 2-core machine) does it here, told through
   * `onNotice`, and not silently inside the first call. Once compiled: one image's pass.
   */
  warmUp?: boolean;
  /** Reuse a device (tfjs training shares ours). */
  gpu?: Gpu;
  /** The saved tuning of this adapter (`facegpu tune`, in <home>/tuning) if any (default), measured now if none ('tune'), or none; `tuned` overrides. */
  kernels?: KernelSource;
}

/**
 * Device + backbone + engine in one call. The first call converts the default backbone from
 * the installed `@vladmandic/human` into the weights folder (a second or so, said once on
 * stderr). Destroy the engine, then the device, when done.
 *
 * @example
 * ```ts
 * import { openEngine, loadImageRGB } from 'facegpu';
 * const { gpu, engine } = await openEngine();
 * const pixels = await loadImageRGB('photo.jpg', engine.inputSize);
 * const descriptors = await engine.embed(pixels, 1);   // Float32Array, 1024 numbers
 * engine.destroy(); gpu.destroy();
 * ```
 */
export async function openEngine(opts: OpenEngineOptions = {}): Promise<{ gpu: Gpu; engine: MobileNetEngine }> {
  checkEngineOptions(opts); // before the weights are read or a device opened
  const weights = weightsDir(opts.home);
  const dir = resolveBackboneDir(opts.backbone, weights);
  if (dir === join(weights, DEFAULT_BACKBONE)) await ensureDefaultBackbone(dir, opts.onNotice);
  const backbone = await loadBackbone(dir);
  const gpu = opts.gpu ?? (await createNodeGpu(opts));
  try {
    const tuned = opts.tuned !== undefined ? opts.tuned : await kernelsFor(gpu, backbone, loadShaders(), nodeTuningStore(join(facegpuHome(opts.home), 'tuning')), opts.kernels);
    const engine = new MobileNetEngine(gpu, backbone, loadShaders(), { ...opts, tuned });
    if (opts.warmUp !== false) {
      const notice = opts.onNotice ?? ((line: string) => console.error(line));
      try {
        await noticeIfSlow(() => engine.warmUp(), "the backbone's kernels", gpu.adapter.id, (line) => notice(`facegpu: ${line}`));
      } catch (err) {
        engine.destroy();
        throw err;
      }
    }
    return { gpu, engine };
  } catch (err) {
    // A device opened here is not the caller's to release when no engine comes back.
    if (!opts.gpu) gpu.destroy();
    throw err;
  }
}
