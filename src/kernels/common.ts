// What the op builders of the backbone and of the tfjs kernels share: activation codes, the
// per-device tuning, the shape of a layer, "SAME" padding and grid helpers. Imports only the
// device layer (and the runner's binding type).
import { isCpuAdapter } from '../gpu/device.ts';
import type { Binding } from '../gpu/runner.ts';

/** A fused activation (shaders/activation.wgsl). */
export type Activation = 'none' | 'relu' | 'relu6';

/** The ACT constant of a kernel for an activation. */
export const ACT_CODE: Record<Activation, number> = { none: 0, relu: 1, relu6: 2 };

export interface ImageShape {
  n: number;
  h: number;
  w: number;
  c: number;
}

/**
 * A convolution layer of the backbone: activations in the vec4 layout [N, H, W, ceil(C/4)]. The
 * problem of depthwise.ts and depthwise-tiled.ts, and the base of stem.ts's; here, not beside
 * depthwiseOp, so that depthwise-tiled.ts takes it without importing depthwise.ts, which
 * imports it.
 */
export interface LayerProblem {
  label: string;
  x: Binding;
  /** Packed weights (src/weights/pack.ts). */
  w: Binding;
  b: Binding;
  y: Binding;
  /** The input's shape. */
  shape: ImageShape;
  stride: number;
  activation: Activation;
}

export const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** TensorFlow "SAME" padding: output size and the padding before the first row/column. */
export function samePadding(size: number, stride: number, kernel = 3): { out: number; before: number } {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return { out, before: Math.floor(total / 2) };
}

/** Output size and padding of a 3x3 "SAME" layer, and its output pixels (stem.ts, depthwise.ts). */
export function sameGeometry(inp: ImageShape, stride: number) {
  const ph = samePadding(inp.h, stride);
  const pw = samePadding(inp.w, stride);
  return { ph, pw, pixels: inp.n * ph.out * pw.out };
}

/** Largest divisor of n that is <= want (so a tile never straddles the channel count). */
export function tileFor(n: number, want: number): number {
  for (let t = Math.min(want, n); t > 1; t--) if (n % t === 0) return t;
  return 1;
}

/** A 1-D grid of `groups` workgroups, folded into 2-D past the per-dimension limit (shaders rebuild the index as x + y * num_workgroups.x). */
export function grid1d(groups: number, maxPerDim = 65535): [number, number] {
  if (groups <= maxPerDim) return [groups, 1];
  const y = ceilDiv(groups, maxPerDim);
  return [ceilDiv(groups, y), y];
}

export interface Tuning {
  /** Workgroup size of the element-wise style kernels (portable stem and depthwise, preprocessing, pooling). */
  wg: number;
  /** Portable pointwise: workgroup size, pixels and output-channel groups per invocation. */
  pwWg: number;
  pwPixels: number;
  pwChannels: number;
  /**
   * Lanes that share weights through subgroupShuffle in the *_subgroup kernels (4 or 8, a
   * divisor of the device's smallest subgroup). Non-zero also selects the strip depthwise
   * (which needs no subgroups); 0 selects the portable one-output-per-invocation kernels.
   */
  subgroup: number;
  /** Workgroup size of the subgroup kernels (a multiple of `subgroup`). */
  sgWg: number;
  /** Subgroup pointwise: output pixels per invocation. */
  sgPixels: number;
  /** Subgroup and 8-bit RGB stems: adjacent output pixels per invocation. */
  stemPixels: number;
  /**
   * The stem that reads the packed 8-bit input and preprocesses it itself
   * (shaders/conv3x3_rgb8.wgsl: no preprocessing op, every output channel per invocation,
   * weights at constant indices, no subgroups needed): its workgroup size, 0 = off (the
   * stem.ts kernels after the preprocessing op). Applies only to a stem it fits, RGB in and at
   * most 64 channels out (stemRgb8Fits in stem-rgb8.ts); the engine runs other stems as if 0.
   */
  stemRgb8: number;
  /**
   * Strip depthwise (used with the subgroup kernels): most output rows per strip (a layer's
   * rows are split into equal strips of at most this many), strip width at stride 1 and at
   * stride 2, workgroup size.
   */
  dwRows: number;
  dwCols: number;
  dwCols2: number;
  dwWg: number;
  /**
   * Subgroup pointwise and stem, tiled pointwise (alone or fused): read a layer's weights as
   * float16 pairs when every one of them is exactly a float16 (lossless; half the words
   * loaded, which is these kernels' cost on CPU adapters and memory traffic on GPUs).
   */
  halfWeights: boolean;
  /**
   * Pointwise as a workgroup-memory tiled matrix product (shaders/pointwise_tiled.wgsl, the
   * GPU-style kernel): input channel groups per step, 0 = off (the default everywhere; the
   * tuner tries it). Workgroups are 8 x 8 invocations of gemmRP pixels x gemmRC output groups.
   */
  gemm: number;
  gemmRP: number;
  gemmRC: number;
  /**
   * Tiled pointwise (alone or fused): 1 keeps the weight tile in workgroup memory as float16
   * (half its bytes and reads) where the layer's weights are read as float16 pairs, i.e. are
   * exactly float16, so nothing is rounded; elsewhere the tile stays float32. Needs the
   * device's `shader-f16`; the arithmetic stays float32 (float16 activations break parity:
   * bench/README.md). 0 = off (the default everywhere; the tuner tries it where the device
   * has shader-f16).
   */
  gemmF16: number;
  /**
   * Depthwise with a tile of input in workgroup memory (shaders/depthwise3x3_tiled.wgsl, the
   * GPU-style kernel): channel groups per workgroup, 0 = off (the default everywhere; the
   * tuner tries it). A workgroup computes dwTileH x dwTileW outputs of those channel groups,
   * dwTileRows rows per invocation (a divisor of dwTileH).
   */
  dwTile: number;
  dwTileW: number;
  dwTileH: number;
  dwTileRows: number;
  /**
   * On a pointwise layer after a depthwise one: 1 runs both as one kernel
   * (shaders/depthwise_pointwise_tiled.wgsl: the depthwise's output computed a tile at a
   * time into workgroup memory and consumed there by the tiled product, with its tiling
   * gemm / gemmRP / gemmRC); 0 = off (the default everywhere; the tuner tries it).
   */
  dwFuse: number;
}

