// Seeded synthetic descriptors for tests and the index benchmark: people (or clusters) are
// random centres, their faces the centre plus noise, optionally all sharing a common component
// as the backbone's post-ReLU descriptors do. Deterministic from the seed (prng.ts), any platform.
import { deriveSeed, Prng } from '../train/prng.ts';

/** Standard normal numbers (Box-Muller). */
export function gaussian(prng: Prng, out: Float32Array, scale = 1): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - prng.next()));
    const a = 2 * Math.PI * prng.next();
    out[i] = r * Math.cos(a) * scale;
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(a) * scale;
  }
  return out;
}

/** Rows of x [n, dim] scaled to unit length, in place. */
export function unitRows(x: Float32Array, dim: number): Float32Array {
  for (let o = 0; o < x.length; o += dim) {
    let ss = 0;
    for (let j = o; j < o + dim; j++) ss += x[j] * x[j];
    const inv = 1 / Math.sqrt(ss);
    for (let j = o; j < o + dim; j++) x[j] *= inv;
  }
  return x;
}

export interface SyntheticFaces {
  /** Raw descriptors [n, dim] (not normalised). */
  descriptors: Float32Array;
  /** Each row's cluster (person), firstPerson.. */
  person: Int32Array;
  dim: number;
}

/**
 * `people` clusters of `perPerson` vectors each: centre (unit) + noise of norm about `noise`
 * + a common vector of norm `common` shared by everyone (0: none). Cluster c of a given seed
 * is the same whatever `perPerson`; `faceSeed` draws other faces of the same people, and
 * `firstPerson` other people (clusters firstPerson.. of the same seed, sharing its common part).
 */
export function syntheticFaces(opts: { seed: number; dim: number; people: number; perPerson: number; noise?: number; common?: number; faceSeed?: number; firstPerson?: number }): SyntheticFaces {
  const { dim, people, perPerson } = opts;
  const noise = opts.noise ?? 0.8;
  const common = opts.common ?? 0;
  const base = unitRows(gaussian(new Prng(deriveSeed(opts.seed, 'common')), new Float32Array(dim)), dim).map((v) => Math.abs(v) * common);
  const descriptors = new Float32Array(people * perPerson * dim);
  const person = new Int32Array(people * perPerson);
  const centre = new Float32Array(dim);
  const jitter = new Float32Array(dim);
  const faces = new Prng(deriveSeed(opts.seed, 'faces', opts.faceSeed ?? 0));
  const first = opts.firstPerson ?? 0;
  for (let p = 0; p < people; p++) {
    unitRows(gaussian(new Prng(deriveSeed(opts.seed, 'centre', first + p)), centre), dim);
    for (let f = 0; f < perPerson; f++) {
      const row = p * perPerson + f;
      gaussian(faces, jitter, noise / Math.sqrt(dim));
      for (let j = 0; j < dim; j++) descriptors[row * dim + j] = base[j] + centre[j] + jitter[j];
      person[row] = first + p;
    }
  }
  return { descriptors, person, dim };
}

/** Row i of x [n, dim] (a view). */
export const rowOf = (x: Float32Array, dim: number, i: number): Float32Array => x.subarray(i * dim, (i + 1) * dim);
