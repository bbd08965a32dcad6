// The benchmark, start to end: one device, our engine and both tfjs sides on it (and, with
// --ort, ONNX Runtime on the exported backbone), kernel rows, end-to-end rows, results files.
// `npm run bench` (src/cli/bench.ts) calls runBench.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { PROJECT_ROOT, resolveBackboneDir } from '../src/backbones.ts';
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import type { Tuning } from '../src/kernels/common.ts';
import { backboneToOnnx } from '../src/weights/onnx.ts';
import { loadBackbone } from '../src/weights/store.ts';
import { nodeTuningStore } from '../src/tune/store-node.ts';
import { savedTuning } from '../src/tune/tuner.ts';
import { measureEndToEnd } from './end-to-end.ts';
import { measureKernels, type KernelRow } from './kernel-rows.ts';
import { distinctKernels } from './kernels-of.ts';
import { OrtSides, ortVersions, type OrtSide } from './ort-sides.ts';
import { writeResults, type BenchResult } from './report.ts';
import { tfjsVersions, TfjsSides } from './tfjs-sides.ts';
import { hasTimestamps } from './timing.ts';
import { measureTrainingWork } from './training-work.ts';

export interface BenchOptions {
  adapter?: string;
  backbone?: string;
  /** End-to-end batch sizes; empty skips the end-to-end rows. */
  batches: number[];
  /** Batch of the kernel rows; null skips them. */
  kernelBatch: number | null;
  warmup: number;
  repeats: number;
  kernelRepeats: number;
  gpuRepeats: number;
  /** Only kernel rows whose name contains this text. */
  only?: string;
  /** Include tfjs-wasm in the end-to-end rows. */
  wasm: boolean;
  /** ONNX Runtime sides in the end-to-end rows (the backbone exported to ONNX); none by default. */
  ort?: OrtSide[];
  /** Time tfjs' work around the backbone on its kernels and ours (last: it cannot be undone). */
  trainingWork: boolean;
  /** Override the engine's tuning (experiments). */
  tuning?: Partial<Tuning>;
  /** Use the saved tuning of this adapter (facegpu tune) when there is one; default true. */
  savedTuning?: boolean;
  /** Results folder; default bench/results/<adapter id>; null writes nothing. */
  outDir?: string | null;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  onKernelRow?: (row: KernelRow) => void;
}

export const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');

