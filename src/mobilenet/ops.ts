// Op descriptions for MobileNet's kernels: which shader, its constants, uniforms and grid.
// Shapes go into uniforms; only what must be compile-time (workgroup size, register tile,
// activation) is a constant, and so part of the pipeline cache key.
import type { OpDesc, UniformField } from '../gpu/runner.ts';
import type { Activation } from '../weights/spec.ts';
import { isCpuAdapter } from '../gpu/device.ts';

export type Binding = GPUBuffer | GPUBufferBinding;

export const ACT_CODE: Record<Activation, number> = { none: 0, relu: 1, relu6: 2 };

/** TensorFlow "SAME" padding: output size and the padding before the first row/column. */
export function samePadding(size: number, stride: number, kernel = 3): { out: number; before: number } {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return { out, before: Math.floor(total / 2) };
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
  /** Subgroup stem: adjacent output pixels per invocation. */
  stemPixels: number;
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
   * Subgroup pointwise and stem: read a layer's weights as float16 pairs when every one of
   * them is exactly a float16 (lossless; loads are these kernels' cost on CPU adapters).
   */
  halfWeights: boolean;
}

/** Portable kernels only: safe on any WebGPU device. */
export const DEFAULT_TUNING: Tuning = { wg: 64, pwWg: 64, pwPixels: 2, pwChannels: 2, subgroup: 0, sgWg: 64, sgPixels: 1, stemPixels: 1, dwRows: 2, dwCols: 2, dwCols2: 2, dwWg: 32, halfWeights: false };

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
    ? { ...DEFAULT_TUNING, subgroup, sgWg: subgroup, sgPixels: 4, stemPixels: 2, dwRows: 32, dwCols: 4, dwCols2: 1, dwWg: 8, halfWeights: true }
    : { ...DEFAULT_TUNING, subgroup, sgWg: 64, sgPixels: 1, stemPixels: 1, dwRows: 2, dwCols: 2, dwCols2: 2, dwWg: 32, halfWeights: true };
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Largest divisor of n that is <= want (so a tile never straddles the channel count). */
export function tileFor(n: number, want: number): number {
  for (let t = Math.min(want, n); t > 1; t--) if (n % t === 0) return t;
  return 1;
}

export interface ImageShape {
  n: number;
  h: number;
  w: number;
  c: number;
}

export function preprocessOp(src: Binding, dst: Binding, pixels: number, scale: number, offset: number, t: Tuning): OpDesc {
  return {
    label: 'preprocess',
    kernel: { shader: 'preprocess', constants: { WG: t.wg } },
    uniforms: [['u32', pixels], ['f32', scale], ['f32', offset]],
    storage: [src, dst],
    workgroups: grid1d(ceilDiv(pixels, t.wg)),
  };
}

/** `halfWeights`: `w` holds float16 pairs (subgroup kernel only; see Tuning.halfWeights). */
export function stemOp(label: string, x: Binding, w: Binding, b: Binding, y: Binding, inp: ImageShape, cout: number, stride: number, act: Activation, t: Tuning, halfWeights = false): OpDesc {
  const ph = samePadding(inp.h, stride);
  const pw = samePadding(inp.w, stride);
  const pixels = inp.n * ph.out * pw.out;
  const co4 = ceilDiv(cout, 4);
  const ci4 = ceilDiv(inp.c, 4);
  if (t.subgroup > 0) {
    const tilesW = ceilDiv(pw.out, t.stemPixels);
    const tiles = inp.n * ph.out * tilesW;
    return {
      label,
      kernel: { shader: 'conv3x3_subgroup', constants: { WG: t.sgWg, TP: t.stemPixels, STRIDE: stride, SG: t.subgroup, ACT: ACT_CODE[act], WH: halfWeights ? 1 : 0 } },
      uniforms: [
        ['u32', tiles], ['u32', tilesW], ['u32', inp.h], ['u32', inp.w], ['u32', ci4],
        ['u32', ph.out], ['u32', pw.out], ['u32', co4], ['u32', ph.before], ['u32', pw.before],
      ],
      storage: [x, w, b, y],
      workgroups: [...grid1d(ceilDiv(tiles, t.sgWg)), ceilDiv(co4, t.subgroup)],
    };
  }
  if (halfWeights) throw new Error(`${label}: float16 weights need the subgroup stem kernel`);
  return {
    label,
    kernel: { shader: 'conv3x3', constants: { WG: t.wg, ACT: ACT_CODE[act] } },
    uniforms: [
      ['u32', pixels], ['u32', inp.h], ['u32', inp.w], ['u32', ci4],
      ['u32', ph.out], ['u32', pw.out], ['u32', co4], ['u32', stride], ['u32', ph.before], ['u32', pw.before],
    ],
    storage: [x, w, b, y],
    workgroups: [ceilDiv(pixels, t.wg), co4],
  };
}

export function depthwiseOp(label: string, x: Binding, w: Binding, b: Binding, y: Binding, inp: ImageShape, stride: number, act: Activation, t: Tuning): OpDesc {
  const ph = samePadding(inp.h, stride);
  const pw = samePadding(inp.w, stride);
  const pixels = inp.n * ph.out * pw.out;
  const c4 = ceilDiv(inp.c, 4);
  if (t.subgroup > 0) {
    const cols = stride === 1 ? t.dwCols : t.dwCols2;
    const stripsW = ceilDiv(pw.out, cols);
    const rows = ceilDiv(ph.out, ceilDiv(ph.out, t.dwRows)); // equal strips, none much shorter
    const stripsH = ceilDiv(ph.out, rows);
    const strips = inp.n * stripsH * stripsW;
    return {
      label,
      kernel: { shader: 'depthwise3x3_rows', constants: { WG: t.dwWg, TC: cols, STRIDE: stride, ACT: ACT_CODE[act] } },
      uniforms: [
        ['u32', strips], ['u32', stripsW], ['u32', stripsH], ['u32', rows], ['u32', inp.h], ['u32', inp.w], ['u32', c4],
        ['u32', ph.out], ['u32', pw.out], ['u32', ph.before], ['u32', pw.before],
      ],
      storage: [x, w, b, y],
      workgroups: [...grid1d(strips), ceilDiv(c4, t.dwWg)],
    };
  }
  return {
    label,
    kernel: { shader: 'depthwise3x3', constants: { WG: t.wg, ACT: ACT_CODE[act] } },
    uniforms: [
      ['u32', pixels], ['u32', inp.h], ['u32', inp.w], ['u32', c4],
      ['u32', ph.out], ['u32', pw.out], ['u32', stride], ['u32', ph.before], ['u32', pw.before],
    ],
    storage: [x, w, b, y],
    workgroups: [ceilDiv(pixels, t.wg), c4],
  };
}

/** Variants of the subgroup pointwise kernel for TensorFlow.js' 1x1 convolutions (src/tfjs). */
export interface PointwiseExtras {
  /** `w` is the float32 matrix [cin, cout] row by row (a tfjs filter), not 4x4 blocks. */
  rowMajorWeights?: boolean;
  /** Added to the output before the activation, laid out as the output (a residual join). */
  residual?: Binding;
}

/** `halfWeights`: `w` holds float16 pairs (subgroup kernel only; see Tuning.halfWeights). */
export function pointwiseOp(label: string, x: Binding, w: Binding, b: Binding, y: Binding, pixels: number, cin: number, cout: number, act: Activation, t: Tuning, halfWeights = false, extras: PointwiseExtras = {}): OpDesc {
  const co4 = ceilDiv(cout, 4);
  const uniforms: UniformField[] = [['u32', pixels], ['u32', ceilDiv(cin, 4)], ['u32', co4]];
  if (t.subgroup > 0) {
    if (extras.rowMajorWeights && (halfWeights || cin % 4 !== 0 || cout % 4 !== 0)) throw new Error(`${label}: row-major weights need float32 and channel counts that are multiples of 4`);
    const constants = { WG: t.sgWg, TP: t.sgPixels, SG: t.subgroup, ACT: ACT_CODE[act], WH: halfWeights ? 1 : 0, WROWS: extras.rowMajorWeights ? 1 : 0, HAS_RES: extras.residual ? 1 : 0 };
    return {
      label,
      kernel: { shader: 'pointwise_subgroup', constants },
      uniforms,
      // Without a residual its binding is x (read-only already) and is not read.
      storage: [x, w, b, y, extras.residual ?? x],
      workgroups: [...grid1d(ceilDiv(pixels, t.sgWg * t.sgPixels)), ceilDiv(co4, t.subgroup)],
    };
  }
  if (extras.rowMajorWeights || extras.residual) throw new Error(`${label}: row-major weights and a residual need the subgroup pointwise kernel`);
  if (halfWeights) throw new Error(`${label}: float16 weights need the subgroup pointwise kernel`);
  const tc = tileFor(co4, t.pwChannels);
  return {
    label,
    kernel: { shader: 'pointwise', constants: { WG: t.pwWg, TP: t.pwPixels, TC: tc, ACT: ACT_CODE[act] } },
    uniforms,
    storage: [x, w, b, y],
    workgroups: [ceilDiv(pixels, t.pwWg * t.pwPixels), co4 / tc],
  };
}

export function globalAvgPoolOp(x: Binding, y: Binding, inp: ImageShape, t: Tuning): OpDesc {
  const c4 = ceilDiv(inp.c, 4);
  return {
    label: 'global_avg_pool',
    kernel: { shader: 'global_avg_pool', constants: { WG: t.wg } },
    uniforms: [['u32', inp.h * inp.w], ['u32', c4], ['u32', inp.c], ['f32', 1 / (inp.h * inp.w)]],
    storage: [x, y],
    workgroups: [ceilDiv(c4, t.wg), inp.n],
  };
}

/** A 1-D grid of `groups` workgroups, folded into 2-D past the per-dimension limit (shaders rebuild the index as x + y * num_workgroups.x). */
export function grid1d(groups: number, maxPerDim = 65535): [number, number] {
  if (groups <= maxPerDim) return [groups, 1];
  const y = ceilDiv(groups, maxPerDim);
  return [ceilDiv(groups, y), y];
}
