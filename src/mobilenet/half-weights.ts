// Float16 copies of the stem and pointwise weights that are exactly float16 (see
// Tuning.halfWeights): the default face backbone ships its weights in float16, so on it this
// is lossless, and the subgroup and tiled kernels then load half as many words
// (shaders/weight_block.wgsl).
// Layers with any value that float16 does not hold exactly (float32-trained models) keep their
// float32 weights. Depthwise taps are not worth it: the strip kernel loads them once per strip.
import { TENSOR_ALIGN, type Backbone } from '../weights/format.ts';
import { packFloat16PairsExact } from '../weights/half.ts';
import type { ConvKind } from '../weights/spec.ts';
import type { Tuning } from '../kernels/common.ts';

/**
 * Whether a layer's kernel under tuning `t` reads float16 pairs where its weights are exactly
 * float16: the subgroup stem, the subgroup pointwise and the tiled pointwise (alone or fused
 * with its depthwise); the portable kernels and the 8-bit RGB stem (whose weights are read
 * once per tile at constant indices, broadcast to every lane) read float32 only.
 */
export function readsHalfWeights(kind: ConvKind, t: Tuning): boolean {
  if (!t.halfWeights) return false;
  if (kind === 'stem') return t.subgroup > 0 && t.stemRgb8 === 0;
  if (kind === 'pointwise') return t.gemm > 0 || t.subgroup > 0;
  return false;
}

/**
 * The float16 pairs of a layer's weights where its kernel reads them under any of `tunings`
 * (each tuning it may run under, or each candidate the tuner times), or null where none does
 * (or the weights are not exactly float16).
 */
export function halfWeightsOf(kind: ConvKind, weights: Float32Array, tunings: readonly Tuning[]): Uint32Array | null {
  return tunings.some((t) => readsHalfWeights(kind, t)) ? packFloat16PairsExact(weights) : null;
}

export interface HalfWeights {
  /** All packed layers, each at a TENSOR_ALIGN-aligned offset. */
  data: Uint8Array;
  /** Per layer name: where its packed weights are in `data`. */
  ranges: Map<string, { offset: number; bytes: number }>;
}

/** `tuningsOf(layer)`: every tuning the layer's kernel may run under (one per tuned batch size); a copy is made where any of them reads float16. */
export function halfWeightLayers(backbone: Backbone, tuningsOf: (layer: string) => readonly Tuning[]): HalfWeights {
  const packed: { name: string; words: Uint32Array; offset: number }[] = [];
  let size = 0;
  for (const l of backbone.manifest.layers) {
    const words = halfWeightsOf(l.kind, new Float32Array(backbone.data, l.weights.offset, l.weights.bytes / 4), tuningsOf(l.name));
    if (!words) continue;
    const offset = Math.ceil(size / TENSOR_ALIGN) * TENSOR_ALIGN;
    packed.push({ name: l.name, words, offset });
    size = offset + words.byteLength;
  }
  const data = new Uint8Array(Math.max(size, 16));
  const ranges = new Map<string, { offset: number; bytes: number }>();
  for (const p of packed) {
    data.set(new Uint8Array(p.words.buffer), p.offset);
    ranges.set(p.name, { offset: p.offset, bytes: p.words.byteLength });
  }
  return { data, ranges };
}
