// The op description of shaders/conv2d.wgsl / conv2d_subgroup.wgsl: a general NHWC
// convolution (any kernel size, stride and padding, no dilation) with bias and activation.
import type { OpDesc } from '../gpu/runner.ts';
import type { Activation } from '../weights/spec.ts';
import { ACT_CODE } from '../mobilenet/ops.ts';
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

/** The same tiling as the matrix product: lanes take pixels, a workgroup takes output channels. */
export function conv2dOp(p: ConvProblem, t: MatmulTiling): OpDesc {
  const pixels = p.n * p.outH * p.outW;
  const tj = columnTile(t, p.cout);
  const constants = { WG: t.wg, TI: t.ti, TJ: tj, ACT: ACT_CODE[p.activation], HAS_BIAS: p.bias ? 1 : 0 };
  return {
    label: `conv2d ${p.kh}x${p.kw}/${p.strideH} ${p.cin}->${p.cout}`,
    kernel: t.sg ? { shader: 'conv2d_subgroup', constants: { ...constants, SG: t.sg } } : { shader: 'conv2d', constants },
    uniforms: [
      ['u32', pixels],
      ['u32', p.inH],
      ['u32', p.inW],
      ['u32', p.cin],
      ['u32', p.outH],
      ['u32', p.outW],
      ['u32', p.cout],
      ['u32', p.kh],
      ['u32', p.kw],
      ['u32', p.strideH],
      ['u32', p.strideW],
      ['u32', p.padTop],
      ['u32', p.padLeft],
    ],
    // Without a bias its binding still needs a buffer; x's is read-only already.
    storage: [p.x, p.w, p.bias ?? p.x, p.out],
    workgroups: [Math.ceil(pixels / (t.wg * t.ti)), Math.ceil(p.cout / tj)],
  };
}
