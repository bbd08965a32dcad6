// The op description of shaders/matmul.wgsl: C[b] = act(A[b] B[b] + bias), each operand
// given as a buffer and strides, so that transposed and broadcast operands need no copy.
import type { OpDesc } from '../gpu/runner.ts';
import { isCpuAdapter } from '../gpu/device.ts';
import { ACT_CODE, tuningFor, type Activation } from './common.ts';

/** A [batch, rows, cols] view of a buffer of float32: element (b, r, c) is at b*batch + r*row + c*col. */
export interface MatrixView {
  buffer: GPUBuffer;
  /** 0 broadcasts one matrix over the batch. */
  batch: number;
  row: number;
  col: number;
}

export interface MatmulProblem {
  batch: number;
  /** Rows of A and C. */
  m: number;
  /** Columns of B and C. */
  n: number;
  /** Columns of A = rows of B. */
  k: number;
  a: MatrixView;
  b: MatrixView;
  /** C, written densely as [batch, m, n]. */
  out: GPUBuffer;
  /** n values added to every row of C, or none. */
  bias?: GPUBuffer;
  /** A tensor of C's shape added before the activation (a residual join), or none. */
  residual?: GPUBuffer;
  activation: Activation;
}

export interface MatmulTiling {
  /** Invocations per workgroup. */
  wg: number;
  /** Rows per invocation. */
  ti: number;
  /** Columns per workgroup (every invocation of it computes all of them). */
  tj: number;
  /**
   * Lanes that share the y loads through subgroupShuffle (matmul_subgroup.wgsl; a divisor of
   * tj and wg), or 0 for the portable matmul.wgsl.
   */
  sg: number;
}

/**
 * The tiling for a device. On CPU adapters (lavapipe, SwiftShader) a lane's loads cost more
 * than register spills, so each lane takes a large tile: 8 rows x 16 columns, and with
 * subgroups the 16 columns' y values are shared by the lanes of a subgroup (1.3-1.6x faster
 * than without on the head's and the detector's shapes). Among the tilings tried 8x16 was
 * the fastest or within noise of it (src/tfjs/README.md). On GPUs (not measured here) the
 * tile stays small so that the accumulators fit in registers and the grid stays wide.
 */
export function matmulTilingFor(device: GPUDevice): MatmulTiling {
  if (!isCpuAdapter(device)) return { wg: 64, ti: 2, tj: 4, sg: 0 };
  const sg = tuningFor(device).subgroup; // 0 without subgroups
  return { wg: 16, ti: 8, tj: 16, sg: 16 % sg === 0 ? sg : 0 };
}

/**
 * The columns per workgroup for `cols` columns. With subgroups, few columns (a 24-channel
 * convolution, the head's last layer) get a tile of just enough subgroup groups to cover
 * them: 16 would leave a third of the second tile idle at 24 (measured: a 65536x24x24
 * product 1.6x faster with a 24-wide tile than with 16).
 */
export function columnTile(t: MatmulTiling, cols: number): number {
  return t.sg && cols <= 24 ? Math.ceil(cols / t.sg) * t.sg : t.tj;
}

/**
 * Rows per lane for a column tile of `tj`. With subgroups and a tile of one subgroup (at most
 * SG columns: BlazeFace's classifier heads, the logits of a few people) 2 rows instead of
 * the tiling's 8: those products are small, and lavapipe compiles the 8 x 8 register tile in
 * 1.9 s at first use against 0.3 s for 2 x 8.
 */
function rowsPerLane(t: MatmulTiling, tj: number): number {
  return t.sg && tj <= t.sg ? Math.min(t.ti, 2) : t.ti;
}

export function matmulOp(p: MatmulProblem, t: MatmulTiling): OpDesc {
  // The larger of m and n goes across lanes (the kernel's i); the other is the workgroup's
  // column tile (j), whose operand is read uniformly. C = A B is computed as C^T = B^T A^T
  // when n is the larger: only strides change.
  const lanesOverM = p.m >= p.n;
  const [rows, cols] = lanesOverM ? [p.m, p.n] : [p.n, p.m];
  // x[i, k] and y[k, j] as views of A and B.
  const x = lanesOverM ? { v: p.a, i: p.a.row, k: p.a.col } : { v: p.b, i: p.b.col, k: p.b.row };
  const y = lanesOverM ? { v: p.b, k: p.b.row, j: p.b.col } : { v: p.a, k: p.a.col, j: p.a.row };
  const out = lanesOverM ? { i: p.n, j: 1 } : { i: 1, j: p.n };
  const bias = lanesOverM ? { i: 0, j: 1 } : { i: 1, j: 0 };
  const tj = columnTile(t, cols);
  const ti = rowsPerLane(t, tj);
  return {
    label: `matmul ${p.batch}x${p.m}x${p.k}x${p.n}`,
    kernel: t.sg
      ? { shader: 'matmul_subgroup', constants: { WG: t.wg, TI: ti, TJ: tj, SG: t.sg, ACT: ACT_CODE[p.activation], HAS_BIAS: p.bias ? 1 : 0, HAS_RES: p.residual ? 1 : 0 } }
      : { shader: 'matmul', constants: { WG: t.wg, TI: ti, TJ: tj, ACT: ACT_CODE[p.activation], HAS_BIAS: p.bias ? 1 : 0, HAS_RES: p.residual ? 1 : 0 } },
    uniforms: {
      rows,
      cols,
      depth: p.k,
      x_batch: x.v.batch,
      x_i: x.i,
      x_k: x.k,
      y_batch: y.v.batch,
      y_k: y.k,
      y_j: y.j,
      out_batch: p.m * p.n,
      out_i: out.i,
      out_j: out.j,
      bias_i: bias.i,
      bias_j: bias.j,
    },
    storage: { x: x.v.buffer, y: y.v.buffer, bias: p.bias ?? null, out: p.out, res: p.residual ?? null },
    workgroups: [Math.ceil(rows / (t.wg * ti)), Math.ceil(cols / tj), p.batch],
  };
}

/**
 * A matrix stored row-major as [batch, storedRows, storedCols], read as is or transposed
 * (then logical element (r, c) is stored element (c, r)); `broadcast` reuses matrix 0 for
 * every batch.
 */
export function denseView(buffer: GPUBuffer, storedRows: number, storedCols: number, transposed: boolean, broadcast: boolean): MatrixView {
  const batch = broadcast ? 0 : storedRows * storedCols;
  return transposed ? { buffer, batch, row: 1, col: storedCols } : { buffer, batch, row: storedCols, col: 1 };
}
