// facegpu eval <model-dir> <data>: accuracy, per-class precision/recall, confusion matrix.
import type { Command } from 'commander';
import { join } from 'node:path';
import { checkFraction } from '../train/split.ts';
import { openEngine } from '../open-engine-node.ts';
import { findBackbone } from '../backbones.ts';
import { warnIfUnfinished } from './model-notes.ts';
import { evaluate, formatEvaluation, load } from '../train/index.ts';
import { readModelMeta } from '../train/model-dir-node.ts';
import { countOption, numberOption } from './number-options.ts';
import { withoutFile } from './wording.ts';

interface EvalCliOptions {
  json?: boolean;
  validationSplit?: string;
  seed?: string;
  backbone?: string;
  batchSize: string;
  adapter?: string;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('score a trained model on <data>/validation/ (or val/, with or without train/ beside it), else on the files a train of <data> held back; any number of the model\'s people')
    .argument('<model-dir>', 'model directory written by facegpu train')
    .argument('<data>', 'data folder')
    .option('--validation-split <f>', 'split to reproduce (default: the one the model was trained with; on the folder it was trained on, another is refused where it would score photos it trained on)')
    .option('--seed <n>', 'seed of the split to reproduce (default: the model\'s; as --validation-split)')
    .option('--json', 'print {"accuracy", "classes", "confusion", "noFace", "noFaceFiles", "perClass", "images", "skipped": [{"file", "error"}], "source"} as JSON (confusion: photos where a face was found; noFace: per class, photos where none was, each a miss)')
    .option('--backbone <name|dir>', 'backbone (default: the one the model was trained on)')
    .option('--batch-size <n>', 'images per forward pass', '16')
    .action((modelDir: string, data: string, opts: EvalCliOptions) => evalCommand(modelDir, data, { ...opts, adapter: program.opts().adapter }));
}

export async function evalCommand(modelDir: string, data: string, opts: EvalCliOptions): Promise<void> {
  const batchSize = countOption('--batch-size', opts.batchSize);
  const meta = await readModelMeta(modelDir);
  warnIfUnfinished(modelDir, meta);
  // Given only when the user gives them: left out, evaluate takes the model's split (and, in
  // the folder it was trained on, exactly the files it held back).
  const validationSplit = opts.validationSplit !== undefined ? numberOption('--validation-split', opts.validationSplit) : undefined;
  if (validationSplit !== undefined) checkFraction(validationSplit, '--validation-split');
  const seed = opts.seed !== undefined ? countOption('--seed', opts.seed, 0) : undefined;
  const { gpu, engine } = await openEngine({ backbone: opts.backbone ?? findBackbone(meta.backbone, modelDir), adapter: opts.adapter });
  try {
    const classifier = await load(modelDir, { gpu, engine });
    const result = await evaluate(classifier, data, {
      validationSplit,
      seed,
      batchSize,
      onSkip: (s) => console.error(`facegpu: warning: skipped ${s.reason}`),
      onNoFace: (f) => console.error(`facegpu: warning: ${f}: no face found; counted as a miss (predict calls it "unknown")`),
    });
    if (opts.json) {
      const { accuracy, classes, confusion, noFace, perClass } = result;
      // Files as paths one can open (the data folder joined to the split's ids), and skipped
      // ones as every command gives them: {"file", "error"}, the error without the file's name.
      const fileOf = (id: string) => join(data, id);
      const noFaceFiles = result.predictions.filter((p) => p.predicted === null).map((p) => fileOf(p.id));
      const skipped = result.skipped.map((s) => ({ file: fileOf(s.id), error: withoutFile(s.reason, fileOf(s.id)) }));
      process.stdout.write(JSON.stringify({ accuracy, classes, confusion, noFace, noFaceFiles, perClass, images: result.predictions.length, skipped, source: result.source }) + '\n');
    } else {
      console.log(`evaluated on ${result.source}`);
      console.log(formatEvaluation(result));
    }
    // The project's rule: unreadable files named on stderr, the others answered, exit status 2.
    if (result.skipped.length) process.exitCode = 2;
  } finally {
    engine.destroy();
    gpu.destroy();
  }
}
