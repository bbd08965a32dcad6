// What matmul.wgsl and matmul_subgroup.wgsl share: uniforms, bindings, and the epilogue that
// adds bias and residual, applies the activation and stores one output. Included with
// `// #include matmul_io`; not a kernel. Uses the including kernel's ACT, HAS_BIAS, HAS_RES.

// #include activation

struct Params {
  rows: u32,      // extent of i
  cols: u32,      // extent of j
  depth: u32,     // extent of k
  x_batch: u32,   // strides of x: batch, i, k
  x_i: u32,
  x_k: u32,
  y_batch: u32,   // strides of y: batch, k, j
  y_k: u32,
  y_j: u32,
  out_batch: u32, // strides of out: batch, i, j
  out_i: u32,
  out_j: u32,
  bias_i: u32,    // strides of the bias (one of them is 0)
  bias_j: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> res: array<f32>; // laid out as out

/** out[batch, i, j] from its sum over k. */
fn finish(batch: u32, i: u32, j: u32, sum: f32) {
  var v = sum;
  if (HAS_BIAS == 1u) { v += bias[i * p.bias_i + j * p.bias_j]; }
  let at = batch * p.out_batch + i * p.out_i + j * p.out_j;
  if (HAS_RES == 1u) { v += res[at]; }
  out[at] = activate1(v);
}
