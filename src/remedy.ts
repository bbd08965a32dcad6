// Errors whose remedy a front end words in its own terms. The library's message says what is
// wrong and what a caller of the library can do about it, in the library's terms (its
// functions, options and files); `hint` says which case it is, with what a front end needs to
// give its own remedy instead: the CLI names its flags and commands (src/cli/remedies.ts).
// Library code never names the CLI's flags or commands (test/library-flags.test.ts).

/** The cases a front end may word itself, each with what its remedy needs. */
export type RemedyHint =
  /** No gallery at `dir`: enroll people first. */
  | { case: 'no-gallery'; dir: string }
  /** The gallery at `dir` has no such person: list its people. */
  | { case: 'no-person'; dir: string }
  /** The gallery at `dir` has nobody named in it yet: name a cluster of its photo library. */
  | { case: 'nobody-named'; dir: string }
  /** The photo library at `dir` has no such cluster: list the clusters. */
  | { case: 'no-cluster'; dir: string }
  /** The gallery at `dir` has no face of `person` from a photo named: list the person's photos. */
  | { case: 'no-photo'; dir: string; person: string }
  /** The photo library at `dir` has no face of such an id (its photo was indexed again since?): list a photo's faces. */
  | { case: 'no-face'; dir: string }
  /** No model at `dir`: train one. */
  | { case: 'no-model'; dir: string }
  /** `dir` holds something else than a model: a file, a gallery (identify against it) or another folder. */
  | { case: 'not-a-model'; dir: string; holds: 'file' | 'gallery' | 'folder' }
  /** No converted backbone at `dir`: convert one. */
  | { case: 'no-backbone'; dir: string }
  /** A model's backbone was not found: give its folder. */
  | { case: 'backbone-not-found' }
  /** A model trained on backbone `id` met another backbone: use that one, or train again. */
  | { case: 'other-backbone'; id: string }
  /** A backbone without a reference calibration and no gallery to calibrate with. */
  | { case: 'no-reference' }
  /** A saved tuning that does not fit: measure again. */
  | { case: 'tuning-damaged' }
  /** No face found in a photo whose faces under `below` pixels wide were not looked for: set minFace. */
  | { case: 'small-faces'; below: number }
  /** No photo under `root`, where the library has some (a drive not mounted?): allow an empty tree to remove them. */
  | { case: 'empty-tree'; root: string; gallery: string };

/**
 * An error with a remedy: `message` is `problem` followed by the library's remedy (which
 * starts with its own separator, e.g. "; " or " ("); a front end may print `problem` followed
 * by a remedy of its own for `hint` instead.
 */
export class RemedyError extends Error {
  constructor(
    /** What is wrong, naming the file or value (the message up to the remedy). */
    readonly problem: string,
    /** The library's remedy, with its separator (the rest of the message). */
    readonly remedy: string,
    readonly hint: RemedyHint,
  ) {
    super(`${problem}${remedy}`);
  }

  /** The same error told after `prefix` (where it happened): remedy and hint kept. */
  prefixed(prefix: string): RemedyError {
    return new RemedyError(prefix + this.problem, this.remedy, this.hint);
  }
}
