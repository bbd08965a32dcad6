// The CLI's words for what the library leaves to a front end: the remedy of a RemedyError
// (src/remedy.ts), given here with the flag or command a CLI user needs. One table, one entry
// per case (the compiler checks that none is missing); main.ts prints every error through
// cliMessage.
import { recoverDir } from '../atomic-fs.ts';
import { LibraryStore } from '../library/store-node.ts';
import { RemedyError, type RemedyHint } from '../remedy.ts';
import { facegpuCommand, shellWord } from './wording.ts';

type Remedies = { [C in RemedyHint['case']]: (hint: Extract<RemedyHint, { case: C }>) => string };

/** Each case's remedy, starting with its separator (it follows the error's problem). */
export const CLI_REMEDIES: Remedies = {
  'no-gallery': (h) => `: enroll people first (facegpu enroll ${shellWord(h.dir)} <photos>)`,
  'no-person': (h) => ` (see facegpu gallery list ${shellWord(h.dir)})`,
  'nobody-named': (h) => ` (name a cluster first: facegpu cluster ${shellWord(h.dir)}, then facegpu gallery name ${shellWord(h.dir)} <cluster> <person>)`,
  'no-cluster': (h) => ` (see facegpu cluster ${shellWord(h.dir)})`,
  'no-photo': (h) => ` (see ${facegpuCommand('gallery list', [h.dir, h.person])})`,
  'no-face': (h) => ` (a photo indexed again gets new face ids; see facegpu gallery faces ${shellWord(h.dir)} <photo>, or the ids on facegpu cluster --sheets)`,
  'no-model': (h) => ` (train one with \`facegpu train <data> --out ${h.dir}\`)`,
  'not-a-model': (h) => (h.holds === 'gallery' ? `: use facegpu identify ${shellWord(h.dir)} <photos>` : `${h.holds === 'file' ? ' (' : '; '}facegpu train <data> --out <folder> writes one)`),
  'no-backbone': (h) => `; run \`facegpu weights install\` (the face backbone; \`facegpu weights install imagenet\` for ImageNet's) or convert a model into it: \`facegpu weights convert <model.json> --out ${h.dir}\``,
  'backbone-not-found': () => '; pass its folder with --backbone <dir>',
  'other-backbone': (h) => `; use --backbone ${h.id} with the same weights, or train again`,
  'no-reference': () => ': give --gallery <dir> (a gallery made with this backbone brings its calibration)',
  'tuning-damaged': () => ' (run facegpu tune to measure again)',
  'small-faces': (h) => ` (in a photo this big, faces under ~${h.below} pixels wide are looked for only with --min-face <pixels>, which is slower)`,
  'empty-tree': (h) => `; if they were deleted, remove them from the library with ${facegpuCommand('index', [h.root], ['--gallery', h.gallery, '--allow-empty'])}`,
};

/** The CLI's remedy for a hint (with its separator). */
export function remedyOf<H extends RemedyHint>(hint: H): string {
  return (CLI_REMEDIES[hint.case] as (h: H) => string)(hint);
}

/** A thrown error as the CLI tells it (after "facegpu: "): a RemedyError's problem with the CLI's remedy. */
export function cliMessage(err: unknown): string {
  if (err instanceof RemedyError) return err.problem + remedyOf(err.hint);
  return err instanceof Error ? err.message : String(err);
}

/**
 * Refuse a gallery without a photo library, before any work, saying how to make one. A writer
 * killed between its two renames left the folder set aside: put back first (recoverDir), it
 * has its library.
 */
export async function checkLibrary(dir: string): Promise<void> {
  if (LibraryStore.exists(dir)) return;
  await recoverDir(dir);
  if (!LibraryStore.exists(dir)) throw new Error(`${dir}: no photo library here (index photos first: facegpu index <photos> --gallery ${dir})`);
}
