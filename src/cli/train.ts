// facegpu train <data> --out <model-dir>: extract descriptors with the backbone, train the
// head, keep the best checkpoint on disk.
import type { Command } from 'commander';
import { openEngine } from '../open-engine-node.ts';
import { UNKNOWN } from '../train/classify.ts';
import { resolveBackboneDir } from '../backbones.ts';
import { DEFAULT_VALIDATION_SPLIT, openTrainingSet } from '../train/dataset-node.ts';
import { DEFAULT_FIT, formatEpoch, MODEL_DIR_BYTES, train, type NodeTrainOptions } from '../train/index.ts';
import { checkFraction } from '../train/split.ts';
import { checkOutputDir } from '../out-dir.ts';
import { recoverDir } from '../atomic-fs.ts';
import { withDirLock } from '../lock-node.ts';
import { checkReplaceable } from '../train/model-dir-node.ts';
import { CROP_METHODS, DEFAULT_FACE_MARGIN, MAX_FACE_MARGIN } from '../detect/face-crop.ts';
import { progressBar } from './progress.ts';
import { onStopSignals, signalExitCode } from './stop-signals.ts';
import { choiceOption, countOption, numberOption, positiveOption } from './number-options.ts';
import { existsSync } from 'node:fs';

export interface TrainCliOptions {
  out: string;
  backbone: string;
  validationSplit?: string;
  seed: string;
  epochs: string;
  batchSize: string;
  lr: string;
  patience: string;
  augment: string;
  extractBatch: string;
  crop: string;
  cropMargin: string;
  adapter?: string;
  progress?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a face recognizer on a folder of photos (<data>/<person>/* or <data>/train|validation/<person>/*)')
    .argument('<data>', 'data folder')
    .requiredOption('--out <model-dir>', 'model directory to write (replaced atomically at each checkpoint)')
    .option('--backbone <name|dir>', 'backbone under weights/ or a converted folder', 'face')
    .option('--validation-split <f>', `fraction of each person held back when there is no validation/ folder (default ${DEFAULT_VALIDATION_SPLIT})`)
    .option('--seed <n>', 'seed of the split, batch order, augmentation and initial weights', String(DEFAULT_FIT.seed))
    .option('--epochs <n>', 'most epochs', String(DEFAULT_FIT.epochs))
    .option('--batch-size <n>', 'training batch size', String(DEFAULT_FIT.batchSize))
    .option('--lr <rate>', 'RMSprop learning rate', String(DEFAULT_FIT.learningRate))
    .option('--patience <n>', 'epochs without a better val_loss before stopping', String(DEFAULT_FIT.patience))
    .option('--augment <n>', 'augmented views added per training image (rotation, shift, flip on the GPU)', '0')
    .option('--extract-batch <n>', 'images per backbone forward pass', '16')
    .option('--crop <face|none>', 'face: the backbone sees a square around each photo\'s face (BlazeFace), as predict and eval will; none: the whole photo', 'face')
    .option('--crop-margin <m>', 'side of the face crop / side of the detected face box', String(DEFAULT_FACE_MARGIN))
    .option('--no-progress', 'no progress bars on stderr (there are none when stderr is not a terminal)')
    .action((data: string, opts: TrainCliOptions) => trainCommand(data, { ...opts, adapter: program.opts().adapter }));
}

export async function trainCommand(data: string, opts: TrainCliOptions): Promise<void> {
  // Every flag, then the output folder, then the data folder's layout: all before the GPU
  // starts or any image is decoded, so a mistake costs milliseconds.
  const config = {
    validationSplit: opts.validationSplit === undefined ? DEFAULT_VALIDATION_SPLIT : numberOption('--validation-split', opts.validationSplit),
    seed: countOption('--seed', opts.seed, 0),
    epochs: countOption('--epochs', opts.epochs),
    batchSize: countOption('--batch-size', opts.batchSize),
    learningRate: positiveOption('--lr', opts.lr),
    patience: countOption('--patience', opts.patience),
    augment: countOption('--augment', opts.augment, 0),
    extractBatch: countOption('--extract-batch', opts.extractBatch),
    crop: choiceOption('--crop', opts.crop, CROP_METHODS),
    margin: marginOption(opts.cropMargin),
  };
  checkFraction(config.validationSplit, '--validation-split');
  await checkOutputDir(opts.out, { name: '--out', needBytes: MODEL_DIR_BYTES, readFrom: [{ path: data, what: 'data folder' }] });
  // The data folder is read here and again by train(): each warning about it is told once.
  const told = new Set<string>();
  const dataWarning = (m: string) => {
    if (!told.has(m)) console.error(`facegpu: warning: ${m}`);
    told.add(m);
  };
  // Folder mistakes (missing, empty person, one person, --out not a model) are reported before the GPU starts.
  const set = await openTrainingSet(data, 0, { ...config, onWarning: dataWarning });
  // A split given for data that brings its own validation folder would be silently unused.
  if (opts.validationSplit !== undefined && set.layout === 'train/validation') {
    console.error(`facegpu: warning: --validation-split ${opts.validationSplit} is not used: ${data} has its own validation folder, which is used instead`);
  }
  // predict answers "unknown" below its threshold: a person of that name could not be told from it.
  const unknown = set.classes.find((c) => c.toLowerCase() === UNKNOWN);
  if (unknown !== undefined) console.error(`facegpu: warning: ${data}: a person folder named "${unknown}"; predict also answers "${UNKNOWN}" for a face below --threshold, so its answers for this person look the same (rename the folder to tell them apart)`);
  await recoverDir(opts.out);
  await checkReplaceable(opts.out);
  // One writer per model folder: a second train into the same --out is refused, naming the first.
  await withDirLock(opts.out, () => trainLocked(data, opts, config, told), {
    what: 'model folder',
    timeoutMs: 0,
    onWait: (m) => console.error(`facegpu: ${m}`),
  });
}

async function trainLocked(data: string, opts: TrainCliOptions, config: Omit<NodeTrainOptions, 'out'>, told: Set<string>): Promise<void> {
  // The bars draw on a terminal only; a log file gets the warnings and the epochs' lines.
  const bar = progressBar(' {phase} |{bar}| {value}/{total} images  {eta_formatted} left', opts.progress);
  let phase = '';
  let noFace = 0;
  // The bar owns the terminal line: a warning goes below it.
  const warn = (m: string) => process.stderr.write(`${phase && bar ? '\n' : ''}facegpu: warning: ${m}\n`);
  const stop = stopOnSignal(opts.out, () => {
    if (phase) bar?.stop();
    phase = '';
  });
  const { gpu, engine } = await openEngine({ backbone: opts.backbone, adapter: opts.adapter }).catch((err: unknown) => {
    stop.dispose();
    throw err;
  });
  try {
    const result = await train(data, { gpu, engine }, {
      ...config,
      out: opts.out,
      outLocked: true,
      signal: stop.signal,
      backbonePath: resolveBackboneDir(opts.backbone),
      onWarning: (m) => {
        if (!told.has(m)) warn(m);
        told.add(m);
      },
      onCheckpoint: async (_head, meta) => stop.saving(meta.metrics.bestEpoch),
      onCheckpointWritten: (meta) => stop.written(meta.metrics.bestEpoch),
      onDetectProgress: (done, total) => {
        if (phase !== 'faces') {
          phase = 'faces';
          bar?.start(total, 0, { phase: 'faces                   ' });
        }
        bar?.update(done);
      },
      onExtractProgress: (done, total, p) => {
        if (p !== phase) {
          if (phase) bar?.stop();
          phase = p;
          bar?.start(total, 0, { phase: p === 'train' ? 'descriptors (train)     ' : 'descriptors (validation)' });
        }
        bar?.update(done);
      },
      onSkip: (s) => warn(`skipped ${s.reason}`),
      onNoFace: (id) => {
        noFace++;
        warn(`${id}: no face found; the whole image is used`);
      },
      onEpoch: (log, c) => {
        if (phase) {
          bar?.stop();
          phase = '';
        }
        console.log(formatEpoch(log, c.epochs));
      },
    });
    const m = result.meta;
    if (stop.signal.aborted) {
      // Every checkpoint is on disk (train waits for them): the folder holds the best epoch so far.
      const b = result.fit.best;
      const loss = b.valLoss !== null ? `val_loss ${b.valLoss.toFixed(4)}` : `loss ${b.loss.toFixed(4)}`;
      console.error(
        result.fit.interrupted
          ? `facegpu: stopped after epoch ${m.metrics.epochsRun} of ${m.config.epochs}; ${opts.out} holds epoch ${b.epoch}, the best so far (${loss}); the same command again trains anew from epoch 1 (a run is not resumed)`
          : `facegpu: stopped; training had finished: ${opts.out} holds the trained model, epoch ${b.epoch} (the best, ${loss})`,
      );
      process.exitCode = stop.exitCode();
      return;
    }
    const images = m.split.train.length * (1 + m.config.augment) + m.split.validation.length;
    console.log(
      `${result.fit.stoppedEarly ? 'stopped early' : 'done'} after ${m.metrics.epochsRun} epochs; kept epoch ${m.metrics.bestEpoch}` +
        (m.metrics.valAccuracy !== null ? ` (val_loss ${m.metrics.valLoss!.toFixed(4)}, val_acc ${m.metrics.valAccuracy.toFixed(4)})` : ''),
    );
    console.log(
      `${m.labels.length} people, ${m.split.train.length} training and ${m.split.validation.length} validation images` +
        (m.config.augment ? ` (+${m.split.train.length * m.config.augment} augmented views)` : '') +
        (m.split.skipped.length ? `, ${m.split.skipped.length} skipped` : '') +
        (m.preprocessing.crop.method === 'face' ? `; faces cropped (margin ${m.preprocessing.crop.margin})${noFace ? `, none found in ${noFace}` : ''}` : '; whole images'),
    );
    const sc = m.head.inputScale;
    if (sc) console.log(`descriptor scale ${sc.scale.toFixed(4)} (training descriptors' mean L2 norm ${sc.meanNorm.toFixed(2)}, brought to ${sc.targetNorm})`);
    console.log(
      `time: ` +
        (result.timings.detectMs !== undefined ? `faces ${(result.timings.detectMs / 1000).toFixed(1)} s (${(result.timings.detectMs / Math.max(1, m.split.train.length + m.split.validation.length)).toFixed(0)} ms/image), ` : '') +
        `descriptors ${(result.timings.extractMs / 1000).toFixed(1)} s (${(result.timings.extractMs / Math.max(1, images)).toFixed(0)} ms/image), ` +
        `head ${(result.timings.trainMs / 1000).toFixed(1)} s on ${gpu.adapter.id}`,
    );
    console.log(`saved ${opts.out}`);
  } finally {
    stop.dispose();
    if (phase) bar?.stop();
    engine.destroy();
    gpu.destroy();
  }
}

/**
 * Ctrl-C and SIGTERM while training. Before any checkpoint was started the run stops at once
 * (nothing of it would be kept). After one, the first signal lets the epoch under way end and
 * train wait for the checkpoint writes (a write in the background would die with the
 * process, and the folder keep an older epoch than the last one shown); a second stops at once
 * (onStopSignals).
 */
function stopOnSignal(out: string, clearLine: () => void) {
  const controller = new AbortController();
  // Said as it is: a folder that was not there before the run is not "as it was".
  const existedBefore = existsSync(out);
  let checkpoint = 0; // the epoch of the last checkpoint started
  let written = 0; // and of the last one on disk
  const exitCode = () => (signals.received ? signalExitCode(signals.received) : 128);
  const stopNow = () => {
    clearLine();
    process.stderr.write(
      checkpoint === 0
        ? `facegpu: stopped before a checkpoint was written; ${out} ${existedBefore ? 'is as it was' : 'was not made'}\n`
        : written === 0
          ? `facegpu: stopped at once, before a checkpoint finished writing; ${out} is as it was\n`
          : `facegpu: stopped at once; ${out} holds epoch ${written}${written < checkpoint ? ` (epoch ${checkpoint}, the best since, was still being written)` : ', the best so far'}\n`,
    );
    process.exit(exitCode());
  };
  const signals = onStopSignals((sig) => {
    if (checkpoint === 0) return stopNow();
    clearLine();
    process.stderr.write(`facegpu: stopping after this epoch and its checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to stop at once)\n`);
    controller.abort();
  }, stopNow);
  return {
    signal: controller.signal,
    exitCode,
    saving(epoch: number) {
      checkpoint = epoch;
    },
    written(epoch: number) {
      written = epoch;
    },
    dispose: () => signals.dispose(),
  };
}

function marginOption(value: string): number {
  const m = numberOption('--crop-margin', value);
  if (!(m > 0 && m <= MAX_FACE_MARGIN)) throw new Error(`--crop-margin must be positive and at most ${MAX_FACE_MARGIN}, got ${m}`);
  return m;
}

