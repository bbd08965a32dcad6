enable subgroups;
// matmul.wgsl for devices with subgroups: the same product, bindings and uniforms, but the
// y values of a workgroup's TJ columns are loaded once per SG lanes and shared with
// subgroupShuffle, as pointwise_subgroup.wgsl shares its weights. On a CPU driver every
// storage load is executed lane by lane even when all lanes read one address, so matmul.wgsl
// spends TJ loads per k on y; here it is TJ / SG (src/tfjs/README.md).
//
//   out[b, i, j] = act( sum_k x[b, i, k] * y[b, k, j] + bias[i * bias_i + j * bias_j]
//                       + res[b, i, j] )
//
// Constants: WG (a multiple of SG), TI (rows per lane), TJ (columns per workgroup, a multiple
// of SG), SG (lanes that share y: a divisor of the subgroup size), ACT, HAS_BIAS, HAS_RES.

// #include matmul_io

const TG: u32 = TJ / SG; // y values each lane loads per k

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(subgroup_invocation_id) sid: u32,
) {
  let batch = wid.z;
  let base = wid.x * WG * TI + lane;
  let j0 = wid.y * TJ;
  let lw = sid % SG; // this lane's place among the SG sharing lanes
  let lb = sid - lw; // the first of them

  // Out-of-range rows and columns read row/column 0 (or the last column) and are not
  // stored: no branches in the k loop, every lane keeps shuffling.
  var xrow: array<u32, TI>;
  // #unroll
  for (var t = 0u; t < TI; t++) {
    let i = base + t * WG;
    xrow[t] = batch * p.x_batch + select(0u, i, i < p.rows) * p.x_i;
  }
  // This lane loads columns j0 + g * SG + lw.
  var ycol: array<u32, TG>;
  // #unroll
  for (var g = 0u; g < TG; g++) {
    ycol[g] = batch * p.y_batch + min(j0 + g * SG + lw, p.cols - 1u) * p.y_j;
  }

  // The loop skeleton (register tile, depth loop, loads of one operand) repeats matmul.wgsl's
  // on purpose: the inner products differ in shape (here the other operand comes from
  // other lanes through subgroupShuffle), and WGSL has no function values to pass one
  // skeleton its inner step. The uniforms, bindings, window and epilogue are shared
  // through includes.
  var acc: array<array<f32, TJ>, TI>;
  for (var k = 0u; k < p.depth; k++) {
    var xk: array<f32, TI>;
    // #unroll
    for (var t = 0u; t < TI; t++) {
      xk[t] = x[xrow[t] + k * p.x_k];
    }
    // #unroll
    for (var g = 0u; g < TG; g++) {
      let mine = y[ycol[g] + k * p.y_k];
      // #unroll
      for (var s = 0u; s < SG; s++) {
        let yv = subgroupShuffle(mine, lb + s);
        // #unroll
        for (var t = 0u; t < TI; t++) {
          acc[t][g * SG + s] += xk[t] * yv;
        }
      }
    }
  }

  // #unroll
  for (var t = 0u; t < TI; t++) {
    let i = base + t * WG;
    if (i < p.rows) {
      // #unroll
      for (var c = 0u; c < TJ; c++) {
        let j = j0 + c;
        if (j < p.cols) {
          finish(batch, i, j, acc[t][c]);
        }
      }
    }
  }
}
