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
    const spw = stripsPerWorkgroup(c4, t.dwWg);
    const wg = spw > 1 ? spw * c4 : t.dwWg;
    const gw = wg / spw; // lanes per strip
    if (wg > MAX_PACKED_WG) throw new Error(`${label}: a strip workgroup of ${wg} lanes (at most ${MAX_PACKED_WG}: the shader divides lane numbers by multiplying)`);
    return {
      label,
      kernel: { shader: 'depthwise3x3_rows', constants: { WG: wg, TC: cols, STRIDE: stride, ACT } },
      uniforms: { strips, strips_w: stripsW, strips_h: stripsH, rows, in_h: inp.h, in_w: inp.w, c4, out_h: ph.out, out_w: pw.out, pad_top: ph.before, pad_left: pw.before, gw, gw_recip: Math.ceil(65536 / gw) },
      storage: { x, w, b, y },
      workgroups: [...grid1d(ceilDiv(strips, spw)), ceilDiv(c4, gw)],
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

/** Invocations a packed workgroup may hold: WebGPU's default limit, which every device meets. */
const MAX_PACKED_WG = 256;

/**
 * Strips per workgroup of the strip kernel. Its lanes are a strip's channel groups, dwWg of
 * them per workgroup; where c4 is not a multiple of dwWg, the last workgroup of every strip
 * has idle lanes (BlazeFace's 24 and 48 channels: 6 and 12 groups, a quarter of the lanes
 * at dwWg 8). Then a workgroup holds several whole strips instead: the fewest whose groups
 * fill whole runs of dwWg lanes (dwWg / gcd(c4, dwWg)), unless that workgroup would be too
 * large. 1 where c4 is a multiple of dwWg (every MobileNet layer on CPU adapters).
 */
export function stripsPerWorkgroup(c4: number, dwWg: number): number {
  if (c4 % dwWg === 0) return 1;
  let a = c4;
  let b = dwWg;
  while (b) [a, b] = [b, a % b];
  const spw = dwWg / a;
  return spw * c4 <= MAX_PACKED_WG ? spw : 1;
}
