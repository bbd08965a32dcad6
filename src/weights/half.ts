// IEEE 754 half -> single precision, for tfjs models whose weights are stored as float16.
export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The float16 bits of `v` when float16 holds it exactly (zero, normal and subnormal values),
 * else null: no rounding ever happens here.
 */
export function float32ToFloat16Exact(v: number): number | null {
  f32[0] = v;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  if ((bits & 0x7fffffff) === 0) return sign;
  const e = ((bits >>> 23) & 0xff) - 127;
  const m = bits & 0x7fffff;
  if (e >= -14 && e <= 15) return (m & 0x1fff) === 0 ? sign | ((e + 15) << 10) | (m >>> 13) : null;
  if (e >= -24 && e < -14) {
    // Subnormal half: value = frac * 2^-24, frac = (1.m as an integer) * 2^(e + 1) must be whole.
    const full = 0x800000 | m;
    const shift = -(e + 1);
    return (full & ((1 << shift) - 1)) === 0 ? sign | (full >>> shift) : null;
  }
  return null; // too large, too small, NaN or infinite
}

/**
 * `values` as float16 pairs, two per 32-bit word (element 2k in the low half, as WGSL's
 * unpack2x16float reads it), or null when any value is not exactly a float16.
 */
export function packFloat16PairsExact(values: Float32Array): Uint32Array | null {
  const out = new Uint32Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    const h = float32ToFloat16Exact(values[i]);
    if (h === null) return null;
    out[i >> 1] |= i & 1 ? h << 16 : h;
  }
  return out;
}
