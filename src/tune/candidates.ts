// The kernels a layer shape may run, for the tuner to time: today's hand-picked choice for
// the device, the portable kernels, the subgroup / strip kernels over the tilings their
// shaders take as constants (or uniforms: the depthwise strip height), and the GPU-style
// workgroup-memory kernels (tiled pointwise, tiled depthwise) over tilings that fit the
// device. Every candidate is a kernel the op builders already build and test/tune.test.ts
// checks against the portable one.
import { CHOICE_FIELDS, type LayerChoice, type LayerKind } from '../mobilenet/tuned.ts';
import type { Tuning } from '../kernels/common.ts';
import { depthwisePointwiseFits } from '../kernels/depthwise-pointwise.ts';
import { depthwiseTiledFits, type WorkgroupLimits } from '../kernels/depthwise-tiled.ts';
import { stemRgb8Fits, stemTuningFor } from '../kernels/stem-rgb8.ts';

export interface LayerShapeInfo {
  /** layerShapeKey: e.g. "pointwise 14x14x512->512 s1". */
  key: string;
  kind: LayerKind;
  stride: number;
  /** Pointwise: every layer of this shape follows a depthwise layer, so the fused kernel is a candidate. */
  fusable?: boolean;
  /** Input and output channels, where known: a stem that does not fit the 8-bit RGB kernel (stemRgb8Fits) gets no such candidate. */
  cin?: number;
  cout?: number;
}

export interface Candidate {
  /** Short readable name, e.g. "pointwise_subgroup sg8 wg8 px4 f16". */
  name: string;
  choice: LayerChoice;
}

/** The fields of `t` that decide a kind's kernel (the hand-picked choice is this of the device's tuning). */
export function choiceOf(kind: LayerKind, t: Tuning, stride: number): LayerChoice {
  const portable: Record<LayerKind, (keyof Tuning)[]> = { stem: ['wg'], depthwise: ['wg'], pointwise: ['pwWg', 'pwPixels', 'pwChannels'] };
  const tiled: Record<LayerKind, (keyof Tuning)[]> = { stem: ['sgWg', 'stemPixels', 'halfWeights'], depthwise: ['dwRows', stride === 1 ? 'dwCols' : 'dwCols2', 'dwWg'], pointwise: ['sgWg', 'sgPixels', 'halfWeights'] };
  // The 8-bit RGB stem needs no subgroups; the other stems carry stemRgb8: 0 so that a choice
  // merged over a tuning that has it on selects them.
  if (kind === 'stem' && t.stemRgb8 > 0) return { stemRgb8: t.stemRgb8, stemPixels: t.stemPixels };
  if (kind === 'pointwise' && t.dwFuse > 0) return { subgroup: 0, gemm: t.gemm, gemmRP: t.gemmRP, gemmRC: t.gemmRC, halfWeights: t.halfWeights, gemmF16: t.gemmF16, dwFuse: 1 };
  if (kind === 'pointwise' && t.gemm > 0) return { subgroup: 0, gemm: t.gemm, gemmRP: t.gemmRP, gemmRC: t.gemmRC, halfWeights: t.halfWeights, gemmF16: t.gemmF16 };
  if (kind === 'depthwise' && t.dwTile > 0) return { subgroup: 0, dwTile: t.dwTile, dwTileW: t.dwTileW, dwTileH: t.dwTileH, dwTileRows: t.dwTileRows };
  const fields = (t.subgroup === 0 ? portable : tiled)[kind];
  const out: Record<string, number | boolean> = { subgroup: t.subgroup };
  for (const f of fields) if (CHOICE_FIELDS[kind].includes(f as never)) out[f] = t[f];
  if (kind === 'stem') out.stemRgb8 = 0;
  return out as LayerChoice;
}

