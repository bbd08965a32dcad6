// Calibration maths: from similarity scores to thresholds and error rates. Pure functions,
// platform-neutral. Which comparisons give the scores (genuine, impostor, leave-one-out) is
// in pair-scores.ts; the record a gallery stores is in calibration-record.ts.
//
// Conventions, used everywhere in src/gallery:
// - A comparison is ACCEPTED when similarity >= threshold.
// - Similarities are float32 values (Math.fround of the inner product of two float32 unit
//   vectors), so "the smallest threshold" is well defined: the next float32 above a score.
// - FAR(s) = share of impostor scores >= s; TAR(s) = share of genuine scores >= s;
//   FRR(s) = 1 - TAR(s).

export { templateOf } from './pair-scores.ts';

/**
 * Scores as a gallery keeps them: exactly when there are few, otherwise the largest ones
 * exactly (they decide the thresholds of small FARs) and the others as evenly spaced order
 * statistics (quantiles), each standing for (total - misses - top.length) / rest.length scores.
 */
export interface ScoreSample {
  /** How many comparisons this stands for, misses included. */
  total: number;
  /** Comparisons that are never accepted whatever the threshold (identify: the best match was
   *  another person); counted in `total`, not listed. */
  misses: number;
  /** The largest scores, exactly, ascending. */
  top: number[];
  /** Evenly spaced order statistics of the remaining scores (all <= top[0]), ascending; empty
   *  when every score is in `top`. */
  rest: number[];
}

/** Default cap on the values kept per sample (half exact top, half quantiles). */
export const SAMPLE_CAP = 100_000;

/** The next float32 above x: the smallest threshold that rejects a score equal to x. */
export function nextUp32(x: number): number {
  const f = Math.fround(x);
  if (f > x) return f;
  if (f === Infinity || Number.isNaN(f)) return f;
  const buf = new Float32Array([f]);
  const bits = new Int32Array(buf.buffer);
  if (f === 0) bits[0] = 1; // +0 and -0: the smallest positive subnormal
  else if (f > 0) bits[0] += 1;
  else bits[0] -= 1;
  return buf[0];
}

/** Keep scores deterministically: all when at most `cap`, else the top cap/2 exactly + cap/2 quantiles. */
export function sampleScores(values: ArrayLike<number>, opts: { cap?: number; misses?: number } = {}): ScoreSample {
  const cap = Math.max(4, opts.cap ?? SAMPLE_CAP);
  const misses = opts.misses ?? 0;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const n = sorted.length;
  if (n <= cap) return { total: n + misses, misses, top: Array.from(sorted), rest: [] };
  const nTop = Math.floor(cap / 2);
  const nRest = cap - nTop;
  const lower = n - nTop;
  const rest = new Array<number>(nRest);
  for (let j = 0; j < nRest; j++) rest[j] = sorted[Math.round((j * (lower - 1)) / (nRest - 1))];
  return { total: n + misses, misses, top: Array.from(sorted.subarray(lower)), rest };
}

function isSample(x: ArrayLike<number> | ScoreSample): x is ScoreSample {
  return typeof (x as ScoreSample).total === 'number' && Array.isArray((x as ScoreSample).top);
}

/** Any list of scores (any order) or a sample, as a sample. */
export function asSample(x: ArrayLike<number> | ScoreSample): ScoreSample {
  return isSample(x) ? x : sampleScores(x, { cap: Infinity });
}

