// facegpu bench (npm run bench): our shaders against TensorFlow.js on one adapter; see
// bench/README.md for what is measured and how.
import type { Command } from 'commander';
import { kernelLines, textReport } from '../../bench/report.ts';
import { ORT_SIDE_NAMES } from '../../bench/ort-sides.ts';
import { runBench } from '../../bench/run.ts';
import { registerBenchGallery } from './bench-gallery.ts';
import { choiceListOption, countListOption, countOption } from './number-options.ts';

interface BenchFlags {
  backbone: string;
  batches: string;
  kernelBatch: string;
  repeats: string;
  kernelRepeats: string;
  gpuRepeats: string;
  warmup: string;
  kernels: boolean;
  only?: string;
  endToEnd: boolean;
  wasm: boolean;
  ort?: string | true;
  trainingWork: boolean;
  quick?: boolean;
  json?: boolean;
  out?: string;
  save: boolean;
}

/** `--ort` alone: every ONNX Runtime side; `--ort wasm,node`: those. */
function ortSides(v: string | true | undefined): string[] {
  if (v === undefined) return [];
  if (v === true) return Object.keys(ORT_SIDE_NAMES);
  return choiceListOption('--ort', v, Object.keys(ORT_SIDE_NAMES), 'ONNX Runtime sides');
}

export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('benchmark our shaders against tfjs-webgpu (same device) and tfjs-wasm, per kernel and whole network; with --ort also ONNX Runtime (web WebGPU and wasm, node CPU)')
    .option('--backbone <name|dir>', 'backbone under weights/ or a converted folder', 'face')
    .option('--batches <list>', 'end-to-end batch sizes', '1,8,32')
    .option('--kernel-batch <n>', 'batch size of the per-kernel rows', '8')
    .option('--repeats <n>', 'timed end-to-end runs per side and batch (median reported)', '5')
    .option('--kernel-repeats <n>', 'timed runs per kernel and side', '7')
    .option('--gpu-repeats <n>', 'end-to-end runs timed per dispatch with timestamps', '3')
    .option('--warmup <n>', 'untimed runs before timing', '1')
    .option('--no-kernels', 'skip the per-kernel rows')
    .option('--only <text>', 'only the kernel rows whose name contains <text>, e.g. depthwise')
    .option('--no-end-to-end', 'skip the whole-network rows')
    .option('--no-wasm', 'leave tfjs-wasm out of the whole-network rows')
    .option('--ort [sides]', 'add ONNX Runtime on the backbone exported to ONNX: webgpu (onnxruntime-web, same adapter; its session takes 30-90 s on lavapipe), wasm (onnxruntime-web), node (onnxruntime-node); default all three')
    .option('--no-training-work', "skip the head training step and face detection rows (tfjs' kernels against ours)")
    .option('--quick', 'batches 1,8, kernel batch 1, 3 repeats (a few minutes less)')
    .option('--json', 'print the results as JSON on stdout (progress goes to stderr)')
    .option('--out <dir>', 'results folder (default bench/results/<adapter>)')
    .option('--no-save', 'write no results files')
    .action(async (flags: BenchFlags) => {
      // Every flag is checked (one line naming it) before the benchmark starts.
      const batches = countListOption('--batches', flags.batches);
      const kernelBatch = countOption('--kernel-batch', flags.kernelBatch);
      const warmup = countOption('--warmup', flags.warmup);
      const repeats = countOption('--repeats', flags.repeats);
      const kernelRepeats = countOption('--kernel-repeats', flags.kernelRepeats);
      const gpuRepeats = countOption('--gpu-repeats', flags.gpuRepeats, 0);
      const ort = ortSides(flags.ort);
      const quick = flags.quick === true;
      const { result, files } = await runBench({
        adapter: program.opts().adapter,
        backbone: flags.backbone,
        batches: flags.endToEnd ? (quick ? [1, 8] : batches) : [],
        kernelBatch: flags.kernels ? (quick ? 1 : kernelBatch) : null,
        warmup,
        repeats: quick ? 3 : repeats,
        kernelRepeats: quick ? 3 : kernelRepeats,
        gpuRepeats: quick ? 1 : gpuRepeats,
        only: flags.only,
        wasm: flags.wasm,
        ort: ort.map((n) => ORT_SIDE_NAMES[n]),
        trainingWork: flags.trainingWork,
        outDir: flags.save ? flags.out : null,
        log: (line) => console.error(line),
        // Each kernel row as it is measured, on stderr, so a long run shows progress.
        onKernelRow: (row) => console.error(kernelLines([row])[2]),
      });
      if (flags.json) process.stdout.write(JSON.stringify({ adapter: result.adapter, kernels: result.kernels, endToEnd: result.endToEnd, trainingWork: result.trainingWork, environment: result.environment, settings: result.settings }) + '\n');
      else console.log(textReport(result));
      if (files.length) console.error(`results: ${files.join(', ')}`);
    });
  registerBenchGallery(bench);
}
