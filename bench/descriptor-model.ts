// A generative model of face descriptors, for benchmarking an index at sizes no photo set we
// have reaches (a million faces). Fitted to real, labelled descriptors as galleries store them
// (the backbone's output, `mean-l2` normalised: src/gallery/normalise.ts): identities are
// tight clusters, so the model has two Gaussian parts, each "top k principal directions +
// isotropic rest":
//
//   centre = mu + sum_k sqrt(lb_k) z_k u_k + sb g      (between identities)
//   face   = centre + sum_k sqrt(lw_k) z_k v_k + sw g  (within an identity)
//   stored = face / |face|                             (galleries store unit vectors)
//
// The rest of the variance beyond the top k directions is spread evenly over the remaining
// dimensions: 45 identities cannot say how it is shaped, and spreading it keeps identities
// apart in many dimensions as real ones are (a subspace of 44 would crowd them). The centres'
// spread is corrected for the within-identity noise their sample means carry.
//
// Everything drawn is seeded (src/train/prng.ts): the same seed gives the same vectors on any
// machine. Stored compactly (components as float16, base64) by scripts/fit-descriptor-model.ts
// into calibration/<backbone>.faces-model.json.
import { deriveSeed, Prng } from '../src/train/prng.ts';
import { gaussian } from '../src/gallery/synthetic.ts';
import { symmetricEigen } from './eigen.ts';
import { fromFloat16Base64, toFloat16Base64 } from './float16.ts';

export interface GaussianPart {
  /** Standard deviations along the components, largest first (k). */
  sd: number[];
  /** Unit components [k, dim], row-major. */
  components: Float32Array;
  /** Standard deviation per dimension of the isotropic rest. */
  residualSd: number;
}

/**
 * How much the within-identity spread varies (log-normal scale of the whole within part, mean
 * square 1): per identity (web photos of a celebrity spread twice as far as studio portraits)
 * and per face (a blurred or turned face lies further out).
 */
export interface SpreadScale {
  identitySd: number;
  faceSd: number;
}

export interface DescriptorModel {
  dim: number;
  spread: SpreadScale;
  /** Mean of the identity centres. */
  mu: Float32Array;
  between: GaussianPart;
  within: GaussianPart;
  /** What it was fitted to, for people reading the file. */
  source: string;
}

/** Top-k PCA of the rows of d [n, dim] (already centred) with dof degrees of freedom, + the rest as isotropic. */
function pcaPart(d: Float64Array, n: number, dim: number, k: number, dof: number, extraTrace = 0): GaussianPart {
  // Eigen of the Gram matrix (n x n) instead of the dim x dim covariance: n << dim here.
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += d[i * dim + t] * d[j * dim + t];
      g[i * n + j] = g[j * n + i] = s;
    }
  }
  const { values, vectors } = symmetricEigen(g, n);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += g[i * n + i];
  trace = trace / dof - extraTrace;
  const kk = Math.min(k, n - 1);
  const components = new Float32Array(kk * dim);
  const sd: number[] = [];
  let kept = 0;
  for (let c = 0; c < kk; c++) {
    const lambda = Math.max(values[c], 0);
    const row = new Float64Array(dim);
    for (let i = 0; i < n; i++) {
      const v = vectors[i * n + c];
      for (let t = 0; t < dim; t++) row[t] += v * d[i * dim + t];
    }
    const norm = Math.sqrt(row.reduce((a, b) => a + b * b, 0)) || 1;
    for (let t = 0; t < dim; t++) components[c * dim + t] = row[t] / norm;
    sd.push(Math.sqrt(lambda / dof));
    kept += lambda / dof;
  }
  return { sd, components, residualSd: Math.sqrt(Math.max(trace - kept, 0) / (dim - kk)) };
}

/**
 * Fit the model to unit descriptors x [n, dim] labelled by person (0..people-1): top kBetween
 * directions of the identity centres, top kWithin of the faces around their centre.
 */
export function fitDescriptorModel(x: Float32Array, dim: number, person: ArrayLike<number>, opts: { kBetween: number; kWithin: number; source: string }): DescriptorModel {
  const n = x.length / dim;
  const people = Math.max(...Array.from(person)) + 1;
  const count = new Float64Array(people);
  const centres = new Float64Array(people * dim);
  for (let i = 0; i < n; i++) {
    count[person[i]]++;
    for (let t = 0; t < dim; t++) centres[person[i] * dim + t] += x[i * dim + t];
  }
  for (let p = 0; p < people; p++) for (let t = 0; t < dim; t++) centres[p * dim + t] /= count[p];
  const within = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let t = 0; t < dim; t++) within[i * dim + t] = x[i * dim + t] - centres[person[i] * dim + t];
  const withinPart = pcaPart(within, n, dim, opts.kWithin, n - people);
  const mu = new Float64Array(dim);
  for (let p = 0; p < people; p++) for (let t = 0; t < dim; t++) mu[t] += centres[p * dim + t] / people;
  for (let p = 0; p < people; p++) for (let t = 0; t < dim; t++) centres[p * dim + t] -= mu[t];
  // A centre is the mean of count[p] noisy faces: its spread includes trace(W) / count[p].
  const withinTrace = withinPart.sd.reduce((a, s) => a + s * s, 0) + withinPart.residualSd ** 2 * (dim - withinPart.sd.length);
  const noise = (withinTrace * Array.from(count).reduce((a, c) => a + 1 / c, 0)) / people;
  const betweenPart = pcaPart(centres, people, dim, opts.kBetween, people - 1, noise);
  return { dim, spread: fitSpread(within, dim, person, count, withinPart), mu: Float32Array.from(mu), between: betweenPart, within: withinPart, source: opts.source };
}

