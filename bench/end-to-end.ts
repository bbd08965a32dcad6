// End-to-end rows: the whole backbone forward pass (packed RGB bytes in, descriptors out) at a
// batch size, on these sides:
// - ours: MobileNetEngine on our WGSL shaders;
// - tfjs-webgpu: the original graph model executed by tfjs-backend-webgpu on the same device;
// - tfjs-wasm: the same graph model on tfjs-backend-wasm (CPU reference);
// - with --ort, ONNX Runtime on the backbone exported to ONNX (ort-sides.ts): onnxruntime-web's
//   WebGPU EP on the same adapter, onnxruntime-web wasm, onnxruntime-node on the CPU.
// Wall time runs from before the input is handed over (upload included: RGB bytes for ours, a
// float32 NHWC tensor for tfjs and ORT, each side's natural input) to the end of the GPU work
// (queue.onSubmittedWorkDone, awaited patiently on every WebGPU side: see timing.ts) or, for
// the CPU sides, of execute() / run(); no WebGPU side reads its output back inside the timed
// region (a CPU side's output is in memory when it returns). Where the adapter has
// timestamps, the GPU time of ours and tfjs-webgpu is also measured the kernel-row way: each
// dispatch in its own timed pass, summed.
// Every timed run starts after SETTLE_MS of idling: ONNX Runtime's CPU threads spin on after
// run() returns, and whichever side ran next was slowed by them (bench/README.md).
import type { Gpu } from '../src/gpu/device.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { minCosine } from './cosine.ts';
import { maxAbsDiff, randomPixels } from './data.ts';
import { ORT_LABEL, type OrtSide, type OrtSides } from './ort-sides.ts';
import { hasTimestamps, PassTimer, PatientWallTimer, stats, type Stats } from './timing.ts';
import { tf, type TfjsBackend, type TfjsSides } from './tfjs-sides.ts';

/**
 * Idle time before each timed run. Measured on lavapipe at batch 8: our pass took 24.3 ms per
 * image right after an onnxruntime-node run, 22.1 / 20.1 / 19.9 after 5 / 20 / 100 ms of idling,
 * 18.2 after 300 ms with nothing before it.
 */
export const SETTLE_MS = 100;

const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

