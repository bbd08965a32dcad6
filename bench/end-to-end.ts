// End-to-end rows: the whole backbone forward pass (packed RGB bytes in, descriptors out) at a
// batch size, on three sides:
// - ours: MobileNetEngine on our WGSL shaders;
// - tfjs-webgpu: the original graph model executed by tfjs-backend-webgpu on the same device;
// - tfjs-wasm: the same graph model on tfjs-backend-wasm (CPU reference).
// Wall time runs from before the input is handed over (upload included: RGB bytes for ours, a
// float32 NHWC tensor for tfjs, each side's natural input) to the end of the GPU work
// (queue.onSubmittedWorkDone, awaited patiently on both WebGPU sides: see timing.ts) or, for
// wasm, of execute(); no side reads its output back inside the timed region. Where the adapter has timestamps, the GPU time of the two WebGPU sides is
// also measured the kernel-row way: each dispatch in its own timed pass, summed.
import type { Gpu } from '../src/gpu/device.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { maxAbsDiff, randomPixels } from './data.ts';
import { hasTimestamps, PassTimer, PatientWallTimer, stats, type Stats } from './timing.ts';
import { tf, type TfjsBackend, type TfjsSides } from './tfjs-sides.ts';

export interface EndToEndRow {
  batch: number;
  /** Medians of wall time per image, ms. */
  oursMsPerImage: number;
  tfjsWebgpuMsPerImage: number | null;
  tfjsWasmMsPerImage: number | null;
  /** Largest of the two below. */
  maxAbsError: number;
  maxAbsErrorVsWebgpu: number | null;
  maxAbsErrorVsWasm: number | null;
  speedupVsWebgpu: number | null;
  speedupVsWasm: number | null;
  /** Wall time per call (the whole batch), ms. */
  wall: { ours: Stats; tfjsWebgpu: Stats | null; tfjsWasm: Stats | null };
  /** GPU time per call (sum of per-dispatch timestamps), ms; null without timestamp-query. */
  gpu: { ours: Stats; tfjsWebgpu: Stats | null } | null;
}

export interface EndToEndOptions {
  warmup: number;
  repeats: number;
  /** Repeats of the per-dispatch GPU timing (slow on the tfjs side: one submit per dispatch). */
  gpuRepeats: number;
  /** The graph model tfjs runs; null skips the tfjs sides. */
  modelFile: string | null;
  sides: { webgpu: boolean; wasm: boolean };
  onRow?: (row: EndToEndRow) => void;
  onProgress?: (what: string) => void;
}

/** The pixels as the graph model takes them: float32 NHWC after the backbone's preprocessing. */
function modelInput(pixels: Uint8Array, pre: { scale: number; offset: number }): Float32Array {
  return Float32Array.from(pixels, (v) => v * pre.scale + pre.offset);
}

