// The op description of the backbone's stem, a full 3x3 "SAME" convolution: the subgroup
// kernel (shaders/conv3x3_subgroup.wgsl, lanes sharing weights through subgroupShuffle,
// Tuning.stemPixels adjacent outputs per invocation, float16 weight pairs when halfWeights)
// where Tuning.subgroup > 0, else the portable one-output-per-invocation kernel
// (shaders/conv3x3.wgsl, float32 weights only). Shapes go into uniforms; only what must be
// compile-time (workgroup size, tile, stride of the subgroup kernel, activation) is a constant.
// Both read the preprocessing op's float output; where Tuning.stemRgb8 > 0 the engine runs
// stem-rgb8.ts's kernel instead, which reads the input bytes itself.
import type { OpDesc } from '../gpu/runner.ts';
import { ACT_CODE, ceilDiv, grid1d, sameGeometry, type LayerProblem, type Tuning } from './common.ts';

export interface StemProblem extends LayerProblem {
  cout: number;
  /** `w` holds float16 pairs (subgroup kernel only; see Tuning.halfWeights). */
  halfWeights?: boolean;
}

export function stemOp(p: StemProblem, t: Tuning): OpDesc {
  const { label, shape: inp, stride, x, w, b, y } = p;
  const { ph, pw, pixels } = sameGeometry(inp, stride);
  const co4 = ceilDiv(p.cout, 4);
  const ci4 = ceilDiv(inp.c, 4);
  const ACT = ACT_CODE[p.activation];
  if (t.subgroup > 0) {
    const tilesW = ceilDiv(pw.out, t.stemPixels);
    const tiles = inp.n * ph.out * tilesW;
    return {
      label,
      kernel: { shader: 'conv3x3_subgroup', constants: { WG: t.sgWg, TP: t.stemPixels, STRIDE: stride, SG: t.subgroup, ACT, WH: p.halfWeights ? 1 : 0 } },
      uniforms: { tiles, tiles_w: tilesW, in_h: inp.h, in_w: inp.w, ci4, out_h: ph.out, out_w: pw.out, co4, pad_top: ph.before, pad_left: pw.before },
      storage: { x, w, b, y },
      workgroups: [...grid1d(ceilDiv(tiles, t.sgWg)), ceilDiv(co4, t.subgroup)],
    };
  }
  if (p.halfWeights) throw new Error(`${label}: float16 weights need the subgroup stem kernel`);
  return {
    label,
    kernel: { shader: 'conv3x3', constants: { WG: t.wg, ACT } },
    uniforms: { pixels, in_h: inp.h, in_w: inp.w, ci4, out_h: ph.out, out_w: pw.out, co4, stride, pad_top: ph.before, pad_left: pw.before },
    storage: { x, w, b, y },
    workgroups: [ceilDiv(pixels, t.wg), co4],
  };
}
