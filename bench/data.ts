// Benchmark inputs (seeded, so every run and every side sees the same numbers) and the
// conversions between tfjs's NHWC arrays and our vec4-padded activations.

/** A small seeded generator (mulberry32): uniform in [0, 1). */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomFloats(count: number, seed: number, lo: number, hi: number): Float32Array {
  const next = generator(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * next();
  return out;
}

/** `count` bytes of seeded noise, e.g. n packed RGB images. */
export function randomPixels(count: number, seed: number): Uint8Array {
  const next = generator(seed);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** [pixels, C] -> [pixels, ceil(C/4)] vec4, padding channels zero. */
export function toVec4Layout(x: Float32Array, pixels: number, channels: number): Float32Array {
  const c4 = Math.ceil(channels / 4);
  const out = new Float32Array(pixels * c4 * 4);
  for (let p = 0; p < pixels; p++) out.set(x.subarray(p * channels, (p + 1) * channels), p * c4 * 4);
  return out;
}

/** [pixels, ceil(C/4)] vec4 -> [pixels, C]. */
export function fromVec4Layout(y: Float32Array, pixels: number, channels: number): Float32Array {
  const c4 = Math.ceil(channels / 4);
  const out = new Float32Array(pixels * channels);
  for (let p = 0; p < pixels; p++) out.set(y.subarray(p * c4 * 4, p * c4 * 4 + channels), p * channels);
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`outputs differ in length: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN; // a NaN on either side is reported, not hidden
    if (d > m) m = d;
  }
  return m;
}
