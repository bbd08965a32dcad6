// Conversions between plain NHWC float arrays (what tfjs uses) and the engine's activation
// layout ([N, H, W, ceil(C/4)] vec4, padded channels zero), plus comparison helpers; the
// conversions are the benchmark's (bench/data.ts).
import { randomFloats } from '../../bench/data.ts';

export { fromVec4Layout, maxAbsDiff, toVec4Layout } from '../../bench/data.ts';

/** The padded channels of a vec4-layout tensor (must stay zero for the next layer). */
export function paddingValues(y: Float32Array, pixels: number, c: number): number[] {
  const c4 = Math.ceil(c / 4);
  const out: number[] = [];
  for (let p = 0; p < pixels; p++) for (let k = c; k < c4 * 4; k++) out.push(y[p * c4 * 4 + k]);
  return out;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export { cosine } from '../../src/gallery/pair-scores.ts';

/** Deterministic pseudo-random floats in [lo, hi) (mulberry32, the benchmark's generator). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return randomFloats(n, seed, lo, hi);
}
