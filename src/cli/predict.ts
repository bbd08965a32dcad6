// facegpu predict <model-dir> <image-or-folder>...: the label and probability of each image.
import type { Command } from 'commander';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openEngine } from '../node.ts';
import { DEFAULT_THRESHOLD, load, predict, type FilePrediction } from '../train/index.ts';
import { readModelMeta } from '../train/model-dir-node.ts';
import { numberOption } from './train.ts';

interface PredictCliOptions {
  json?: boolean;
  top: string;
  threshold: string;
  backbone?: string;
  batchSize: string;
  adapter?: string;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('recognize the people in images with a trained model')
    .argument('<model-dir>', 'model directory written by facegpu train')
    .argument('<images...>', 'image files or folders (searched recursively)')
    .option('--json', 'print [{"file", "label", "probability", "top": [{"label", "probability"}], "faces": [{"box": [x, y, w, h], "score", "label", "probability", "top"}]}] as JSON (faces: every face, for models trained on face crops)')
    .option('--top <k>', 'also list the k most probable people', '1')
    .option('--threshold <p>', 'below this probability the label is "unknown" (measured default; for strangers use a gallery: facegpu identify)', String(DEFAULT_THRESHOLD))
    .option('--backbone <name|dir>', 'backbone (default: the one the model was trained on)')
    .option('--batch-size <n>', 'images per forward pass', '16')
    .action((modelDir: string, images: string[], opts: PredictCliOptions) => predictCommand(modelDir, images, { ...opts, adapter: program.opts().adapter }));
}

/** Files named, and the files under folders named (recursively, sorted, hidden ones left out). */
export async function expandImages(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new Error(`${p}: no such file or folder`);
    }
    if (!st.isDirectory()) {
      out.push(p);
      continue;
    }
    const entries = (await readdir(p, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
    out.push(...(await expandImages(entries.map((e) => join(p, e.name)))));
  }
  return out;
}

export async function predictCommand(modelDir: string, images: string[], opts: PredictCliOptions): Promise<void> {
  const top = numberOption('--top', opts.top, true);
  const threshold = numberOption('--threshold', opts.threshold);
  if (threshold < 0 || threshold > 1) throw new Error(`--threshold must be a probability in [0, 1], got ${threshold}`);
  const files = await expandImages(images);
  if (!files.length) throw new Error(`no image files in ${images.join(', ')}`);
  // The model says which backbone it needs; load() then checks its weights' hash.
  const meta = await readModelMeta(modelDir);
  const { gpu, engine } = await openEngine({ backbone: opts.backbone ?? meta.backbone.id, adapter: opts.adapter });
  try {
    const classifier = await load(modelDir, { gpu, engine });
    const { predictions, skipped } = await predict(classifier, files, {
      top,
      threshold,
      batchSize: numberOption('--batch-size', opts.batchSize, true),
      onSkip: (s) => console.error(`facegpu: warning: skipped ${s.reason}`),
      onNoFace: (f) => console.error(`facegpu: warning: ${f}: no face found`),
    });
    if (!predictions.length) throw new Error(`none of the ${files.length} images could be read`);
    if (opts.json) process.stdout.write(JSON.stringify(predictions) + '\n');
    else for (const p of predictions) printPrediction(p, top);
    if (skipped.length) process.exitCode = 2;
  } finally {
    engine.destroy();
    gpu.destroy();
  }
}

function printPrediction(p: FilePrediction, top: number): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (!p.faces) {
    console.log(`${p.file}: ${p.label} ${pct(p.probability)}`);
    if (top > 1) p.top.forEach((g, i) => console.log(`  ${i + 1}. ${g.label} ${pct(g.probability)}`));
    return;
  }
  console.log(`${p.file}: ${p.faces.length ? `${p.faces.length} face${p.faces.length > 1 ? 's' : ''}` : 'no face'}`);
  for (const f of p.faces) {
    console.log(`  [${f.box.map((v) => Math.round(v)).join(', ')}] ${f.label} ${pct(f.probability)}`);
    if (top > 1) f.top.forEach((g, i) => console.log(`    ${i + 1}. ${g.label} ${pct(g.probability)}`));
  }
}