export async function measureEndToEnd(gpu: Gpu, engine: MobileNetEngine, tfjs: TfjsSides, batches: number[], opts: EndToEndOptions): Promise<EndToEndRow[]> {
  const rows: EndToEndRow[] = [];
  const m = engine.manifest;
  const size = m.inputSize;
  const outputName = m.source.output;
  const timer = hasTimestamps(gpu.device) ? new PassTimer(gpu.device, engine.preparedOps(1).length) : null;
  const tfjsWallTimer = new PatientWallTimer(gpu.device);
  const backends: TfjsBackend[] = opts.modelFile ? (['webgpu', 'wasm'] as const).filter((b) => opts.sides[b]) : [];
  try {
    for (const n of batches) {
      opts.onProgress?.(`end-to-end batch ${n}`);
      const pixels = randomPixels(n * size * size * 3, 7 + n);
      const input = modelInput(pixels, m.preprocess);

      const oursWall = async () => {
        const t0 = performance.now();
        engine.forward(pixels, n);
        await engine.onDone();
        return performance.now() - t0;
      };
      const tfjsWall = async (b: TfjsBackend) => {
        await tfjs.use(b);
        const model = await tfjs.model(b, opts.modelFile!);
        let x: tf.Tensor | null = null;
        let y: tf.Tensor | null = null;
        const run = () => {
          x = tf.tensor4d(input, [n, size, size, 3]);
          y = model.execute(x, outputName) as tf.Tensor;
        };
        let ms: number;
        if (b === 'webgpu') {
          ms = await tfjsWallTimer.time(`batch ${n}`, () => {
            run();
            tfjs.flushWebgpu();
          });
        } else {
          const t0 = performance.now();
          run();
          ms = performance.now() - t0;
        }
        (x as tf.Tensor | null)?.dispose();
        (y as tf.Tensor | null)?.dispose();
        return ms;
      };

      for (let r = 0; r < opts.warmup; r++) {
        await oursWall();
        for (const b of backends) await tfjsWall(b);
      }
      const wall: Record<'ours' | TfjsBackend, number[]> = { ours: [], webgpu: [], wasm: [] };
      // Interleaved, so that load from elsewhere on the machine hits every side alike.
      for (let r = 0; r < opts.repeats; r++) {
        wall.ours.push(await oursWall());
        for (const b of backends) wall[b].push(await tfjsWall(b));
      }

      let gpuTimes: EndToEndRow['gpu'] = null;
      // (A batch above engine.maxBatch runs as several passes; its per-dispatch time is not taken.)
      if (timer && n <= engine.maxBatch && opts.gpuRepeats > 0) {
        const ops = engine.preparedOps(n); // the input is in place from the runs above
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let r = 0; r < opts.gpuRepeats; r++) {
          const t = await timer.time(ops.map((op) => (pass: GPUComputePassEncoder) => engine.runner.encode(pass, [op])));
          ours.push(t.reduce((s, v) => s + v, 0));
          if (backends.includes('webgpu')) {
            await tfjs.use('webgpu');
            const model = await tfjs.model('webgpu', opts.modelFile!);
            const x = tf.tensor4d(input, [n, size, size, 3]);
            let y: tf.Tensor | null = null;
            const info = await tf.time(() => {
              y = model.execute(x, outputName) as tf.Tensor;
            });
            theirs.push(info.kernelMs as number);
            x.dispose();
            (y as tf.Tensor | null)?.dispose();
          }
        }
        gpuTimes = { ours: stats(ours), tfjsWebgpu: theirs.length ? stats(theirs) : null };
      }

      // Agreement, outside the timed region: every side's descriptors for the same images.
      const ourOut = await engine.embed(pixels, n);
      const errs: Partial<Record<TfjsBackend, number>> = {};
      for (const b of backends) {
        await tfjs.use(b);
        const model = await tfjs.model(b, opts.modelFile!);
        const theirs = tf.tidy(() => model.execute(tf.tensor4d(input, [n, size, size, 3]), outputName) as tf.Tensor);
        errs[b] = maxAbsDiff(ourOut, (await theirs.data()) as Float32Array);
        theirs.dispose();
      }

      const per = (s: Stats | null) => (s ? s.median / n : null);
      const w = { ours: stats(wall.ours), tfjsWebgpu: wall.webgpu.length ? stats(wall.webgpu) : null, tfjsWasm: wall.wasm.length ? stats(wall.wasm) : null };
      const row: EndToEndRow = {
        batch: n,
        oursMsPerImage: per(w.ours)!,
        tfjsWebgpuMsPerImage: per(w.tfjsWebgpu),
        tfjsWasmMsPerImage: per(w.tfjsWasm),
        maxAbsError: Math.max(errs.webgpu ?? 0, errs.wasm ?? 0),
        maxAbsErrorVsWebgpu: errs.webgpu ?? null,
        maxAbsErrorVsWasm: errs.wasm ?? null,
        speedupVsWebgpu: w.tfjsWebgpu ? w.tfjsWebgpu.median / w.ours.median : null,
        speedupVsWasm: w.tfjsWasm ? w.tfjsWasm.median / w.ours.median : null,
        wall: w,
        gpu: gpuTimes,
      };
      if (Number.isNaN(errs.webgpu) || Number.isNaN(errs.wasm)) row.maxAbsError = NaN;
      rows.push(row);
      opts.onRow?.(row);
    }
  } finally {
    timer?.destroy();
  }
  return rows;
}