/**
 * The log of each face's distance from its identity's centre (corrected for the centre being
 * the mean of count faces) = identity part + face part. The Gaussian alone already spreads
 * that log by its own amount (a chi distribution's): measured on faces drawn with scale 1 and
 * taken out of the per-face part.
 */
function fitSpread(within: Float64Array, dim: number, person: ArrayLike<number>, count: Float64Array, part: GaussianPart): SpreadScale {
  const n = within.length / dim;
  const logs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += within[i * dim + t] ** 2;
    logs[i] = 0.5 * Math.log((s * count[person[i]]) / (count[person[i]] - 1));
  }
  const people = count.length;
  const idMean = new Float64Array(people);
  for (let i = 0; i < n; i++) idMean[person[i]] += logs[i] / count[person[i]];
  let faceVar = 0;
  for (let i = 0; i < n; i++) faceVar += (logs[i] - idMean[person[i]]) ** 2;
  faceVar /= n - people;
  const grand = idMean.reduce((a, b) => a + b, 0) / people;
  const idVar = idMean.reduce((a, b) => a + (b - grand) ** 2, 0) / (people - 1) - (faceVar * Array.from(count).reduce((a, c) => a + 1 / c, 0)) / people;
  // The Gaussian's own spread of log|d|.
  const prng = new Prng(deriveSeed(0, 'spread-check'));
  const scratch = new Float32Array(dim);
  const d = new Float32Array(dim);
  const own: number[] = [];
  for (let i = 0; i < 2000; i++) {
    d.fill(0);
    addPart(part, prng, d, scratch);
    own.push(0.5 * Math.log(d.reduce((a, v) => a + v * v, 0)));
  }
  const ownMean = own.reduce((a, b) => a + b, 0) / own.length;
  const ownVar = own.reduce((a, b) => a + (b - ownMean) ** 2, 0) / (own.length - 1);
  return { identitySd: Math.sqrt(Math.max(idVar, 0)), faceSd: Math.sqrt(Math.max(faceVar - ownVar, 0)) };
}

/** Add sum_k sd_k z_k c_k + residualSd g to out (in place). */
function addPart(part: GaussianPart, prng: Prng, out: Float32Array, scratch: Float32Array, scale = 1): void {
  const dim = out.length;
  gaussian(prng, scratch, part.residualSd * scale);
  for (let t = 0; t < dim; t++) out[t] += scratch[t];
  const k = part.sd.length;
  const z = gaussian(prng, new Float32Array(k));
  for (let c = 0; c < k; c++) {
    const a = part.sd[c] * z[c] * scale;
    const o = c * dim;
    for (let t = 0; t < dim; t++) out[t] += a * part.components[o + t];
  }
}

/** Faces per identity in a photo library: many people seen a few times, a few seen often. */
export function facesPerPerson(prng: Prng): number {
  // log-normal, median 4, mean about 8, capped at 200.
  const r = Math.sqrt(-2 * Math.log(1 - prng.next())) * Math.cos(2 * Math.PI * prng.next());
  return Math.min(200, Math.max(1, Math.round(Math.exp(Math.log(4) + 1.2 * r))));
}

export interface Identity {
  centre: Float32Array;
  /** Multiplies the within-identity spread of its faces. */
  scale: number;
}

export class DescriptorSampler {
  private readonly scratch: Float32Array;
  private readonly z = new Float32Array(2);

  constructor(
    readonly model: DescriptorModel,
    readonly seed: number,
  ) {
    this.scratch = new Float32Array(model.dim);
  }

  /**
   * Identity p: its centre and the scale of its faces' spread (the same for a given seed and p,
   * whatever else is drawn).
   */
  identity(p: number, out = new Float32Array(this.model.dim)): Identity {
    out.set(this.model.mu);
    const prng = new Prng(deriveSeed(this.seed, 'centre', p));
    addPart(this.model.between, prng, out, this.scratch);
    const sd = this.model.spread.identitySd;
    return { centre: out, scale: Math.exp(sd * gaussian(prng, this.z)[0] - sd * sd) };
  }

  /** A face of that identity, unit length, written to out. */
  face(id: Identity, prng: Prng, out: Float32Array): Float32Array {
    out.set(id.centre);
    const sd = this.model.spread.faceSd;
    addPart(this.model.within, prng, out, this.scratch, id.scale * Math.exp(sd * gaussian(prng, this.z)[0] - sd * sd));
    let ss = 0;
    for (let t = 0; t < out.length; t++) ss += out[t] * out[t];
    const inv = 1 / Math.sqrt(ss);
    for (let t = 0; t < out.length; t++) out[t] *= inv;
    return out;
  }