export function candidateName(kind: LayerKind, c: LayerChoice): string {
  const sg = c.subgroup ?? 0;
  if (kind === 'stem' && c.stemRgb8) return `conv3x3_rgb8 wg${c.stemRgb8} px${c.stemPixels}`;
  if (kind === 'stem') return sg ? `conv3x3_subgroup sg${sg} wg${c.sgWg} px${c.stemPixels}${c.halfWeights ? ' f16' : ''}` : `conv3x3 wg${c.wg}`;
  if (kind === 'depthwise' && c.dwTile) return `depthwise3x3_tiled cg${c.dwTile} ${c.dwTileW}x${c.dwTileH} ry${c.dwTileRows}`;
  if (kind === 'depthwise') return sg ? `depthwise3x3_rows rows${c.dwRows} cols${c.dwCols ?? c.dwCols2} wg${c.dwWg}` : `depthwise3x3 wg${c.wg}`;
  if (c.dwFuse) return `depthwise_pointwise_tiled 8x8 px${c.gemmRP} ch${c.gemmRC} k${c.gemm}${c.halfWeights ? ' f16' : ''}${c.gemmF16 ? ' tile-f16' : ''}`;
  if (c.gemm) return `pointwise_tiled 8x8 px${c.gemmRP} ch${c.gemmRC} k${c.gemm}${c.halfWeights ? ' f16' : ''}${c.gemmF16 ? ' tile-f16' : ''}`;
  return sg ? `pointwise_subgroup sg${sg} wg${c.sgWg} px${c.sgPixels}${c.halfWeights ? ' f16' : ''}` : `pointwise wg${c.pwWg} px${c.pwPixels} ch${c.pwChannels}`;
}

/** WebGPU's default limits: what every device has (the tuner passes the device's own). */
export const DEFAULT_WORKGROUP_LIMITS: WorkgroupLimits = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 };

/**
 * Tilings of the workgroup-memory depthwise (channel groups, tile width x height, rows per
 * invocation), per stride. Those over the device's workgroup memory or invocation limits are
 * left out; the last of each list needs more workgroup memory than WebGPU's default 16 KiB.
 */
const DW_TILES: Record<1 | 2, [number, number, number, number][]> = {
  1: [[4, 8, 8, 1], [8, 4, 8, 2], [8, 8, 8, 2], [16, 4, 4, 1], [8, 8, 16, 4]],
  2: [[4, 4, 4, 1], [8, 4, 4, 2], [16, 2, 4, 2], [4, 8, 4, 1], [8, 8, 8, 4]],
};

/** Tilings of the tiled pointwise product and of the fused depthwise + pointwise: pixels x output groups per invocation, input groups per step. */
const GEMM_TILES: [number, number, number][] = [[4, 2, 4], [4, 4, 4], [2, 2, 8], [4, 1, 8]];

/** Whether a shape's stem can run as the 8-bit RGB kernel (true where the channels are not given). */
const rgb8Fits = (shape: LayerShapeInfo) => shape.kind === 'stem' && (shape.cin === undefined || shape.cout === undefined || stemRgb8Fits(shape.cin, shape.cout));

/**
 * The device's hand-picked tuning as it applies to a shape: without the 8-bit RGB stem where
 * the stem does not fit it (as the engine runs it).
 */
export function handPickedFor(shape: LayerShapeInfo, hand: Tuning): Tuning {
  return shape.kind === 'stem' && shape.cin !== undefined && shape.cout !== undefined ? stemTuningFor(hand, shape.cin, shape.cout) : hand;
}

/**
 * Candidates for one layer shape on a device whose hand-picked tuning is `hand`, hand-picked
 * first (handPickedFor). `hand.subgroup` > 0 means the device has subgroups of at least that many lanes.
 * Without subgroups the strip depthwise still runs (it uses none): its choices carry
 * subgroup 1, which selects it and is read by nothing else. `limits` (the device's) decide
 * which workgroup-memory tilings are candidates; default: WebGPU's default limits.
 * `features` (the device's): with `shader-f16` the tiled products are also tried with their
 * weight tile in float16 (Tuning.gemmF16).
 */
