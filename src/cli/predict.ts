// facegpu predict <model-dir> <image-or-folder>...: the label and probability of each image.
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { extname, relative } from 'node:path';
import { isPhotoFile, PHOTO_EXTENSIONS, walkFiles } from '../fs-walk.ts';
import { openEngine } from '../open-engine-node.ts';
import { findBackbone } from '../backbones.ts';
import { warnIfUnfinished } from './model-notes.ts';
import { DEFAULT_THRESHOLD, load, predict, type FilePrediction } from '../train/index.ts';
import { readModelMeta } from '../train/model-dir-node.ts';
import { countOption, numberOption } from './number-options.ts';
import { counted, noneRead, oneLine, withoutFile } from './wording.ts';
import { fsWords } from '../fs-reason.ts';

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
    .option('--json', 'print [{"file", "label", "probability", "top": [{"label", "probability"}], "faces": [{"box": [x, y, w, h], "score", "label", "probability", "top"}]}] as JSON (faces: every face, for models trained on face crops; an unreadable file: {"file", "error"} in its place)')
    .option('--top <k>', 'also list the k most probable people', '1')
    .option('--threshold <p>', 'below this probability the label is "unknown" (measured default; for strangers use a gallery: facegpu identify)', String(DEFAULT_THRESHOLD))
    .option('--backbone <name|dir>', 'backbone (default: the one the model was trained on)')
    .option('--batch-size <n>', 'images per forward pass', '16')
    .action((modelDir: string, images: string[], opts: PredictCliOptions) => predictCommand(modelDir, images, { ...opts, adapter: program.opts().adapter }));
}

/** A path given on the command line that cannot be looked up, in one line naming it. */
export function cannotOpen(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  return new Error(`${path}: ${code === 'ENOTDIR' ? 'no such file or folder' : fsWords(err) ?? `cannot open (${code})`}`);
}

/**
 * Files named, whatever their names, and the photo files under folders named (recursively,
 * sorted, hidden ones left out; photos by extension, isPhotoFile, so that the sidecars and
 * notes beside them are not answered as unreadable photos). Links to files and folders are
 * followed alike, each real folder once; a link back into a folder being walked is a warning
 * naming it (stderr by default), not an error, and a link to a photo file that cannot be
 * followed (broken, a loop of links) is listed in its place, for the reader to answer as
 * unreadable. A path given that cannot be looked up is an error, or with `keepUnreadable`
 * kept as it is, for the caller to answer in its place (embed). Left-out files are never
 * silent when they are all a folder held: no file at all is an error naming the files left out
 * and the rule, and a folder named beside others that gave photos is a warning saying the same.
 */
export async function expandImages(paths: readonly string[], opts: { onWarning?: (message: string) => void; keepUnreadable?: boolean } = {}): Promise<string[]> {
  const onWarning = opts.onWarning ?? ((m: string) => console.error(`facegpu: warning: ${m}`));
  const visited = new Set<string>();
  const out: string[] = [];
  // Folders named that gave no photo, with the files they held (notes.txt, IMG_0001, a.cr2).
  const photoless: { folder: string; others: string[] }[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      if (opts.keepUnreadable) {
        out.push(p);
        continue;
      }
      throw cannotOpen(p, err);
    }
    if (!st.isDirectory()) {
      out.push(p);
      continue;
    }
    // A link inside that cannot be followed is answered in its place as unreadable, as a missing file given by name.
    const found = await walkFiles(p, { visited, onWarning, keepUnfollowable: true });
    const photos = found.filter(isPhotoFile);
    if (!photos.length) photoless.push({ folder: p, others: found });
    out.push(...photos);
  }
  if (!out.length) throw new Error(noPhotoFiles(photoless.map((f) => f.folder), photoless.flatMap((f) => f.others)));
  for (const f of photoless) if (f.others.length) onWarning(noPhotoFiles([f.folder], f.others));
  return out;
}

/**
 * Folders that gave no photo, and the files they held (left out by their names): said so, with
 * a few of those files and the rule, so that a folder of .raw files or of names without an
 * extension is not taken for an empty one.
 */
