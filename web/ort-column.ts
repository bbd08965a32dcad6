// The benchmark's optional ONNX Runtime column: the page's backbone exported to ONNX in the
// page (src/weights/onnx.ts, what `facegpu weights export --onnx` writes) and run by ONNX
// Runtime Web's WebGPU EP (bench/ort-webgpu.ts, as the Node benchmark runs it) on a device of
// its own from the page's adapter, natively in the browser. ORT and the ONNX writer are loaded
// only when the column is asked for (a separate chunk; the page does not precache them).
// Session creation compiles ORT's shaders: tens of seconds on a CPU adapter, shown as it goes.
import type { Backbone } from '../src/weights/format.ts';
import { createBrowserGpu } from '../src/browser/index.ts';
import { minCosine } from '../bench/cosine.ts';
import { repeat, stats } from '../bench/timing.ts';

export interface OrtColumn {
  /**
   * Whole network, pixels in to descriptors read back, ms per batch (median of `runs` after a
   * warm-up run, which compiles ORT's shaders for the batch size), and the lowest cosine of its
   * descriptors to ours. setupSeconds: session creation plus that first run.
   */
  measure(pixels: Uint8Array, n: number, runs: number, ours: Float32Array, progress: (text: string) => void): Promise<{ ms: number; cosine: number; setupSeconds: number }>;
  release(): Promise<void>;
}

/** Seconds ticking in the status while a long step runs. */
async function ticking<T>(what: string, progress: (text: string) => void, step: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const say = () => progress(`${what}… ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  say();
  const timer = setInterval(say, 1000);
  try {
    return await step();
  } finally {
    clearInterval(timer);
  }
}

export async function openOrtColumn(backbone: Backbone, progress: (text: string) => void): Promise<OrtColumn> {
  const t0 = performance.now();
  const [{ backboneToOnnx }, ort, ortWebgpu] = await ticking('ONNX Runtime: loading', progress, () =>
    Promise.all([import('../src/weights/onnx.ts'), import('onnxruntime-web/webgpu'), import('../bench/ort-webgpu.ts')]),
  ).catch((err: Error) => {
    throw new Error(`ONNX Runtime could not be loaded (it is fetched when asked for, not kept for offline use): ${err.message}`);
  });
  const model = backboneToOnnx(backbone);
  const gpu = await createBrowserGpu();
  let session: Awaited<ReturnType<typeof ortWebgpu.createWebgpuSession>>;
  try {
    session = await ticking('ONNX Runtime WebGPU: creating the session (compiles its shaders; tens of seconds on a CPU adapter)', progress, () =>
      ortWebgpu.createWebgpuSession(ort, model, gpu.device, 'cpu'),
    );
  } catch (err) {
    gpu.destroy();
    throw new Error(`ONNX Runtime WebGPU: ${(err as Error).message}`);
  }
  const size = backbone.manifest.inputSize;
  return {
    async measure(pixels, n, runs, ours, say) {
      const feeds = () => ortWebgpu.ortFeeds(ort, Float32Array.from(pixels), n, size);
      const first = await ticking(`ONNX Runtime WebGPU: first run at batch ${n} (compiles more shaders)`, say, () => ortWebgpu.ortDescriptors(session, feeds()));
      const setupSeconds = (performance.now() - t0) / 1000;
      say(`ONNX Runtime WebGPU: whole network, ${runs} runs…`);
      const samples = await repeat(0, runs, async () => {
        const t = performance.now();
        await ortWebgpu.ortDescriptors(session, feeds());
        return performance.now() - t;
      });
      return { ms: stats(samples).median, cosine: minCosine(ours, first, n), setupSeconds };
    },
    async release() {
      await session.release().catch(() => undefined);
      gpu.destroy();
    },
  };
}
