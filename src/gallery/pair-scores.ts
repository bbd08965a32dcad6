// Which comparisons calibrate what. Pure functions over normalised descriptors [n, dim]
// (float32 rows of unit length) and each face's person (0..people-1); platform-neutral.
//
// - templates: a person's template is the mean of their unit descriptors, re-normalised.
// - template pairs (what identify compares: a face against a person's template):
//   genuine  = each face against its own person's template computed WITHOUT that face
//              (leave-one-out; a person with one face gives no genuine pair);
//   impostor = each face against every OTHER person's template.
// - open-set identification (what a stranger faces in identify: the best wrong match):
//   impostor = for each face, the MAX similarity over all other people's templates;
//   genuine  = each face's leave-one-out similarity to its own template, provided that it
//              beats every other template (rank 1); otherwise a miss, which no threshold accepts.
// - face pairs (what verify compares: two single faces):
//   genuine  = two faces of the same person; impostor = two faces of different people.
//
// Work is bounded: beyond `maxPairs` comparisons a deterministic subset of the faces is used
// (one 1024-d comparison costs about a microsecond in JS; the default budget keeps a
// re-calibration near a second on one core).
import { deriveSeed, Prng } from '../train/prng.ts';

/** Inner product of rows a[ao..ao+dim) and b[bo..bo+dim), accumulated in double. */
export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < dim; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < dim; j++) s0 += a[ao + j] * b[bo + j];
  return s0 + s1 + s2 + s3;
}