function environment(ort: boolean): Record<string, string | number> {
  const pkg = (name: string) => JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version as string;
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return {
    facegpu: JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version,
    commit,
    node: process.versions.node,
    webgpu: pkg('webgpu'),
    ...tfjsVersions(),
    ...(ort ? ortVersions() : {}),
    os: `${platform()} ${release()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    date: new Date().toISOString(),
  };
}

/** Known reasons a kernel of ours can lose to tfjs's, written into the row's note. */
function noteFor(row: KernelRow): string | undefined {
  if (row.speedup >= 1) return undefined;
  if (Math.max(row.ours.median, row.tfjsWebgpu.median) < 0.5) {
    return "under 0.5 ms: Dawn quantizes timestamps to 65.5 us and the fixed per-pass cost decides; compare at a larger --kernel-batch";
  }
  if (row.kind === 'depthwise') {
    return 'depthwise is memory-bound here and tfjs\'s kernel is close (1.2-1.6x at batch 8); small spatial sizes at small batches leave too few tiles';
  }
  return 'slower in this run: see the spread, and bench/README.md';
}

export async function runBench(opts: BenchOptions): Promise<{ result: BenchResult; files: string[] }> {
  const log = opts.log ?? (() => {});
  const dir = resolveBackboneDir(opts.backbone);
  const backbone = await loadBackbone(dir);
  const m = backbone.manifest;
  const modelFile = isAbsolute(m.source.file) ? m.source.file : resolve(PROJECT_ROOT, m.source.file);
  if (m.source.format !== 'tfjs-graph') throw new Error(`${dir}: the benchmark compares against the original tfjs graph model; this backbone came from a ${m.source.format} model`);
  if (!existsSync(modelFile)) throw new Error(`${modelFile}: the original model of backbone ${m.id} is missing (needed for the tfjs sides; run npm ci)`);

  const gpu = await createNodeGpu({ adapter: opts.adapter });
  const store = nodeTuningStore();
  const saved = opts.savedTuning === false ? null : await savedTuning(gpu, backbone, loadShaders(), store);
  const engine = new MobileNetEngine(gpu, backbone, loadShaders(), { tuning: opts.tuning, tuned: saved?.kernels ?? null, maxPlans: 8 });
  const tfjs = new TfjsSides(gpu);
  let ort: OrtSides | null = null;
  try {
    log(`facegpu bench: ${m.id} on ${gpu.adapter.id} (${gpu.adapter.description || gpu.adapter.vendor}); kernels ${saved ? `tuned (${store.where(saved.id)})` : 'hand-picked (no saved tuning)'}`);
    const timestamps = hasTimestamps(gpu.device);
    const result: BenchResult = {
      adapter: { ...gpu.adapter, driver: gpu.adapter.description || gpu.adapter.device || gpu.adapter.vendor },
      environment: environment(!!opts.ort?.length),
      settings: {
        backbone: m.id,
        kernelBatch: opts.kernelBatch,
        batches: opts.batches,
        warmup: opts.warmup,
        repeats: opts.repeats,
        kernelRepeats: opts.kernelRepeats,
        gpuRepeats: timestamps ? opts.gpuRepeats : 0,
        kernelTiming: timestamps ? 'gpu-timestamp' : 'wall-to-done',
        endToEndTiming: 'wall time, input upload included, read-back excluded',
        tuning: engine.tuning,
        kernelSource: { source: saved ? 'tuned' : 'hand-picked', file: saved ? store.where(saved.id) : null, tunedBatches: saved ? saved.key.batches : [] },
        layerKernels: Object.fromEntries(
          [...new Set([...opts.batches, ...(opts.kernelBatch != null ? [opts.kernelBatch] : [])])].sort((a, b) => a - b).map((n) => [String(n), engine.kernelChoices(n).layers]),
        ),
      },
      kernels: [],
      endToEnd: [],
      trainingWork: [],
    };
    if (opts.kernelBatch != null) {
      const cases = distinctKernels(engine, backbone.data, opts.kernelBatch).filter((k) => !opts.only || k.name.includes(opts.only));
      log(`kernels: ${cases.length} distinct shapes at batch ${opts.kernelBatch}`);
      result.kernels = await measureKernels(gpu, engine, tfjs, cases, {
        batch: opts.kernelBatch,
        warmup: Math.max(1, opts.warmup),
        repeats: opts.kernelRepeats,
        onRow: (row) => {
          row.note = noteFor(row);
          opts.onKernelRow?.(row);
        },
      });
    }
    if (opts.batches.length && opts.ort?.length) {
      ort = await OrtSides.open(backboneToOnnx(backbone), m.inputSize, { sides: opts.ort, adapter: opts.adapter, log });
      result.settings.ort = ort.settings;
      log(`ONNX Runtime sessions: ${Object.entries(ort.settings.sessionSeconds).map(([k, v]) => `${k} ${v!.toFixed(1)} s`).join(', ')}`);
    }
    if (opts.batches.length) {
      result.endToEnd = await measureEndToEnd(gpu, engine, tfjs, opts.batches, {
        warmup: Math.max(1, opts.warmup),
        repeats: opts.repeats,
        gpuRepeats: opts.gpuRepeats,
        modelFile,
        sides: { webgpu: true, wasm: opts.wasm },
        ort,
        onProgress: log,
      });
    }
    // Last: it puts our kernels into the tfjs backend that the rows above compare against.
    if (opts.trainingWork) {
      result.trainingWork = await measureTrainingWork(gpu, { warmup: Math.max(2, opts.warmup), repeats: Math.max(5, opts.repeats), log });
    }
    const files = opts.outDir === null ? [] : await writeResults(result, opts.outDir ?? join(RESULTS_DIR, gpu.adapter.id));
    return { result, files };
  } finally {
    await ort?.dispose();
    tfjs.dispose();
    engine.destroy();
    gpu.destroy();
  }
}
