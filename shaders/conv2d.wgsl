// A general 2-D convolution (any kernel size, stride and padding; NHWC; no dilation), bias
// and activation fused, for the convolutions TensorFlow.js runs that no specialised kernel of
// ours covers: the face detector's 5x5 stem (src/tfjs/kernels.ts). The work split is
// matmul.wgsl's: lanes take output pixels (TI each, interleaved), a workgroup takes TJ output
// channels, so each input value feeds TJ outputs and the weight loads are workgroup-uniform
// (conv2d_subgroup.wgsl shares them across lanes instead, for lavapipe). Layouts and
// uniforms: conv2d_io.wgsl.
// Constants: WG, TI, TJ, ACT (0 none, 1 relu, 2 relu6), HAS_BIAS (0 or 1).

// #include conv2d_io

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let first = wid.x * WG * TI + lid.x;
  let o0 = wid.y * TJ;

  // Each pixel's image and the input position of its window's top-left tap (may be
  // negative: kept as i32). Out-of-range pixels compute pixel 0 and are not stored.
  var win: array<Window, TI>;
  // #unroll
  for (var t = 0u; t < TI; t++) {
    win[t] = window_of(min(first + t * WG, p.pixels - 1u));
  }
  // Output channels past cout load channel cout-1 (uniform, in bounds) and are not stored.
  var col: array<u32, TJ>;
  // #unroll
  for (var c = 0u; c < TJ; c++) {
    col[c] = min(o0 + c, p.cout - 1u);
  }

  var acc: array<array<f32, TJ>, TI>;
  for (var ky = 0u; ky < p.kh; ky++) {
    for (var kx = 0u; kx < p.kw; kx++) {
      // Padding: a tap outside the image reads element 0 and is multiplied by 0.
      var at: array<u32, TI>;
      var inside: array<f32, TI>;
      // #unroll
      for (var t = 0u; t < TI; t++) {
        let tap = tap_of(win[t], ky, kx);
        at[t] = tap.x;
        inside[t] = f32(tap.y);
      }
      let wtap = (ky * p.kw + kx) * p.cin;
      for (var ci = 0u; ci < p.cin; ci++) {
        var wv: array<f32, TJ>;
        // #unroll
        for (var c = 0u; c < TJ; c++) {
          wv[c] = w[(wtap + ci) * p.cout + col[c]];
        }
        // #unroll
        for (var t = 0u; t < TI; t++) {
          let xv = x[at[t] + ci] * inside[t];
          // #unroll
          for (var c = 0u; c < TJ; c++) {
            acc[t][c] += xv * wv[c];
          }
        }
      }
    }
  }

  // #unroll
  for (var t = 0u; t < TI; t++) {
    let q = first + t * WG;
    if (q < p.pixels) {
      // #unroll
      for (var c = 0u; c < TJ; c++) {
        let o = o0 + c;
        if (o < p.cout) {
          finish(q, o, acc[t][c]);
        }
      }
    }
  }
}
