// The op description of shaders/depthwise_pointwise_tiled.wgsl: a depthwise 3x3 layer and
// the pointwise layer after it in one kernel, the depthwise's output kept in workgroup memory
// a tile at a time and consumed there by the tiled matrix product that pointwise_tiled.wgsl
// runs too (shaders/pointwise_tiled_core.wgsl; no round trip through global memory).
// Selected on a pointwise layer by Tuning.dwFuse > 0 with the tiled product's fields (gemm =
// input channel groups per step, gemmRP, gemmRC); off in every hand-picked tuning, a tuner
// candidate. The engine runs it in place of both layers (src/mobilenet/engine.ts).
import type { Binding, OpDesc } from '../gpu/runner.ts';
import { ACT_CODE, ceilDiv, grid1d, samePadding, weightTileType, type Activation, type ImageShape, type Tuning } from './common.ts';
import type { WorkgroupLimits } from './depthwise-tiled.ts';

export interface DepthwisePointwiseProblem {
  label: string;
  /** The depthwise's input. */
  x: Binding;
  /** The depthwise's packed taps ([3, 3, ci4] vec4) and bias. */
  dwW: Binding;
  dwB: Binding;
  /** The pointwise's packed weights ([ci4, co4] mat4x4: float32, or float16 pairs with halfWeights) and bias. */
  w: Binding;
  b: Binding;
  /** The pointwise's output. */
  y: Binding;
  /** The depthwise's input shape (its channels are the pointwise's input channels). */
  shape: ImageShape;
  /** The depthwise's stride. */
  stride: number;
  dwActivation: Activation;
  cout: number;
  activation: Activation;
  /** `w` holds float16 pairs (src/mobilenet/half-weights.ts). */
  halfWeights?: boolean;
}

/**
 * The fused kernel's workgroup size and workgroup memory (those of pointwise_tiled_core.wgsl, as
 * pointwise_tiled.wgsl's). The weight tile is counted as float32 even with gemmF16: a layer whose
 * weights are not exact float16 pairs gets the float32 tile (weightTileType), so the float16 tile's
 * smaller size cannot be promised for every layer a tuning is used on.
 */
export function depthwisePointwiseCost(t: Pick<Tuning, 'gemm' | 'gemmRP' | 'gemmRC'>): { invocations: number; bytes: number } {
  const TX = 8;
  const TY = 8;
  return { invocations: TX * TY, bytes: TY * t.gemmRP * t.gemm * 16 + t.gemm * TX * t.gemmRC * 64 };
}

export function depthwisePointwiseFits(t: Pick<Tuning, 'gemm' | 'gemmRP' | 'gemmRC'>, limits: WorkgroupLimits): boolean {
  const { invocations, bytes } = depthwisePointwiseCost(t);
  return t.gemm > 0 && bytes <= limits.maxComputeWorkgroupStorageSize && invocations <= limits.maxComputeInvocationsPerWorkgroup && invocations <= limits.maxComputeWorkgroupSizeX;
}

export function depthwisePointwiseOp(p: DepthwisePointwiseProblem, t: Tuning): OpDesc {
  const { label, shape: inp, stride } = p;
  if (stride !== 1 && stride !== 2) throw new Error(`${label}: the fused depthwise + pointwise kernel takes stride 1 or 2, not ${stride}`);
  if (!(t.gemm > 0 && t.gemmRP > 0 && t.gemmRC > 0)) throw new Error(`${label}: the fused depthwise + pointwise kernel needs its tiling (gemm, gemmRP, gemmRC > 0)`);
  const ph = samePadding(inp.h, stride);
  const pw = samePadding(inp.w, stride);
  const pixels = inp.n * ph.out * pw.out;
  const co4 = ceilDiv(p.cout, 4);
  const TX = 8;
  const TY = 8;
  return {
    label,
    kernel: { shader: 'depthwise_pointwise_tiled', constants: { TX, TY, RP: t.gemmRP, RC: t.gemmRC, BK: t.gemm, STRIDE: stride, DACT: ACT_CODE[p.dwActivation], ACT: ACT_CODE[p.activation], WH: p.halfWeights ? 1 : 0 }, types: { WT: weightTileType(t, p.halfWeights) } },
    uniforms: { pixels, ci4: ceilDiv(inp.c, 4), co4, in_h: inp.h, in_w: inp.w, out_h: ph.out, out_w: pw.out, pad_top: ph.before, pad_left: pw.before },
    storage: { x: p.x, w: p.w, b: p.b, y: p.y, dw_w: p.dwW, dw_b: p.dwB },
    workgroups: [...grid1d(ceilDiv(pixels, TY * t.gemmRP)), ceilDiv(co4, TX * t.gemmRC)],
  };
}
