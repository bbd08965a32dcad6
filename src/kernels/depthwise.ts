// The op description of the backbone's depthwise 3x3 "SAME" layer (also tfjs'
// DepthwiseConv2dNative through src/tfjs/kernels/depthwise.ts), one of three kernels by the
// tuning: the workgroup-memory tiled kernel where Tuning.dwTile > 0 (depthwise-tiled.ts);
// else the strip kernel (shaders/depthwise3x3_rows.wgsl: each invocation a strip of at most
// Tuning.dwRows rows x dwCols (stride 1) or dwCols2 (stride 2) columns, walked down as a
// sliding window so that neighbouring outputs share their input loads) where
// Tuning.subgroup > 0, although it uses no subgroup operation; else the portable
// one-output-per-invocation kernel (shaders/depthwise3x3.wgsl).
// The problem is LayerProblem (common.ts), shared with the stem and the tiled kernel.
import type { OpDesc } from '../gpu/runner.ts';
import { ACT_CODE, ceilDiv, grid1d, sameGeometry, type LayerProblem, type Tuning } from './common.ts';
import { depthwiseTiledOp } from './depthwise-tiled.ts';

export function depthwiseOp(p: LayerProblem, t: Tuning): OpDesc {
  const { label, shape: inp, stride, x, w, b, y } = p;
  const { ph, pw, pixels } = sameGeometry(inp, stride);
  const c4 = ceilDiv(inp.c, 4);
  const ACT = ACT_CODE[p.activation];
  if (t.dwTile > 0) return depthwiseTiledOp(p, t);
  if (t.subgroup > 0) {
    const cols = stride === 1 ? t.dwCols : t.dwCols2;
    const stripsW = ceilDiv(pw.out, cols);
    const rows = ceilDiv(ph.out, ceilDiv(ph.out, t.dwRows)); // equal strips, none much shorter
    const stripsH = ceilDiv(ph.out, rows);
    const strips = inp.n * stripsH * stripsW;
    return {
      label,
      kernel: { shader: 'depthwise3x3_rows', constants: { WG: t.dwWg, TC: cols, STRIDE: stride, ACT } },
      uniforms: { strips, strips_w: stripsW, strips_h: stripsH, rows, in_h: inp.h, in_w: inp.w, c4, out_h: ph.out, out_w: pw.out, pad_top: ph.before, pad_left: pw.before },
      storage: { x, w, b, y },
      workgroups: [...grid1d(strips), ceilDiv(c4, t.dwWg)],
    };
  }
  return {
    label,
    kernel: { shader: 'depthwise3x3', constants: { WG: t.wg, ACT } },
    uniforms: { pixels, in_h: inp.h, in_w: inp.w, c4, out_h: ph.out, out_w: pw.out, stride, pad_top: ph.before, pad_left: pw.before },
    storage: { x, w, b, y },
    workgroups: [ceilDiv(pixels, t.wg), c4],
  };
}
