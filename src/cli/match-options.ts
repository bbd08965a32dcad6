// Flags shared by identify and verify: the threshold, given directly or chosen for a
// false-accept rate from the gallery's calibration. Checked before any work.
import type { Gallery, MatchOptions } from '../gallery/gallery.ts';
import { numberOption } from './number-options.ts';

export const DEFAULT_FAR = 0.01;

export function matchOptions(opts: { far?: string; threshold?: string }): MatchOptions {
  if (opts.far !== undefined && opts.threshold !== undefined) throw new Error('give --far or --threshold, not both');
  if (opts.threshold !== undefined) {
    const threshold = numberOption('--threshold', opts.threshold);
    if (threshold < -1 || threshold > 1) throw new Error(`--threshold is a cosine similarity in [-1, 1], got ${threshold}`);
    return { threshold };
  }
  const far = opts.far === undefined ? DEFAULT_FAR : numberOption('--far', opts.far);
  if (!(far > 0 && far < 1)) throw new Error(`--far is a false-accept rate in (0, 1), e.g. 0.01, got ${far}`);
  return { far };
}

/** A similarity as the CLI prints it. */
export const fmt = (x: number, digits = 3) => x.toFixed(digits);

/**
 * With --far: say on stderr which threshold it gives and whose calibration it comes from, and
 * warn when that calibration's comparisons are too few to support it (the rule of ten).
 * Returns the threshold used (--threshold's, or --far's).
 */
export function tellThreshold(gallery: Gallery, kind: 'verify' | 'identify', match: MatchOptions): number {
  if (match.far === undefined) return match.threshold!;
  const t = gallery.thresholdFor(kind, match.far);
  const whose = { gallery: 'gallery', default: 'backbone default', 'gallery+default': "backbone default as a floor under the gallery's" }[t.source];
  console.error(`facegpu: --far ${match.far}: threshold ${fmt(t.threshold)} (${whose} calibration, ${t.impostorPairs} impostor comparisons)`);
  if (!t.supported) console.error(`facegpu: warning: ${t.impostorPairs} impostor comparisons are too few to support a false-accept rate of ${match.far} (needs ${Math.ceil(10 / match.far)}); enroll more people or photos`);
  // The default is measured on other people's photos: on people outside its set it let up to
  // twice the rate through (scripts/calibration-held-out.ts), and other kinds of photo differ.
  if (t.source === 'default') {
    console.error(
      `facegpu: warning: this threshold comes from the backbone's reference photos, not yours; with people it had not seen it let 0.6-1.8% of strangers through at --far 0.01 (calibration/README.md), and other kinds of photo may differ; ` +
        (kind === 'verify' ? 'for a rate to rely on, give --gallery <dir> of people photographed like yours' : 'enroll more people for a calibration of your own'),
    );
  }
  return t.threshold;
}
