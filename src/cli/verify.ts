// facegpu verify <a> <b> | --pairs <file>: are two photos' (largest) faces the same person?
import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { openEngine } from '../open-engine-node.ts';
import { openVerifier, peekGalleryBackbone } from '../identity/node.ts';
import { matchOptions, fmt, tellThreshold } from './match-options.ts';
import { counted, oneLine } from './wording.ts';
import { MIN_FACE_HELP, minFaceOption } from './number-options.ts';
import { cliMessage } from './remedies.ts';
import { cannotOpen } from './predict.ts';
import { fsReason } from '../fs-reason.ts';

interface VerifyCliOptions {
  pairs?: string;
  gallery?: string;
  far?: string;
  threshold?: string;
  minFace?: string;
  json?: boolean;
  adapter?: string;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('1:1 verification: are the largest faces of two photos the same person? (threshold for a false-accept rate)')
    .argument('[a]', 'first photo')
    .argument('[b]', 'second photo')
    .option('--pairs <file>', 'a file of pairs, one "pathA<TAB>pathB" per line (relative paths from the file\'s folder; answered as written)')
    .option('--gallery <dir>', 'take the calibration and face framing from this gallery (default: the backbone\'s reference)')
    .option('--far <f>', 'false-accept rate the threshold is chosen for (default 0.01)')
    .option('--threshold <s>', 'cosine similarity threshold given directly (instead of --far)')
    .option('--min-face <pixels>', MIN_FACE_HELP)
    .option('--json', 'print {"a", "b", "similarity", "same", "threshold"} (an array of them with --pairs) as JSON')
    .action((a: string | undefined, b: string | undefined, opts: VerifyCliOptions) => verifyCommand(a, b, { ...opts, adapter: program.opts().adapter }));
}

/** A pair of photos: the paths as given, and as read (relative paths from the pairs file's folder). */
interface PhotoPair {
  given: [string, string];
  read: [string, string];
}

/**
 * Pairs from a file: tab-separated, blank lines and # comments skipped; errors name the line.
 * Written as editors and spreadsheets save text: a byte-order mark, CRLF line ends, spaces
 * after a path or before a comment are not part of what is written (spaces inside a name are).
 */
export async function readPairs(file: string): Promise<PhotoPair[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`--pairs ${file}: cannot read (${fsReason(err)})`);
  }
  const base = dirname(file);
  const out: PhotoPair[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((line, i) => {
    const parts = pairFields(line);
    if (!parts) return;
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new Error(`${file}:${i + 1}: expected "pathA<TAB>pathB", got ${JSON.stringify(line)}`);
    out.push({ given: parts as [string, string], read: parts.map((p) => (isAbsolute(p) ? p : resolve(base, p))) as [string, string] });
  });
  if (!out.length) throw new Error(`${file}: no pairs`);
  return out;
}

/**
 * A pairs file's line as its fields, each without the whitespace around it (a trailing tab
 * too: invisible, so not an empty third field); null for a blank line or a comment.
 */
function pairFields(line: string): string[] | null {
  if (!line.trim() || line.trimStart().startsWith('#')) return null;
  return line.trimEnd().split('\t').map((f) => f.trim());
}

/** A pair's answer as the CLI gives it, the paths as given. */
export type PairAnswer = { a: string; b: string; error: string } | { a: string; b: string; similarity: number; same: boolean; threshold: number };

/**
 * A pair's line of text output. A pair without an answer has its line too, in its place, with
 * the error --json gives: lines match the pairs file's pairs one for one.
 */
export function pairLine(r: PairAnswer): string {
  if ('error' in r) return `${oneLine(r.a)}  ${oneLine(r.b)}: error (${oneLine(r.error)})`;
  return `${oneLine(r.a)}  ${oneLine(r.b)}: ${r.same ? 'same person' : 'different people'} (similarity ${fmt(r.similarity)}, threshold ${fmt(r.threshold)})`;
}

/** A photo named on the command line: there, and not a folder (one line naming it, otherwise). */
async function checkPhotoGiven(path: string): Promise<void> {
  const st = await stat(path).catch((err: unknown) => {
    throw cannotOpen(path, err);
  });
  if (st.isDirectory()) throw new Error(`${path}: a folder; verify compares two photos (or the pairs of --pairs <file>)`);
}

export async function verifyCommand(a: string | undefined, b: string | undefined, opts: VerifyCliOptions): Promise<void> {
  const match = matchOptions(opts);
  const minFace = opts.minFace === undefined ? undefined : minFaceOption(opts.minFace);
  let pairs: PhotoPair[];
  if (opts.pairs !== undefined) {
    if (a !== undefined) throw new Error('give two photos or --pairs <file>, not both');
    pairs = await readPairs(opts.pairs);
  } else {
    if (a === undefined || b === undefined) throw new Error('give two photos to compare, or --pairs <file>');
    // Told before the GPU starts, as identify and enroll tell a photo that is not there.
    for (const p of [a, b]) await checkPhotoGiven(p);
    pairs = [{ given: [a, b], read: [a, b] }];
  }
  const backbone = opts.gallery ? (await peekGalleryBackbone(opts.gallery)).id : 'face';
  const { gpu, engine } = await openEngine({ backbone, adapter: opts.adapter });
  try {
    const verifier = await openVerifier({ gpu, engine, gallery: opts.gallery, minFace });
    try {
      tellThreshold(verifier.gallery.gallery, 'verify', match, opts.gallery !== undefined);
      // Answered with each path as given (a pairs file's relative paths stay relative).
      // Errors in the CLI's words (a remedy naming its flag), without the error object.
      const answered = await verifier.verifyPairs(pairs.map((p) => p.read), match);
      const results = answered.map((r, i): PairAnswer => {
        const [a, b] = pairs[i].given;
        return 'error' in r ? { a, b, error: r.remedy ? cliMessage(r.remedy) : r.error } : { ...r, a, b };
      });
      const distinct = new Set(pairs.flatMap((p) => p.read)).size;
      console.error(`facegpu: ${counted(pairs.length, 'pair')} of ${counted(distinct, 'distinct photo')}, ${verifier.gallery.describer.times.images} read and described (each once)`);
      for (const r of results) if ('error' in r) console.error(`facegpu: warning: ${r.error}`);
      // A photo of several faces is compared by its largest: said once a photo, as given.
      const several = new Map<string, number>();
      answered.forEach((r, i) => 'faces' in r && pairs[i].given.forEach((file, k) => r.faces[k] > 1 && several.set(file, r.faces[k])));
      for (const [file, n] of several) console.error(`facegpu: ${file}: ${n} faces found; the largest compared`);
      const out = results.map((r) => ('error' in r ? r : { a: r.a, b: r.b, similarity: Math.round(r.similarity * 1e6) / 1e6, same: r.same, threshold: Math.round(r.threshold * 1e6) / 1e6 }));
      if (opts.json) process.stdout.write(JSON.stringify(opts.pairs !== undefined ? out : out[0]) + '\n');
      else for (const r of results) console.log(pairLine(r));
      if (results.some((r) => 'error' in r)) process.exitCode = 2;
    } finally {
      verifier.destroy();
    }
  } finally {
    engine.destroy();
    gpu.destroy();
  }
}
