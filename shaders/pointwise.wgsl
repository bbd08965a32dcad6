// Pointwise (1x1) convolution = a matrix product [pixels, ci] x [ci, co], folded-BatchNorm
// bias and activation fused. This is ~95% of MobileNet's arithmetic, so it is the kernel
// that is register-blocked:
//
// - every invocation computes TP pixels x TC output-channel groups (TP*TC vec4
//   accumulators), so each loaded input vec4 feeds TC matrix-vector products and each
//   loaded weight matrix feeds TP of them;
// - the output-channel tile is the workgroup's (grid y), so weight and bias loads are
//   workgroup-uniform: a CPU driver (lavapipe) turns them into one scalar load and a
//   broadcast, and a GPU serves them from cache to all threads at once;
// - pixels of one workgroup are adjacent (grid x), so their inputs share cache lines.
//
// x: [pixels, ci4] vec4    w: [ci4, co4] mat4x4 (column j = input channel j of the group,
// rows = 4 output channels)    b: [co4] vec4    y: [pixels, co4] vec4
//
// Constants: WG (workgroup size), TP (pixels per invocation), TC (output channel groups per
// invocation; co4 must be a multiple of TC), ACT (0 none, 1 relu, 2 relu6).

struct Params {
  pixels: u32,
  ci4: u32,
  co4: u32,
}

@group(0) @binding(2) var<storage, read> w: array<mat4x4<f32>>;
// #include layer_io

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  // Pixels are interleaved across the workgroup (pixel = base + t * WG + lane) so that at
  // each step neighbouring lanes read neighbouring pixels.
  let base = wid.x * WG * TP + lid.x;
  let o0 = wid.y * TC;

  var acc: array<array<vec4<f32>, TC>, TP>;
  var pix: array<u32, TP>;
  // #unroll
  for (var t = 0u; t < TP; t++) {
    // Out-of-range pixels read pixel 0 and are not stored: keeps the loop free of branches.
    let q = base + t * WG;
    pix[t] = select(0u, q, q < p.pixels);
    // #unroll
    for (var j = 0u; j < TC; j++) {
      acc[t][j] = b[o0 + j];
    }
  }
  for (var c = 0u; c < p.ci4; c++) {
    var xv: array<vec4<f32>, TP>;
    // #unroll
    for (var t = 0u; t < TP; t++) {
      xv[t] = x[pix[t] * p.ci4 + c];
    }
    // #unroll
    for (var j = 0u; j < TC; j++) {
      let m = w[c * p.co4 + o0 + j];
      // #unroll
      for (var t = 0u; t < TP; t++) {
        acc[t][j] += m * xv[t];
      }
    }
  }
  // #unroll
  for (var t = 0u; t < TP; t++) {
    let q = base + t * WG;
    if (q < p.pixels) {
      // #unroll
      for (var j = 0u; j < TC; j++) {
        y[q * p.co4 + o0 + j] = activate(acc[t][j]);
      }
    }
  }
}