/** First index of a sorted array whose value is >= s. */
function lowerBound(a: ArrayLike<number>, s: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of the comparisons are accepted at threshold s (estimated where sampled). */
export function countAtOrAbove(sample: ScoreSample, s: number): number {
  const top = sample.top.length - lowerBound(sample.top, s);
  if (!sample.rest.length) return top;
  const weight = (sample.total - sample.misses - sample.top.length) / sample.rest.length;
  return top + (sample.rest.length - lowerBound(sample.rest, s)) * weight;
}

/** Comparisons behind a figure. */
export const pairsOf = (x: ArrayLike<number> | ScoreSample): number => (isSample(x) ? x.total : x.length);

/**
 * The smallest threshold s with FAR(s) = share of impostor scores >= s at most `far`.
 * With N impostor scores at most m = floor(far * N) may be accepted, so s is the next float32
 * above the (m+1)-th highest score: TIE RULE: impostors tied with that score are all rejected
 * (the achieved FAR can be below `far` when scores tie). far >= 1 accepts everything: -1.
 * From a sample, beyond its exact top the (m+1)-th highest is read conservatively (the
 * quantile at or above it), so the achieved FAR stays <= far up to the sampling.
 */
export function thresholdForFar(impostors: ArrayLike<number> | ScoreSample, far: number): number {
  if (!(far > 0)) throw new Error(`thresholdForFar: FAR must be > 0, got ${far}`);
  const s = asSample(impostors);
  const n = s.total;
  if (n === 0) throw new Error('thresholdForFar: no impostor scores (a threshold for a FAR needs impostor pairs)');
  const m = Math.floor(far * n + 1e-9);
  if (m >= n) return -1;
  // Misses (only ever in genuine samples) are never accepted: none in impostors in practice.
  if (m < s.top.length || !s.rest.length) {
    const i = s.top.length - 1 - m;
    return i >= 0 ? nextUp32(s.top[i]) : -1;
  }
  const lower = n - s.misses - s.top.length; // scores the quantiles stand for
  const rank = m - s.top.length; // 0: the highest of the lower part
  const index = lower - 1 - rank; // its index in the lower part, ascending
  if (index < 0) return -1;
  const j = lower > 1 ? Math.ceil((index * (s.rest.length - 1)) / (lower - 1)) : 0;
  return nextUp32(s.rest[Math.min(j, s.rest.length - 1)]);
}

/** TAR at threshold s: share of genuine comparisons with similarity >= s (misses never). */
export function tarAt(genuine: ArrayLike<number> | ScoreSample, s: number): number {
  const g = asSample(genuine);
  if (g.total === 0) throw new Error('tarAt: no genuine scores');
  return countAtOrAbove(g, s) / g.total;
}

/** FAR at threshold s: share of impostor comparisons with similarity >= s. */
export function farAt(impostors: ArrayLike<number> | ScoreSample, s: number): number {
  const i = asSample(impostors);
  if (i.total === 0) throw new Error('farAt: no impostor scores');
  return countAtOrAbove(i, s) / i.total;
}

/**
 * Equal error rate: where FAR(s) = FRR(s). Both are step functions of s; they are evaluated at
 * every distinct score (plus s = -inf and +inf) and the crossing is interpolated linearly
 * between the two neighbouring thresholds where FAR - FRR changes sign. `threshold` is the
 * threshold interpolated the same way (the upper one when the lower is -inf).
 */
export function eer(genuine: ArrayLike<number> | ScoreSample, impostors: ArrayLike<number> | ScoreSample): { eer: number; threshold: number; genuinePairs: number; impostorPairs: number } {
  const g = asSample(genuine);
  const im = asSample(impostors);
  if (g.total === 0 || im.total === 0) throw new Error(`eer: needs genuine and impostor scores (got ${g.total} and ${im.total})`);
  const candidates = Float64Array.from([...g.top, ...g.rest, ...im.top, ...im.rest]).sort();
  const pairs = { genuinePairs: g.total, impostorPairs: im.total };
  let prevS = -Infinity;
  let prevFar = 1;
  let prevFrr = g.misses / g.total;
  if (prevFar - prevFrr <= 0) return { eer: prevFar, threshold: -1, ...pairs };
  const evaluate = (s: number) => ({ far: countAtOrAbove(im, s) / im.total, frr: 1 - countAtOrAbove(g, s) / g.total });
  for (let i = 0; i <= candidates.length; i++) {
    if (i < candidates.length && i > 0 && candidates[i] === candidates[i - 1]) continue;
    const s = i < candidates.length ? candidates[i] : Infinity;
    const { far, frr } = i < candidates.length ? evaluate(s) : { far: 0, frr: 1 };
    const d = far - frr;
    if (d <= 0) {
      const d0 = prevFar - prevFrr;
      const t = d0 / (d0 - d); // in (0, 1]
      const rate = prevFar + t * (far - prevFar);
      const threshold = prevS === -Infinity ? s : s === Infinity ? prevS : prevS + t * (s - prevS);
      return { eer: rate, threshold, ...pairs };
    }
    prevS = s;
    prevFar = far;
    prevFrr = frr;
  }
  throw new Error('eer: unreachable'); // at s = +inf FAR - FRR = -1
}

/**
 * The rule of ten: a FAR is supported by N impostor pairs when N >= 10 / FAR, so that about ten
 * impostors (or more) lie at or above its threshold. With fewer, the threshold is set by a
 * handful of scores and the real FAR may be several times the stated one.
 */
export function supported(far: number, nImpostor: number): boolean {
  return nImpostor * far >= 10 - 1e-9;
}

export interface RocPoint {
  threshold: number;
  tar: number;
  /** The FAR achieved at `threshold` (<= the one asked for; lower when scores tie). */
  far: number;
  genuinePairs: number;
  impostorPairs: number;
  /** supported(far asked, impostorPairs). */
  supported: boolean;
}

/** One point of the ROC: the threshold for a FAR and the TAR it gives. */
export function tarAtFar(genuine: ArrayLike<number> | ScoreSample, impostors: ArrayLike<number> | ScoreSample, far: number): RocPoint {
  const g = asSample(genuine);
  const im = asSample(impostors);
  const threshold = thresholdForFar(im, far);
  return {
    threshold,
    tar: g.total ? tarAt(g, threshold) : NaN,
    far: farAt(im, threshold),
    genuinePairs: g.total,
    impostorPairs: im.total,
    supported: supported(far, im.total),
  };
}
