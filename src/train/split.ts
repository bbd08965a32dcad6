// The seeded, stratified train/validation split of a folder of people (<dir>/<person>/*).
// Each person is split on its own: its files, sorted, are shuffled with a stream derived from
// the seed and the person's name, and the first round(n * fraction) are held back. So the
// split depends only on the seed and the file names: eval finds exactly the files that train
// held back, and adding a person does not move anyone else's files.
import { deriveSeed, Prng } from './prng.ts';

export interface LabeledFile {
  /** Path as the dataset lister gave it (relative to the data folder in saved models). */
  file: string;
  /** Index into the sorted class names. */
  label: number;
}

export interface Split {
  train: LabeledFile[];
  validation: LabeledFile[];
}

/** How many of n files a person holds back: at least one and at most n - 1 when n >= 2. */
export function heldBackCount(n: number, fraction: number): number {
  if (fraction <= 0 || n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
}

/** A validation fraction; `name` is how the caller's user gave it (the CLI: --validation-split). */
export function checkFraction(fraction: number, name = 'validationSplit'): void {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1) {
    throw new Error(`${name} must be a number in [0, 1), got ${fraction}`);
  }
}

/** Split `filesByClass` (class name -> file paths) per class; classes are taken in sorted order. */
export function stratifiedSplit(filesByClass: ReadonlyMap<string, readonly string[]>, fraction: number, seed: number): Split {
  checkFraction(fraction);
  const classes = [...filesByClass.keys()].sort();
  const out: Split = { train: [], validation: [] };
  classes.forEach((name, label) => {
    const files = [...filesByClass.get(name)!].sort();
    const order = new Prng(deriveSeed(seed, 'split', name)).shuffled(files);
    const held = new Set(order.slice(0, heldBackCount(files.length, fraction)));
    // Both lists stay in sorted order: only membership is random.
    for (const file of files) (held.has(file) ? out.validation : out.train).push({ file, label });
  });
  return out;
}