export function candidatesFor(shape: LayerShapeInfo, hand: Tuning, limits: WorkgroupLimits = DEFAULT_WORKGROUP_LIMITS, features: ReadonlySet<string> = new Set()): Candidate[] {
  const { kind, stride } = shape;
  const base = handPickedFor(shape, hand);
  const sg = base.subgroup;
  const list: Tuning[] = [base];
  const v = (o: Partial<Tuning>): Tuning => ({ ...base, ...o });
  if (kind === 'stem') {
    list.push(v({ subgroup: 0, wg: 64, stemRgb8: 0 }));
    if (sg > 0) {
      for (const m of [1, 8]) for (const px of [1, 2, 4]) list.push(v({ subgroup: sg, sgWg: sg * m, stemPixels: px, halfWeights: true, stemRgb8: 0 }));
      list.push(v({ subgroup: sg, sgWg: sg, stemPixels: 2, halfWeights: false, stemRgb8: 0 }));
    }
    // The stem that reads the 8-bit input itself (the others are charged the preprocessing it
    // does: src/tune/tuner.ts): on CPU adapters a workgroup of one SIMD batch with large tiles;
    // on GPUs 64 invocations whose accumulators (pixels x all output groups) fit in registers.
    if (rgb8Fits(shape)) for (const [wg, px] of [[8, 1], [8, 2], [8, 4], [8, 8], [64, 1], [64, 2]]) list.push(v({ stemRgb8: wg, stemPixels: px }));
  } else if (kind === 'depthwise') {
    list.push(v({ subgroup: 0, wg: 64 }), v({ subgroup: 0, wg: 32 }));
    const strip = sg || 1;
    const widths = stride === 1 ? [2, 4, 8] : [1, 2];
    for (const rows of [8, 32]) for (const cols of widths) for (const wg of [8, 32]) list.push(v({ subgroup: strip, dwRows: rows, dwCols: stride === 1 ? cols : base.dwCols, dwCols2: stride === 1 ? base.dwCols2 : cols, dwWg: wg }));
    // The GPU-style tiled kernel (shaders/depthwise3x3_tiled.wgsl), where the device's limits allow.
    for (const [cg, tw, th, ry] of DW_TILES[stride === 1 ? 1 : 2]) {
      const t = v({ subgroup: 0, dwTile: cg, dwTileW: tw, dwTileH: th, dwTileRows: ry });
      if (depthwiseTiledFits(t, stride, limits)) list.push(t);
    }
  } else {
    // The GPU-style tiled product (workgroup memory 6-10 KiB for these, under WebGPU's 16 KiB
    // default limit), reading float16 weights where they are exactly float16 (any device:
    // unpack2x16float is core WGSL): half the words from global memory, the same values.
    // With shader-f16, each also with its workgroup weight tile in float16 (half its bytes;
    // lossless: only exactly-float16 weights are kept so).
    const tileTypes = features.has('shader-f16') ? [0, 1] : [0];
    for (const f16 of tileTypes) for (const [rp, rc, bk] of GEMM_TILES) list.push(v({ subgroup: 0, halfWeights: true, gemm: bk, gemmRP: rp, gemmRC: rc, gemmF16: f16 }));
    // The same product with the depthwise before it computed into its input tile
    // (shaders/depthwise_pointwise_tiled.wgsl; the tuner times it with that depthwise).
    if (shape.fusable) {
      for (const f16 of tileTypes) {
        for (const [rp, rc, bk] of GEMM_TILES) {
          const t = v({ subgroup: 0, halfWeights: true, gemm: bk, gemmRP: rp, gemmRC: rc, gemmF16: f16, dwFuse: 1 });
          if (depthwisePointwiseFits(t, limits)) list.push(t);
        }
      }
    }
    list.push(v({ subgroup: 0, pwWg: 64, pwPixels: 2, pwChannels: 2 }), v({ subgroup: 0, pwWg: 16, pwPixels: 4, pwChannels: 2 }), v({ subgroup: 0, pwWg: 64, pwPixels: 4, pwChannels: 4 }));
    if (sg > 0) {
      const lanes = sg > 4 ? [sg, 4] : [sg];
      for (const l of lanes) for (const m of [1, 8]) for (const px of [1, 2, 4, 8]) list.push(v({ subgroup: l, sgWg: l * m, sgPixels: px, halfWeights: true }));
      list.push(v({ subgroup: sg, sgWg: base.sgWg, sgPixels: base.sgPixels, halfWeights: false }));
    }
  }
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (const t of list) {
    const choice = choiceOf(kind, t, stride);
    const id = JSON.stringify(choice);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ name: candidateName(kind, choice), choice });
  }
  return out;
}
