// The op description of the backbone's pointwise (1x1) layer, a matrix product of pixels x
// input channels by input x output channels, one of three kernels by the tuning: the
// workgroup-memory tiled product (shaders/pointwise_tiled.wgsl, 8x8 invocations of
// gemmRP pixels x gemmRC output groups, gemm input groups per step, its weight tile float16
// with gemmF16 where the weights are read as float16) where Tuning.gemm > 0; else the
// subgroup kernel (shaders/pointwise_subgroup.wgsl) where Tuning.subgroup > 0; else the
// portable kernel (shaders/pointwise.wgsl, float32 weights only). A layer fused with the
// depthwise before it (Tuning.dwFuse) is one op of depthwise-pointwise.ts, never built here.
// Its problem is also the base of tfjs' row-major pointwise (pointwise-rows.ts).
import type { Binding, OpDesc } from '../gpu/runner.ts';
import { ACT_CODE, ceilDiv, grid1d, tileFor, weightTileType, type Activation, type Tuning } from './common.ts';

export interface PointwiseProblem {
  label: string;
  x: Binding;
  w: Binding;
  b: Binding;
  y: Binding;
  /** Pixels of the batch (N * H * W). */
  pixels: number;
  cin: number;
  cout: number;
  activation: Activation;
  /** `w` holds float16 pairs (subgroup and tiled kernels only; see Tuning.halfWeights). */
  halfWeights?: boolean;
}

export function pointwiseOp(p: PointwiseProblem, t: Tuning): OpDesc {
  const { label, pixels, x, w, b, y } = p;
  const co4 = ceilDiv(p.cout, 4);
  const uniforms = { pixels, ci4: ceilDiv(p.cin, 4), co4 };
  const ACT = ACT_CODE[p.activation];
  if (t.dwFuse > 0) throw new Error(`${label}: a pointwise layer fused with its depthwise runs as one op (depthwise-pointwise.ts), not alone`);
  if (t.gemm > 0) {
    const TX = 8;
    const TY = 8;
    return {
      label,
      kernel: { shader: 'pointwise_tiled', constants: { TX, TY, RP: t.gemmRP, RC: t.gemmRC, BK: t.gemm, ACT, WH: p.halfWeights ? 1 : 0 }, types: { WT: weightTileType(t, p.halfWeights) } },
      uniforms,
      storage: { x, w, b, y },
      workgroups: [...grid1d(ceilDiv(pixels, TY * t.gemmRP)), ceilDiv(co4, TX * t.gemmRC)],
    };
  }
  if (t.subgroup > 0) {
    return {
      label,
      kernel: { shader: 'pointwise_subgroup', constants: { WG: t.sgWg, TP: t.sgPixels, SG: t.subgroup, ACT, WH: p.halfWeights ? 1 : 0 } },
      uniforms,
      storage: { x, w, b, y },
      workgroups: [...grid1d(ceilDiv(pixels, t.sgWg * t.sgPixels)), ceilDiv(co4, t.subgroup)],
    };
  }
  if (p.halfWeights) throw new Error(`${label}: float16 weights need the subgroup or tiled pointwise kernel`);
  const tc = tileFor(co4, t.pwChannels);
  return {
    label,
    kernel: { shader: 'pointwise', constants: { WG: t.pwWg, TP: t.pwPixels, TC: tc, ACT } },
    uniforms,
    storage: { x, w, b, y },
    workgroups: [ceilDiv(pixels, t.pwWg * t.pwPixels), co4 / tc],
  };
}