/** The tiled product's workgroup weight tile: float16 only where the weights are read as exact float16 pairs (Tuning.gemmF16). */
export function weightTileType(t: Pick<Tuning, 'gemmF16'>, halfWeights: boolean | undefined): 'f16' | 'f32' {
  return t.gemmF16 > 0 && halfWeights ? 'f16' : 'f32';
}

/** Portable kernels only: safe on any WebGPU device. */
export const DEFAULT_TUNING: Tuning = { wg: 64, pwWg: 64, pwPixels: 2, pwChannels: 2, subgroup: 0, sgWg: 64, sgPixels: 1, stemPixels: 1, stemRgb8: 0, dwRows: 2, dwCols: 2, dwCols2: 2, dwWg: 32, halfWeights: false, gemm: 0, gemmRP: 4, gemmRC: 2, gemmF16: 0, dwTile: 0, dwTileW: 8, dwTileH: 8, dwTileRows: 1, dwFuse: 0 };

/**
 * The tuning for a device: the subgroup kernels where the device has subgroups of at least 4
 * lanes, tiles and workgroup sizes measured with `npm run bench` (bench/README.md). On CPU
 * adapters (lavapipe, SwiftShader) a workgroup is one SIMD batch of lanes and per-invocation
 * tiles are large, because there every load costs more than the register spills; on GPUs
 * the tiles stay small so that the accumulators fit in registers.
 */
export function tuningFor(device: GPUDevice): Tuning {
  const info = device.adapterInfo as (GPUAdapterInfo & { subgroupMinSize?: number }) | undefined;
  const minSize = info?.subgroupMinSize ?? 0;
  const subgroup = device.features.has('subgroups') && minSize >= 4 && (minSize & (minSize - 1)) === 0 ? Math.min(minSize, 8) : 0;
  const cpu = isCpuAdapter(device);
  if (subgroup === 0) return { ...DEFAULT_TUNING };
  return cpu
    ? // 32 vec4 accumulators per lane whatever the subgroup: SG output groups x 32 / SG pixels
      // (8 lanes: 4 pixels; 4 lanes: 8, 1.09-1.24x the whole pass at 4 on SwiftShader). The
      // stem reads the 8-bit input itself, 4 pixels x all channels per lane, 8 lanes (8 pixels
      // ran 1.2x faster on lavapipe but took 2.7 s longer to compile on first use).
      { ...DEFAULT_TUNING, subgroup, sgWg: subgroup, sgPixels: 32 / subgroup, stemPixels: 4, stemRgb8: 8, dwRows: 32, dwCols: 4, dwCols2: 1, dwWg: 8, halfWeights: true }
    : { ...DEFAULT_TUNING, subgroup, sgWg: 64, sgPixels: 1, stemPixels: 1, dwRows: 2, dwCols: 2, dwCols2: 2, dwWg: 32, halfWeights: true };
}
