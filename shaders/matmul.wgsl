// A batched matrix product with bias, residual and activation fused, for the ops
// TensorFlow.js runs around our backbone (the head's dense layers and their gradients, the
// detector's 1x1 convolutions; src/tfjs/kernels.ts):
//
//   out[b, i, j] = act( sum_k x[b, i, k] * y[b, k, j] + bias[i * bias_i + j * bias_j]
//                       + res[b, i, j] )
//
// (res fuses the detector's residual joins: src/detect/fuse.ts). Every operand is read
// through strides, so a transposed operand, a broadcast batch (stride 0) or a swapped product
// (C = A B computed as C^T = B^T A^T, whichever dimension is larger goes across lanes) is a
// change of uniforms, not of code.
//
// Work split as in pointwise.wgsl: lanes of a workgroup take different rows i (TI each,
// interleaved so that neighbouring lanes read neighbouring rows), while the TJ columns of a
// workgroup are the same for all its lanes, so each loaded x value feeds TJ multiply-adds and
// the y loads are workgroup-uniform (served from cache on a GPU). On lavapipe every lane still
// loads them one by one: matmul_subgroup.wgsl, for devices with subgroups, shares them instead.
//
// Constants: WG (workgroup size), TI (rows per lane), TJ (columns per workgroup), ACT (0 none,
// 1 relu, 2 relu6), HAS_BIAS, HAS_RES (0 or 1; without them their bindings are not read).

// #include matmul_io

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let batch = wid.z;
  let base = wid.x * WG * TI + lid.x;
  let j0 = wid.y * TJ;

  // Out-of-range rows and columns read row/column 0 and are not stored: no branches in the
  // k loop, and the column clamp keeps the y addresses uniform.
  var xrow: array<u32, TI>;
  // #unroll
  for (var t = 0u; t < TI; t++) {
    let i = base + t * WG;
    xrow[t] = batch * p.x_batch + select(0u, i, i < p.rows) * p.x_i;
  }
  var ycol: array<u32, TJ>;
  // #unroll
  for (var c = 0u; c < TJ; c++) {
    ycol[c] = batch * p.y_batch + select(0u, j0 + c, j0 + c < p.cols) * p.y_j;
  }

  var acc: array<array<f32, TJ>, TI>;
  for (var k = 0u; k < p.depth; k++) {
    var yk: array<f32, TJ>;
    // #unroll
    for (var c = 0u; c < TJ; c++) {
      yk[c] = y[ycol[c] + k * p.y_k];
    }
    // #unroll
    for (var t = 0u; t < TI; t++) {
      let xv = x[xrow[t] + k * p.x_k];
      // #unroll
      for (var c = 0u; c < TJ; c++) {
        acc[t][c] += xv * yk[c];
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