/** The cosine of two vectors of any length (the tests' measure of agreement, too). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** The similarity every part of the gallery reports: the inner product, as a float32. */
export const similarity = (a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number => Math.fround(dot(a, ao, b, bo, dim));

/** Mean of the L2-normalised descriptors [n, dim], re-normalised. */
export function templateOf(descriptors: Float32Array, dim: number): Float32Array {
  if (descriptors.length === 0 || descriptors.length % dim !== 0) throw new Error(`templateOf: ${descriptors.length} values are not one or more ${dim}-d descriptors`);
  const sum = new Float64Array(dim);
  for (let o = 0; o < descriptors.length; o += dim) addUnit(sum, descriptors, o, dim);
  return unitOf(sum);
}

/** Add the unit vector of x[o..o+dim] to `sum`, times `weight` (-1 takes a face out of a template's sum). */
export function addUnit(sum: Float64Array, x: Float32Array, o: number, dim: number, weight = 1): void {
  const norm = Math.sqrt(dot(x, o, x, o, dim));
  if (!(norm > 0)) throw new Error('templateOf: a descriptor has zero norm');
  for (let j = 0; j < dim; j++) sum[j] += (weight * x[o + j]) / norm;
}

function unitOf(sum: Float64Array): Float32Array {
  let ss = 0;
  for (let j = 0; j < sum.length; j++) ss += sum[j] * sum[j];
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  const out = new Float32Array(sum.length);
  for (let j = 0; j < sum.length; j++) out[j] = sum[j] * inv;
  return out;
}

export interface Templates {
  /** [people, dim] unit templates (a person without faces: zeros). */
  templates: Float32Array;
  /** [people, dim] sums of the unit descriptors (for leave-one-out). */
  sums: Float64Array;
  counts: Int32Array;
}

export function templatesOf(x: Float32Array, person: ArrayLike<number>, people: number, dim: number): Templates {
  const sums = new Float64Array(people * dim);
  const counts = new Int32Array(people);
  const n = x.length / dim;
  for (let i = 0; i < n; i++) {
    const p = person[i];
    if (!(p >= 0 && p < people)) throw new Error(`templatesOf: face ${i} has person ${p}, not in 0..${people - 1}`);
    addUnit(sums.subarray(p * dim, (p + 1) * dim), x, i * dim, dim);
    counts[p]++;
  }
  const templates = new Float32Array(people * dim);
  for (let p = 0; p < people; p++) templates.set(unitOf(sums.subarray(p * dim, (p + 1) * dim)), p * dim);
  return { templates, sums, counts };
}

/**
 * Similarity of face i to its person's template without it: the direction of (sum - x_i).
 * For unit x: (x.S - 1) / sqrt(|S|^2 - 2 x.S + 1). null when the person has no other face.
 */
export function leaveOneOut(x: Float32Array, i: number, t: Templates, p: number, dim: number): number | null {
  if (t.counts[p] < 2) return null;
  const o = i * dim;
  const so = p * dim;
  let xs = 0;
  let ss = 0;
  let xx = 0;
  for (let j = 0; j < dim; j++) {
    const v = x[o + j];
    const s = t.sums[so + j];
    xs += v * s;
    ss += s * s;
    xx += v * v;
  }
  const norm = Math.sqrt(xx);
  const a = xs / norm; // u.S for the unit u = x / |x|
  const rest = ss - 2 * a + 1;
  return rest > 1e-12 ? Math.fround((a - 1) / Math.sqrt(rest)) : 0;
}

/** Deterministic subset of 0..n-1 (sorted), all when m >= n. */
export function subsetOf(n: number, m: number, label: string): number[] {
  if (m >= n) return Array.from({ length: n }, (_, i) => i);
  return new Prng(deriveSeed(0, 'calibration', label, n))
    .permutation(n)
    .slice(0, m)
    .sort((a, b) => a - b);
}

export interface TemplateScores {
  genuine: Float32Array;
  impostor: Float32Array;
  openSetGenuine: Float32Array;
  openSetImpostor: Float32Array;
  openSetMisses: number;
  /** Faces compared with the other templates (all, unless the budget was exceeded). */
  facesUsed: number;
}

/** Whether two people's faces make an impostor pair: always, or with `dataSet` (by person) only within one. */
const comparable = (dataSet: ArrayLike<number> | undefined, p: number, q: number) => !dataSet || dataSet[p] === dataSet[q];

export function templatePairScores(x: Float32Array, person: ArrayLike<number>, people: number, dim: number, opts: { maxPairs?: number; dataSet?: ArrayLike<number> } = {}): TemplateScores {
  const n = x.length / dim;
  const t = templatesOf(x, person, people, dim);
  const genuine: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = leaveOneOut(x, i, t, person[i], dim);
    if (g !== null) genuine.push(g);
  }
  const used = people < 2 ? [] : subsetOf(n, Math.max(1, Math.floor((opts.maxPairs ?? 1_000_000) / people)), 'template');
  const impostor: number[] = [];
  const openSetImpostor: number[] = [];
  const openSetGenuine: number[] = [];
  let misses = 0;
  for (const i of used) {
    const p = person[i];
    let best = -Infinity;
    for (let q = 0; q < people; q++) {
      if (q === p || !comparable(opts.dataSet, p, q)) continue;
      const s = similarity(x, i * dim, t.templates, q * dim, dim);
      impostor.push(s);
      if (s > best) best = s;
    }
    // A face whose data set has no other person meets no impostor.
    if (best === -Infinity) continue;
    openSetImpostor.push(best);
    const g = leaveOneOut(x, i, t, p, dim);
    if (g === null) continue;
    if (g > best) openSetGenuine.push(g);
    else misses++;
  }
  return { genuine: Float32Array.from(genuine), impostor: Float32Array.from(impostor), openSetGenuine: Float32Array.from(openSetGenuine), openSetImpostor: Float32Array.from(openSetImpostor), openSetMisses: misses, facesUsed: used.length };
}

export interface FaceScores {
  genuine: Float32Array;
  impostor: Float32Array;
  facesUsed: number;
}

export function facePairScores(x: Float32Array, person: ArrayLike<number>, dim: number, opts: { maxPairs?: number; dataSet?: ArrayLike<number> } = {}): FaceScores {
  const n = x.length / dim;
  const maxPairs = opts.maxPairs ?? 1_000_000;
  // m faces give m (m - 1) / 2 pairs.
  const m = Math.max(2, Math.floor((1 + Math.sqrt(1 + 8 * maxPairs)) / 2));
  const used = subsetOf(n, m, 'face');
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let a = 0; a < used.length; a++) {
    const i = used[a];
    for (let b = a + 1; b < used.length; b++) {
      const j = used[b];
      if (person[i] !== person[j] && !comparable(opts.dataSet, person[i], person[j])) continue;
      const s = similarity(x, i * dim, x, j * dim, dim);
      (person[i] === person[j] ? genuine : impostor).push(s);
    }
  }
  return { genuine: Float32Array.from(genuine), impostor: Float32Array.from(impostor), facesUsed: used.length };
}