export interface EndToEndRow {
  batch: number;
  /** Medians of wall time per image, ms. */
  oursMsPerImage: number;
  tfjsWebgpuMsPerImage: number | null;
  tfjsWasmMsPerImage: number | null;
  /** ONNX Runtime sides (--ort), null when not run. */
  ortWebgpuMsPerImage: number | null;
  ortWasmMsPerImage: number | null;
  ortNodeMsPerImage: number | null;
  /** Largest difference of any other side's descriptors from ours (the fields below). */
  maxAbsError: number;
  maxAbsErrorVsWebgpu: number | null;
  maxAbsErrorVsWasm: number | null;
  maxAbsErrorVsOrt: Partial<Record<OrtSide, number>>;
  /** Per side that ran: the lowest cosine similarity, over the batch's images, of its descriptor to ours. */
  minCosine: Partial<Record<'tfjsWebgpu' | 'tfjsWasm' | OrtSide, number>>;
  speedupVsWebgpu: number | null;
  speedupVsWasm: number | null;
  /** Their median time / ours, per ORT side that ran. */
  speedupVsOrt: Partial<Record<OrtSide, number>>;
  /** Wall time per call (the whole batch), ms. */
  wall: { ours: Stats; tfjsWebgpu: Stats | null; tfjsWasm: Stats | null } & Partial<Record<OrtSide, Stats>>;
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
  /** ONNX Runtime sessions (--ort); null or absent: no ORT sides. */
  ort?: OrtSides | null;
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
  // Sized for the batch with the most ops: a tuning may fuse a depthwise into its pointwise at
  // one batch size and not at another, so the op count can differ between batches.
  const timer = hasTimestamps(gpu.device) ? new PassTimer(gpu.device, Math.max(...batches.map((n) => engine.preparedOps(n).length))) : null;
  const tfjsWallTimer = new PatientWallTimer(gpu.device);
  const backends: TfjsBackend[] = opts.modelFile ? (['webgpu', 'wasm'] as const).filter((b) => opts.sides[b]) : [];
  const ort = opts.ort ?? null;
  const ortSides: OrtSide[] = ort?.sides ?? [];
  try {
    for (const n of batches) {
      opts.onProgress?.(`end-to-end batch ${n}`);
      const pixels = randomPixels(n * size * size * 3, 7 + n);
      const input = modelInput(pixels, m.preprocess);
      // The ONNX model takes the engine's input (RGB 0..255) as float32 and preprocesses itself.
      const ortInput = Float32Array.from(pixels);

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
        for (const o of ortSides) {
          if (o === 'ortWebgpu' && r === 0) opts.onProgress?.(`  ${ORT_LABEL[o]} warm-up at batch ${n} (compiles shaders for the new shapes)`);
          await ort!.time(o, ortInput, n);
        }
      }
      const wall: Record<'ours' | TfjsBackend | OrtSide, number[]> = { ours: [], webgpu: [], wasm: [], ortWebgpu: [], ortWasm: [], ortNode: [] };
      // Interleaved, so that load from elsewhere on the machine hits every side alike.
      // Each after the same idle time, so that none inherits the threads of the one before.
      for (let r = 0; r < opts.repeats; r++) {
        await settle();
        wall.ours.push(await oursWall());
        for (const b of backends) {
          await settle();
          wall[b].push(await tfjsWall(b));
        }
        for (const o of ortSides) {
          await settle();
          wall[o].push(await ort!.time(o, ortInput, n));
        }
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
      const cos: EndToEndRow['minCosine'] = {};
      for (const b of backends) {
        await tfjs.use(b);
        const model = await tfjs.model(b, opts.modelFile!);
        const theirs = tf.tidy(() => model.execute(tf.tensor4d(input, [n, size, size, 3]), outputName) as tf.Tensor);
        const data = (await theirs.data()) as Float32Array;
        errs[b] = maxAbsDiff(ourOut, data);
        cos[b === 'webgpu' ? 'tfjsWebgpu' : 'tfjsWasm'] = minCosine(ourOut, data, n);
        theirs.dispose();
      }
      const ortErrs: EndToEndRow['maxAbsErrorVsOrt'] = {};
      for (const o of ortSides) {
        const data = await ort!.embed(o, ortInput, n);
        ortErrs[o] = maxAbsDiff(ourOut, data);
        cos[o] = minCosine(ourOut, data, n);
        if (!(cos[o]! >= 0.9999)) opts.onProgress?.(`  warning: ${ORT_LABEL[o]} descriptors at batch ${n}: lowest cosine to ours ${cos[o]}`);
      }

      const per = (s: Stats | null) => (s ? s.median / n : null);
      const w: EndToEndRow['wall'] = { ours: stats(wall.ours), tfjsWebgpu: wall.webgpu.length ? stats(wall.webgpu) : null, tfjsWasm: wall.wasm.length ? stats(wall.wasm) : null };
      const speedupVsOrt: EndToEndRow['speedupVsOrt'] = {};
      for (const o of ortSides) {
        w[o] = stats(wall[o]);
        speedupVsOrt[o] = w[o]!.median / w.ours.median;
      }
      const allErrs = [errs.webgpu, errs.wasm, ...Object.values(ortErrs)].filter((e): e is number => e !== undefined);
      const row: EndToEndRow = {
        batch: n,
        oursMsPerImage: per(w.ours)!,
        tfjsWebgpuMsPerImage: per(w.tfjsWebgpu),
        tfjsWasmMsPerImage: per(w.tfjsWasm),
        ortWebgpuMsPerImage: per(w.ortWebgpu ?? null),
        ortWasmMsPerImage: per(w.ortWasm ?? null),
        ortNodeMsPerImage: per(w.ortNode ?? null),
        maxAbsError: allErrs.some(Number.isNaN) ? NaN : Math.max(0, ...allErrs),
        maxAbsErrorVsWebgpu: errs.webgpu ?? null,
        maxAbsErrorVsWasm: errs.wasm ?? null,
        maxAbsErrorVsOrt: ortErrs,
        minCosine: cos,
        speedupVsWebgpu: w.tfjsWebgpu ? w.tfjsWebgpu.median / w.ours.median : null,
        speedupVsWasm: w.tfjsWasm ? w.tfjsWasm.median / w.ours.median : null,
        speedupVsOrt,
        wall: w,
        gpu: gpuTimes,
      };
      rows.push(row);
      opts.onRow?.(row);
    }
  } finally {
    timer?.destroy();
  }
  return rows;
}
