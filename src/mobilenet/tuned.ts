// Per-layer kernel choices made by measuring (src/tune/): for each tuned batch size, each
// distinct layer shape of the backbone gets the Tuning fields of its kernel. The engine merges
// a layer's choice over the device's hand-picked tuning; without a tuning it uses the
// hand-picked one for every layer, as before. Kept in the engine layer (plain data, no GPU)
// so that the engine does not depend on the tuner.
import type { ImageShape, Tuning } from '../kernels/common.ts';

/** The Tuning fields that decide each kind's kernel and tiling (everything else is unused by it). */
export const CHOICE_FIELDS = {
  stem: ['subgroup', 'wg', 'sgWg', 'stemPixels', 'halfWeights', 'stemRgb8'],
  depthwise: ['subgroup', 'wg', 'dwRows', 'dwCols', 'dwCols2', 'dwWg', 'dwTile', 'dwTileW', 'dwTileH', 'dwTileRows'],
  pointwise: ['subgroup', 'pwWg', 'pwPixels', 'pwChannels', 'sgWg', 'sgPixels', 'halfWeights', 'gemm', 'gemmRP', 'gemmRC', 'gemmF16', 'dwFuse'],
} as const satisfies Record<string, readonly (keyof Tuning)[]>;

export type LayerKind = keyof typeof CHOICE_FIELDS;

/** One layer shape's kernel: a subset of CHOICE_FIELDS[kind]. */
export type LayerChoice = Partial<Tuning>;

/** Kernel choices per tuned batch size ("1", "8") and per layer shape key (layerShapeKey). */
export interface TunedKernels {
  batches: Record<string, Record<string, LayerChoice>>;
}

/** A batch-independent name of a layer's shape, e.g. "pointwise 14x14x512->512 s1". */
export function layerShapeKey(kind: string, inp: ImageShape, cout: number, stride: number): string {
  return `${kind} ${inp.h}x${inp.w}x${inp.c}->${cout} s${stride}`;
}

/** The tuned batch size whose choices serve a batch of n: the nearest on a log scale (the smaller on a tie). */
export function nearestTunedBatch(tuned: TunedKernels, n: number): string {
  let best = '';
  let dist = Infinity;
  for (const b of Object.keys(tuned.batches).sort((x, y) => Number(x) - Number(y))) {
    const d = Math.abs(Math.log(Number(b) / n));
    if (d < dist - 1e-9) [best, dist] = [b, d];
  }
  return best;
}

const TYPES: Record<string, 'int' | 'bool'> = { halfWeights: 'bool' };

/**
 * Check a tuning (read from disk or IndexedDB: anything may be in it) against the backbone's
 * layer shapes: every batch has a choice for every shape, and every choice holds only its
 * kind's fields with whole (or boolean) values. Throws one line naming what is wrong.
 */
export function checkTunedKernels(tuned: TunedKernels, shapes: readonly { key: string; kind: LayerKind }[], where: string): void {
  const batches = Object.keys(tuned?.batches ?? {});
  if (!batches.length) throw new Error(`${where}: the tuning has no batch sizes`);
  for (const b of batches) {
    if (!/^[1-9]\d*$/.test(b)) throw new Error(`${where}: tuned batch size "${b}" is not a positive integer`);
    const choices = tuned.batches[b];
    for (const { key, kind } of shapes) {
      const c = choices?.[key];
      if (!c) throw new Error(`${where}: the tuning for batch ${b} has no kernel for layer shape "${key}" (tuned for another backbone?)`);
      const allowed = new Set<string>(CHOICE_FIELDS[kind]);
      for (const [field, v] of Object.entries(c)) {
        if (!allowed.has(field)) throw new Error(`${where}: batch ${b}, "${key}": "${field}" is not a ${kind} kernel setting`);
        const ok = TYPES[field] === 'bool' ? typeof v === 'boolean' : Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;
        if (!ok) throw new Error(`${where}: batch ${b}, "${key}": ${field}=${JSON.stringify(v)} is not a valid value`);
      }
    }
  }
}