export function noPhotoFiles(folders: readonly string[], others: readonly string[]): string {
  const none = (what: string) => (folders.length === 1 ? `${folders[0]}: no ${what}` : `no ${what} in ${folders.join(', ')}`);
  if (!others.length) return none('files');
  // One folder: its files by their names in it, as the reader sees them listed.
  const name = (f: string) => (folders.length === 1 ? relative(folders[0], f) : f);
  const shown = others.slice(0, 3).map((f) => `${name(f)}${extname(f) ? '' : ' (no extension)'}`);
  return (
    `${none('photo files')} (${counted(others.length, 'other file')} left out: ${shown.join(', ')}${others.length > shown.length ? ', ...' : ''}; ` +
    `photos are taken from folders by extension: ${[...PHOTO_EXTENSIONS].join(', ')}; name a file to read it whatever its name)`
  );
}

export async function predictCommand(modelDir: string, images: string[], opts: PredictCliOptions): Promise<void> {
  const top = countOption('--top', opts.top);
  const threshold = numberOption('--threshold', opts.threshold);
  if (threshold < 0 || threshold > 1) throw new Error(`--threshold must be a probability in [0, 1], got ${threshold}`);
  const batchSize = countOption('--batch-size', opts.batchSize);
  const files = await expandImages(images);
  // The model says which backbone it needs; load() then checks its weights' hash. A path that
  // is not a model folder is told here, before the GPU is opened.
  const meta = await readModelMeta(modelDir);
  warnIfUnfinished(modelDir, meta);
  const { gpu, engine } = await openEngine({ backbone: opts.backbone ?? findBackbone(meta.backbone, modelDir), adapter: opts.adapter });
  try {
    const classifier = await load(modelDir, { gpu, engine });
    const { predictions, skipped } = await predict(classifier, files, {
      top,
      threshold,
      batchSize,
      onSkip: (s) => console.error(`facegpu: warning: skipped ${s.reason}`),
      onNoFace: (f) => console.error(`facegpu: warning: ${f}: no face found`),
    });
    if (opts.json) process.stdout.write(JSON.stringify(inPlace(files, predictions.map(rounded), skipped)) + '\n');
    else for (const p of predictions) printPrediction(p, top);
    // Every file was named as it failed; the line says that none is left.
    if (!predictions.length) console.error(`facegpu: ${noneRead(files, 'predicted')}`);
    if (skipped.length) process.exitCode = 2;
  } finally {
    engine.destroy();
    gpu.destroy();
  }
}

/**
 * Per-file results in the order of `files`, a skipped file as {"file", "error"} in its place
 * (JSON outputs never leave a file out silently).
 */
export function inPlace<T extends { file: string }>(files: readonly string[], results: readonly T[], skipped: readonly { id: string; reason: string }[]): (T | { file: string; error: string })[] {
  const byFile = new Map<string, T[]>();
  for (const r of results) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  const errors = new Map<string, string[]>();
  for (const s of skipped) errors.set(s.id, [...(errors.get(s.id) ?? []), withoutFile(s.reason, s.id)]);
  return files.flatMap((f): (T | { file: string; error: string })[] => {
    const r = byFile.get(f)?.shift();
    if (r) return [r];
    const e = errors.get(f)?.shift();
    return e !== undefined ? [{ file: f, error: e }] : [];
  });
}

/** As identify prints them: boxes to a tenth of a pixel, probabilities and scores to 1e-6. */
function rounded(p: FilePrediction): FilePrediction {
  const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
  const guesses = (top: FilePrediction['top']) => top.map((g) => ({ ...g, probability: r6(g.probability) }));
  return {
    ...p,
    probability: r6(p.probability),
    top: guesses(p.top),
    ...(p.faces && { faces: p.faces.map((f) => ({ ...f, box: f.box.map((v) => Math.round(v * 10) / 10) as typeof f.box, score: r6(f.score), probability: r6(f.probability), top: guesses(f.top) })) }),
  };
}

function printPrediction(p: FilePrediction, top: number): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (!p.faces) {
    console.log(`${oneLine(p.file)}: ${oneLine(p.label)} ${pct(p.probability)}`);
    if (top > 1) p.top.forEach((g, i) => console.log(`  ${i + 1}. ${oneLine(g.label)} ${pct(g.probability)}`));
    return;
  }
  console.log(`${oneLine(p.file)}: ${p.faces.length ? `${p.faces.length} face${p.faces.length > 1 ? 's' : ''}` : 'no face'}`);
  for (const f of p.faces) {
    console.log(`  [${f.box.map((v) => Math.round(v)).join(', ')}] ${oneLine(f.label)} ${pct(f.probability)}`);
    if (top > 1) f.top.forEach((g, i) => console.log(`    ${i + 1}. ${oneLine(g.label)} ${pct(g.probability)}`));
  }
}
