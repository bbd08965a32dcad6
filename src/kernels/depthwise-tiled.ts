// The op description of shaders/depthwise3x3_tiled.wgsl: the backbone's depthwise 3x3 layer
// as a GPU-style kernel that loads a tile of input (halo included) into workgroup memory once
// and computes a tile of outputs from it. Selected by Tuning.dwTile > 0 (off in every
// hand-picked tuning; a tuner candidate). Its workgroup size and workgroup memory grow with
// the tile: `depthwiseTiledFits` checks them against the device's limits.
import type { OpDesc } from '../gpu/runner.ts';
import { ACT_CODE, ceilDiv, grid1d, samePadding, type LayerProblem, type Tuning } from './common.ts';

/** The device limits a tiling must fit (GPUSupportedLimits has them all). */
export interface WorkgroupLimits {
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
}

/** Invocations per workgroup and bytes of workgroup memory of a tiling at a stride. */
export function depthwiseTiledCost(t: Pick<Tuning, 'dwTile' | 'dwTileW' | 'dwTileH' | 'dwTileRows'>, stride: number): { invocations: number; bytes: number } {
  const inW = (t.dwTileW - 1) * stride + 3;
  const inH = (t.dwTileH - 1) * stride + 3;
  return { invocations: (t.dwTile * t.dwTileW * t.dwTileH) / t.dwTileRows, bytes: inH * inW * t.dwTile * 16 };
}

/** Whether a tiling builds on a device with these limits (and is well formed: rows per invocation divide the tile's rows). */
export function depthwiseTiledFits(t: Pick<Tuning, 'dwTile' | 'dwTileW' | 'dwTileH' | 'dwTileRows'>, stride: number, limits: WorkgroupLimits): boolean {
  if (!(t.dwTile > 0 && t.dwTileW > 0 && t.dwTileH > 0 && t.dwTileRows > 0) || t.dwTileH % t.dwTileRows !== 0) return false;
  const { invocations, bytes } = depthwiseTiledCost(t, stride);
  return bytes <= limits.maxComputeWorkgroupStorageSize && invocations <= limits.maxComputeInvocationsPerWorkgroup && invocations <= limits.maxComputeWorkgroupSizeX;
}

export function depthwiseTiledOp(p: LayerProblem, t: Tuning): OpDesc {
  const { label, shape: inp, stride, x, w, b, y } = p;
  if (stride !== 1 && stride !== 2) throw new Error(`${label}: the tiled depthwise kernel takes stride 1 or 2, not ${stride}`);
  if (!(t.dwTile > 0 && t.dwTileW > 0 && t.dwTileH > 0 && t.dwTileRows > 0) || t.dwTileH % t.dwTileRows !== 0) {
    throw new Error(`${label}: tiled depthwise tiling ${t.dwTile} channel groups x ${t.dwTileW}x${t.dwTileH}, ${t.dwTileRows} rows per invocation: the rows per invocation must divide the tile's rows`);
  }
  const ph = samePadding(inp.h, stride);
  const pw = samePadding(inp.w, stride);
  const c4 = ceilDiv(inp.c, 4);
  const tilesW = ceilDiv(pw.out, t.dwTileW);
  const tilesH = ceilDiv(ph.out, t.dwTileH);
  const tiles = inp.n * tilesH * tilesW;
  return {
    label,
    kernel: { shader: 'depthwise3x3_tiled', constants: { CG: t.dwTile, TW: t.dwTileW, TH: t.dwTileH, RY: t.dwTileRows, STRIDE: stride, ACT: ACT_CODE[p.activation] } },
    uniforms: { tiles, tiles_w: tilesW, tiles_h: tilesH, in_h: inp.h, in_w: inp.w, c4, out_h: ph.out, out_w: pw.out, pad_top: ph.before, pad_left: pw.before },
    storage: { x, w, b, y },
    workgroups: [...grid1d(tiles), ceilDiv(c4, t.dwTile)],
  };
}
