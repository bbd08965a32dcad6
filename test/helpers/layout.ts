// Conversions between plain NHWC float arrays (what tfjs uses) and the engine's activation
// layout ([N, H, W, ceil(C/4)] vec4, padded channels zero), plus comparison helpers.

export function toVec4Layout(x: Float32Array, pixels: number, c: number): Float32Array {
  const c4 = Math.ceil(c / 4);
  const out = new Float32Array(pixels * c4 * 4);
  for (let p = 0; p < pixels; p++) for (let k = 0; k < c; k++) out[p * c4 * 4 + k] = x[p * c + k];
  return out;
}

export function fromVec4Layout(y: Float32Array, pixels: number, c: number): Float32Array {
  const c4 = Math.ceil(c / 4);
  const out = new Float32Array(pixels * c);
  for (let p = 0; p < pixels; p++) for (let k = 0; k < c; k++) out[p * c + k] = y[p * c4 * 4 + k];
  return out;
}

/** The padded channels of a vec4-layout tensor (must stay zero for the next layer). */
export function paddingValues(y: Float32Array, pixels: number, c: number): number[] {
  const c4 = Math.ceil(c / 4);
  const out: number[] = [];
  for (let p = 0; p < pixels; p++) for (let k = c; k < c4 * 4; k++) out.push(y[p * c4 * 4 + k]);
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** Deterministic pseudo-random floats in [lo, hi) (mulberry32). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}
