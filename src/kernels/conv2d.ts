// The op description of shaders/conv2d.wgsl / conv2d_subgroup.wgsl: a general NHWC
// convolution (any kernel size, stride and padding, no dilation) with bias and activation.
import type { OpDesc } from '../gpu/runner.ts';
import { ACT_CODE, type Activation } from './common.ts';
import { columnTile, type MatmulTiling } from './matmul.ts';

export interface ConvProblem {
  /** Batch, input height and width, input channels. */
  n: number;
  inH: number;
  inW: number;
  cin: number;
  outH: number;
  outW: number;
  cout: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  x: GPUBuffer;
  /** [kh, kw, cin, cout]. */
  w: GPUBuffer;
  /** cout values, or none. */
  bias?: GPUBuffer;
  /** [n, outH, outW, cout]. */
  out: GPUBuffer;
  activation: Activation;
}

/**
 * The column tile of a convolution with `cout` output channels. As the matrix product's, but
 * a narrow output (at most 24 channels) with subgroups takes one subgroup width per
 * workgroup: BlazeFace's 5x5 stem (3 -> 24) detected faces as fast with 8 columns as with
 * 24 (36.6 against 37.3 ms per photo on lavapipe, alternated runs) and its kernel compiles in
 * 1.4 s instead of 6.6 s on a driver's first use (lavapipe: the TI x TJ accumulators are
 * written out, and LLVM's time grows with them).
 */
function convColumnTile(t: MatmulTiling, cout: number): number {
  return t.sg && cout <= 24 ? t.sg : columnTile(t, cout);
}

/** The same tiling as the matrix product: lanes take pixels, a workgroup takes output channels. */
export function conv2dOp(p: ConvProblem, t: MatmulTiling): OpDesc {
  const pixels = p.n * p.outH * p.outW;
  const tj = convColumnTile(t, p.cout);
  const constants = { WG: t.wg, TI: t.ti, TJ: tj, ACT: ACT_CODE[p.activation], HAS_BIAS: p.bias ? 1 : 0 };
  return {
    label: `conv2d ${p.kh}x${p.kw}/${p.strideH} ${p.cin}->${p.cout}`,
    kernel: t.sg ? { shader: 'conv2d_subgroup', constants: { ...constants, SG: t.sg } } : { shader: 'conv2d', constants },
    uniforms: {
      pixels,
      in_h: p.inH,
      in_w: p.inW,
      cin: p.cin,
      out_h: p.outH,
      out_w: p.outW,
      cout: p.cout,
      kh: p.kh,
      kw: p.kw,
      stride_h: p.strideH,
      stride_w: p.strideW,
      pad_top: p.padTop,
      pad_left: p.padLeft,
    },
    storage: { x: p.x, w: p.w, bias: p.bias ?? null, y: p.out },
    workgroups: [Math.ceil(pixels / (t.wg * t.ti)), Math.ceil(p.cout / tj)],
  };
}