  /**
   * A library of `faces` unit descriptors [faces, dim]: identity 0, 1, ... each with
   * facesPerPerson() faces (the last one cut to make the total). person[i] is row i's identity.
   */
  library(faces: number, onProgress?: (done: number) => void): { vectors: Float32Array; person: Int32Array; identities: number } {
    const dim = this.model.dim;
    const vectors = new Float32Array(faces * dim);
    const person = new Int32Array(faces);
    const counts = new Prng(deriveSeed(this.seed, 'counts'));
    const draws = new Prng(deriveSeed(this.seed, 'faces'));
    const centre = new Float32Array(dim);
    let p = 0;
    for (let row = 0; row < faces; p++) {
      const id = this.identity(p, centre);
      const m = Math.min(facesPerPerson(counts), faces - row);
      for (let f = 0; f < m; f++, row++) {
        this.face(id, draws, vectors.subarray(row * dim, (row + 1) * dim));
        person[row] = p;
        if (onProgress && row % 50000 === 0) onProgress(row);
      }
    }
    return { vectors, person, identities: p };
  }

  /** New faces (never stored) of identities drawn uniformly from 0..identities-1. */
  queries(count: number, identities: number): { vectors: Float32Array; person: Int32Array } {
    const dim = this.model.dim;
    const pick = new Prng(deriveSeed(this.seed, 'query-people'));
    const draws = new Prng(deriveSeed(this.seed, 'query-faces'));
    const vectors = new Float32Array(count * dim);
    const person = new Int32Array(count);
    const centre = new Float32Array(dim);
    for (let q = 0; q < count; q++) {
      person[q] = Math.floor(pick.next() * identities);
      this.face(this.identity(person[q], centre), draws, vectors.subarray(q * dim, (q + 1) * dim));
    }
    return { vectors, person };
  }
}

// --- on disk -----------------------------------------------------------------------------

export const MODEL_FORMAT = 'facegpu-descriptor-model';

interface PartJson {
  sd: number[];
  components: string;
  residualSd: number;
}

export interface DescriptorModelJson {
  format: typeof MODEL_FORMAT;
  version: 1;
  dim: number;
  source: string;
  spread: SpreadScale;
  /** Free-form extras the writer adds (backbone, normalisation, the fit check). */
  [extra: string]: unknown;
  mu: string;
  between: PartJson;
  within: PartJson;
}

const round = (v: number) => Number(v.toPrecision(5));
const partJson = (p: GaussianPart): PartJson => ({ sd: p.sd.map(round), components: toFloat16Base64(p.components), residualSd: round(p.residualSd) });

export function modelToJson(m: DescriptorModel, extra: Record<string, unknown> = {}): DescriptorModelJson {
  return { format: MODEL_FORMAT, version: 1, dim: m.dim, source: m.source, spread: { identitySd: round(m.spread.identitySd), faceSd: round(m.spread.faceSd) }, ...extra, mu: toFloat16Base64(m.mu), between: partJson(m.between), within: partJson(m.within) };
}

/** Read a model file's JSON, checked: a wrong file is one line naming it. */
export function modelFromJson(j: unknown, where: string): DescriptorModel {
  const r = j as Partial<DescriptorModelJson> | null;
  if (!r || r.format !== MODEL_FORMAT) throw new Error(`${where}: not a facegpu descriptor model (format "${MODEL_FORMAT}")`);
  if (r.version !== 1) throw new Error(`${where}: descriptor model version ${String(r.version)}, this facegpu reads 1`);
  const dim = r.dim;
  if (!Number.isInteger(dim) || (dim as number) <= 0) throw new Error(`${where}: "dim" must be a positive integer`);
  const part = (p: PartJson | undefined, name: string): GaussianPart => {
    if (!p || !Array.isArray(p.sd) || typeof p.components !== 'string' || typeof p.residualSd !== 'number') throw new Error(`${where}: "${name}" is missing or incomplete`);
    const components = fromFloat16Base64(p.components);
    if (components.length !== p.sd.length * (dim as number)) throw new Error(`${where}: "${name}.components" holds ${components.length} values, not ${p.sd.length} x ${dim}`);
    return { sd: p.sd, components, residualSd: p.residualSd };
  };
  const mu = typeof r.mu === 'string' ? fromFloat16Base64(r.mu) : new Float32Array(0);
  if (mu.length !== dim) throw new Error(`${where}: "mu" must hold ${dim} values`);
  const sp = r.spread;
  if (!sp || typeof sp.identitySd !== 'number' || typeof sp.faceSd !== 'number') throw new Error(`${where}: "spread" needs identitySd and faceSd`);
  return { dim: dim as number, spread: { identitySd: sp.identitySd, faceSd: sp.faceSd }, mu, between: part(r.between, 'between'), within: part(r.within, 'within'), source: String(r.source ?? '') };
}
