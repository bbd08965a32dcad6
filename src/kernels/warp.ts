// The face warp's op builder (shaders/warp_affine.wgsl): views of a photo through affine
// maps, written as packed RGB crops. The maps come from src/detect/align.ts; the FaceWarper
// that runs them is src/detect/warp.ts.
import type { OpDesc } from '../gpu/runner.ts';
import { grid1d } from './common.ts';

/** An output-to-source map: source = (a X + b Y + c, d X + e Y + f) (src/detect/align.ts's Affine). */
export interface AffineMap {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

/** Source pixels per output pixel: the longer of the two output axes' images. */
const scaleOf = (m: AffineMap) => Math.max(Math.hypot(m.a, m.d), Math.hypot(m.b, m.e));

/** Most taps per axis of the supersampling grid (8 x 8 = 64 bilinear samples per output pixel). */
export const MAX_TAPS = 8;
/** Floats per view in the shader's map buffer: a, b, c, d, e, f, taps, unused. */
export const MAP_FLOATS = 8;

/**
 * The supersampling grid of a map: taps x taps bilinear samples per output pixel, taps =
 * source pixels per output pixel rounded up (1 when the map enlarges), at most `cap`.
 */
export function tapsFor(m: AffineMap, cap = MAX_TAPS): number {
  return Math.min(cap, Math.max(1, Math.ceil(scaleOf(m) - 1e-6)));
}

/** The maps in the shader's layout (MAP_FLOATS per view), each with its grid of taps. */
export function packMaps(maps: readonly AffineMap[], cap = MAX_TAPS): Float32Array {
  const out = new Float32Array(Math.max(1, maps.length) * MAP_FLOATS);
  maps.forEach((m, i) => out.set([m.a, m.b, m.c, m.d, m.e, m.f, tapsFor(m, cap), 0], i * MAP_FLOATS));
  return out;
}

/** The warp kernel: `count` views of size x size from the width x height photo in `src`, written from word `outWord` of `dst`. */
export function warpOp(
  src: GPUBuffer | GPUBufferBinding,
  maps: GPUBuffer | GPUBufferBinding,
  dst: GPUBuffer | GPUBufferBinding,
  shape: { count: number; size: number; width: number; height: number; outWord?: number },
  wg = 64,
  maxPerDim = 65535,
): OpDesc {
  const { count, size, width, height, outWord = 0 } = shape;
  const words = Math.ceil((count * size * size * 3) / 4);
  return {
    label: `warp_affine [${count} x ${size}x${size} from ${width}x${height}]`,
    kernel: { shader: 'warp_affine', constants: { WG: wg } },
    uniforms: { words, out_word: outWord, size, count, width, height },
    storage: { src, maps, dst },
    // An invocation per 4 output pixels (3 words).
    workgroups: grid1d(Math.ceil(Math.ceil((count * size * size) / 4) / wg), maxPerDim),
  };
}

