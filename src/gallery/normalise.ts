// Descriptor normalisation: how a raw backbone descriptor becomes the unit vector that is
// stored, averaged into templates and compared by inner product (= cosine). The record is
// kept in the gallery (and in a default calibration), so enrolment, identification and
// calibration all apply exactly the same transform. Platform-neutral.
//
// Methods: 'l2' divides by the L2 norm; 'mean-l2' first subtracts a reference mean descriptor
// (computed on some data set, named by `source`): the backbone's descriptors share a large
// common component (all post-ReLU, all positive) which makes every pair look similar, and
// removing it spreads the cosines out. A future 'whiten' method (mean + a projection matrix)
// is one more member of the union and one more case below.

export type NormalisationRecord =
  | { method: 'l2' }
  | {
      method: 'mean-l2';
      /** The mean raw descriptor subtracted before L2 normalisation (dim numbers). */
      mean: number[];
      /** Where the mean comes from (data set, backbone), for people reading the gallery. */
      source: string;
    };

const METHODS = ['l2', 'mean-l2'];

/** Refuse a record this facegpu cannot apply, or one whose mean has the wrong size. */
export function checkNormalisation(rec: unknown, dim: number, where: string): asserts rec is NormalisationRecord {
  const r = rec as { method?: unknown; mean?: unknown; source?: unknown } | null;
  if (!r || typeof r !== 'object') throw new Error(`${where}: "normalisation" is missing`);
  if (r.method === 'l2') return;
  if (r.method === 'mean-l2') {
    if (!Array.isArray(r.mean) || r.mean.length !== dim || !r.mean.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new Error(`${where}: normalisation "mean-l2" needs "mean", ${dim} finite numbers (got ${Array.isArray(r.mean) ? `${r.mean.length} values` : typeof r.mean})`);
    }
    if (typeof r.source !== 'string') throw new Error(`${where}: normalisation "mean-l2" needs "source" (where the mean comes from)`);
    return;
  }
  throw new Error(`${where}: unknown normalisation method "${String(r.method)}" (this facegpu knows ${METHODS.join(', ')})`);
}

/** Two records that transform descriptors identically. */
export function sameNormalisation(a: NormalisationRecord, b: NormalisationRecord): boolean {
  if (a.method !== b.method) return false;
  if (a.method === 'mean-l2' && b.method === 'mean-l2') return a.mean.length === b.mean.length && a.mean.every((v, i) => Math.fround(v) === Math.fround(b.mean[i]));
  return true;
}

/** A short description for messages: "l2" or "mean-l2 (mean of <source>)". */
export function describeNormalisation(rec: NormalisationRecord): string {
  return rec.method === 'mean-l2' ? `mean-l2 (mean of ${rec.source})` : rec.method;
}

/**
 * Normalise a batch of raw descriptors [n, dim] into a new array. A descriptor whose norm is
 * zero (after mean subtraction) has no direction: that is an error, not a silent zero vector,
 * because a zero vector would match nobody and everybody equally.
 */
export function normalise(raw: Float32Array, dim: number, rec: NormalisationRecord): Float32Array {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`normalise: dimension must be a positive integer, got ${dim}`);
  if (raw.length % dim !== 0) throw new Error(`normalise: ${raw.length} values are not a whole number of ${dim}-d descriptors`);
  const out = new Float32Array(raw.length);
  let mean: Float32Array | null = null;
  if (rec.method === 'mean-l2') {
    if (rec.mean.length !== dim) throw new Error(`normalise: the mean has ${rec.mean.length} values, the descriptors ${dim}`);
    mean = Float32Array.from(rec.mean);
  } else if (rec.method !== 'l2') {
    throw new Error(`normalise: unknown method "${(rec as { method: string }).method}"`);
  }
  const n = raw.length / dim;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let ss = 0;
    for (let j = 0; j < dim; j++) {
      const v = mean ? raw[o + j] - mean[j] : raw[o + j];
      out[o + j] = v;
      ss += v * v;
    }
    if (!(ss > 0) || !Number.isFinite(ss)) {
      throw new Error(`normalise: descriptor ${i} has ${Number.isFinite(ss) ? 'zero norm' : 'non-finite values'}${mean ? ' after subtracting the mean' : ''}`);
    }
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < dim; j++) out[o + j] *= inv;
  }
  return out;
}
