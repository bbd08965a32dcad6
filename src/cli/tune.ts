// facegpu tune: time every candidate kernel of each layer shape of a backbone on this adapter
// and save the fastest (src/tune/); every engine opened afterwards on this adapter (openEngine's
// kernels: 'saved', the default) and `bench` then run them. Redoes the timing unless --if-missing.
import type { Command } from 'commander';
import { resolveBackboneDir } from '../backbones.ts';
import { createNodeGpu } from '../gpu/node-gpu.ts';
import { loadShaders } from '../gpu/shaders-node.ts';
import { checkOutputDir } from '../out-dir.ts';
import { nodeTuningStore, tuningDir } from '../tune/store-node.ts';
import { tuneBackbone, type ShapeReport } from '../tune/tuner.ts';
import { loadBackbone } from '../weights/store.ts';
import { countListOption, countOption } from './number-options.ts';

interface TuneFlags {
  backbone: string;
  batchSizes: string;
  rounds: string;
  dir?: string;
  ifMissing?: boolean;
  json?: boolean;
}

export function tuneLines(report: readonly ShapeReport[]): string[] {
  const ms = (name: string, r: ShapeReport) => r.candidates.find((c) => c.name === name)?.ms;
  return report.map((r) => {
    const chosen = ms(r.chosen, r)!;
    const hand = ms(r.handPicked, r);
    const same = r.chosen === r.handPicked;
    const kept = r.notKept ? `(hand-picked; ${r.notKept} not kept: the whole pass was not faster)` : '(hand-picked)';
    return `batch ${String(r.batch).padStart(3)}  ${r.shape.padEnd(34)} ${r.chosen.padEnd(40)} ${chosen.toFixed(3).padStart(8)} ms  ${same ? kept : `hand-picked ${r.handPicked}: ${hand == null ? 'failed' : `${hand.toFixed(3)} ms, ${r.speedup.toFixed(2)}x`}`}`;
  });
}

export function registerTune(program: Command): void {
  program
    .command('tune')
    .description('time the candidate kernels of every layer shape on this adapter and save the fastest (used by every later command on this adapter, and by bench)')
    .option('--backbone <name|dir>', 'backbone under weights/ or a converted folder', 'face')
    .option('--batch-sizes <list>', 'batch sizes to tune for (others use the nearest)', '1,8')
    .option('--rounds <n>', 'timed rounds per candidate (median)', '5')
    .option('--dir <folder>', 'where tunings are kept (default <facegpu home>/tuning)')
    .option('--if-missing', 'use the saved tuning of this adapter, driver, backbone and shaders when there is one, time nothing')
    .option('--json', 'print the tuning as JSON on stdout (progress goes to stderr)')
    .action(async (flags: TuneFlags) => {
      const batches = countListOption('--batch-sizes', flags.batchSizes);
      const rounds = countOption('--rounds', flags.rounds, 1, 100);
      // A folder that cannot be written is told now, not after minutes of timing.
      await checkOutputDir(tuningDir(flags.dir), { name: flags.dir ? '--dir' : 'the tuning folder' });
      const backbone = await loadBackbone(resolveBackboneDir(flags.backbone));
      const gpu = await createNodeGpu({ adapter: program.opts().adapter });
      try {
        const started = performance.now();
        const { record, fromCache, samples, where } = await tuneBackbone(gpu, backbone, loadShaders(), {
          batches,
          rounds,
          store: nodeTuningStore(flags.dir),
          force: !flags.ifMissing,
          log: flags.json ? undefined : (line) => console.error(line),
        });
        const seconds = (performance.now() - started) / 1000;
        if (flags.json) {
          process.stdout.write(JSON.stringify({ adapter: gpu.adapter.id, file: where, fromCache, samples, seconds, timing: record.timing, id: record.id, key: record.key, kernels: record.kernels, layers: record.report, endToEnd: record.endToEnd }) + '\n');
          return;
        }
        console.log(`${backbone.manifest.id} on ${gpu.adapter.id} (${gpu.adapter.description || gpu.adapter.vendor}): ${fromCache ? 'saved tuning, nothing timed' : `${samples} samples (${record.timing}) in ${seconds.toFixed(1)} s`}`);
        for (const line of tuneLines(record.report)) console.log(line);
        for (const e of record.endToEnd) console.log(`batch ${e.batch} whole pass: tuned ${e.tunedMs.toFixed(1)} ms, hand-picked ${e.handPickedMs.toFixed(1)} ms (median of ${e.rounds}, interleaved): ${e.kept ? 'tuned kernels kept' : 'hand-picked kernels kept'}`);
        console.log(`tuning: ${where}`);
      } finally {
        gpu.destroy();
      }
    });
}
