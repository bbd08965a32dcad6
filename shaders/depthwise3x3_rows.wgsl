// Depthwise 3x3 convolution, folded-BatchNorm bias and activation fused, TensorFlow "SAME"
// padding (the caller computes pad_top/pad_left). The strip variant for CPU adapters and
// GPUs with subgroups (depthwise3x3.wgsl is the one-output-per-invocation kernel). Same
// bindings as depthwise3x3.wgsl.
//
// Why this shape (measured on lavapipe, see bench/README.md): on a CPU driver every storage
// load is executed lane by lane, one 32-bit word at a time, so the kernel minimizes words
// loaded per output:
// - each invocation computes a strip of TC output columns and `rows` output rows of one
//   channel group, walking down it as a sliding window: the three input rows under an output
//   row stay in registers, and the next output row loads only the rows it does not share
//   (1 at stride 1, 2 at stride 2). At stride 1 with TC=4 that is 6 input loads per 4
//   outputs, against 36 per 16 for the 4x4 tile this replaced: 1.4-2.6x faster on every
//   stride-1 shape of MobileNet (batch 8). At stride 2 a strip one column wide measured
//   fastest (1.1-1.3x the 4x4 tile), wider strips slower.
// - the 9 taps and the bias are loaded once per strip;
// - the lanes of a workgroup are consecutive channel groups at the same strip, so at every
//   load they read consecutive vec4 (whole cache lines) and the strip position is the same
//   for all; where a layer's channel groups do not fill whole workgroups (BlazeFace's 6 and
//   12), a workgroup holds several strips of gw = c4 lanes each, so that no lane idles (the
//   builder makes WG a multiple of the lanes a SIMD batch or subgroup runs). gw is a uniform,
//   not a constant, so that such layers share the pipeline of their WG: every constant set
//   is a compile of its own (0.6-1.1 s at first use on lavapipe);
// - STRIDE and TC are constants, so the window loops have fixed trip counts and unroll.
//
// x: [N, inH, inW, c4] vec4    w: [3, 3, c4] vec4    b: [c4] vec4    y: [N, outH, outW, c4] vec4
//
// Grid: (x, y) = strips / (WG / gw) (folded past 65535), z = ceil(c4 / gw).
// Constants: WG (workgroup size, at most 256), TC (strip width), STRIDE (1 or 2), ACT (0 none,
// 1 relu, 2 relu6).

struct Params {
  strips: u32,    // N * strips_h * strips_w
  strips_w: u32,  // ceil(out_w / TC)
  strips_h: u32,  // ceil(out_h / rows)
  rows: u32,      // output rows per strip
  in_h: u32,
  in_w: u32,
  c4: u32,
  out_h: u32,
  out_w: u32,
  pad_top: u32,
  pad_left: u32,
  gw: u32,        // lanes (channel groups) per strip, a divisor of WG
  gw_recip: u32,  // ceil(65536 / gw): n / gw = (n * gw_recip) >> 16 for every n <= 256
}

@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
// #include layer_io

// Input columns under a strip.
const IN_COLS = (TC - 1u) * STRIDE + 3u;

// n / p.gw for n <= 256 with a multiply and a shift: CPU drivers divide a vector by a value
// unknown at compile time lane by lane. With it, BlazeFace's strip layers took what they did
// with SPW a constant (125-139 against 126-139 ms per 16 photos on lavapipe, per-op
// timestamps). Exact: with gw_recip = (65536 + e) / gw, 0 <= e < gw <= 256, the error
// n * e / 65536 stays below 1 (test/shaders.test.ts checks every gw and n).
fn over_gw(n: u32) -> u32 {
  return (n * p.gw_recip) >> 16u;
}

// One input row under the strip (channel group c), zeros outside the image ("SAME" padding).
fn load_row(n: u32, iy: i32, ix0: i32, c: u32) -> array<vec4<f32>, IN_COLS> {
  var r: array<vec4<f32>, IN_COLS>;
  let row_in = (iy >= 0) & (iy < i32(p.in_h));
  let row = (n * p.in_h + u32(max(iy, 0))) * p.in_w;
  // Written out, so that `r` is registers on SwiftShader too (its optimizer unrolls no loop of
  // ours): 1.06-1.09x the whole pass there, the same on lavapipe. It compiles in 0.1-0.6 s
  // since the bounds test uses `&`; with `&&` it took 24 GB at 8 columns (shaders/README.md).
  // #unroll
  for (var i = 0u; i < IN_COLS; i++) {
    let ix = ix0 + i32(i);
    r[i] = vec4<f32>(0.0);
    if (row_in & (ix >= 0) & (ix < i32(p.in_w))) {
      r[i] = x[(row + u32(ix)) * p.c4 + c];
    }
  }
  return r;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Channel groups past c4 (a partial last workgroup) and strips past the last one (a folded
  // grid) compute on clamped indices and are not stored.
  let slot = over_gw(lane); // this lane's strip in the workgroup
  let group = wid.z * p.gw + lane - slot * p.gw;
  let c = min(group, p.c4 - 1u);
  let index = (wid.x + wid.y * nwg.x) * over_gw(WG) + slot;
  let strip = min(index, p.strips - 1u);
  let sx = strip % p.strips_w;
  let sy = (strip / p.strips_w) % p.strips_h;
  let n = strip / (p.strips_w * p.strips_h);
  let ix0 = i32(sx * TC * STRIDE) - i32(p.pad_left);
  let oy0 = sy * p.rows;
  let store = (group < p.c4) & (index < p.strips);

  var tap: array<vec4<f32>, 9>;
  // #unroll
  for (var k = 0u; k < 9u; k++) {
    tap[k] = w[k * p.c4 + c];
  }
  let bias = b[c];

  // r0, r1, r2: the input rows under the current output row.
  let iy0 = i32(oy0 * STRIDE) - i32(p.pad_top);
  var r0 = load_row(n, iy0, ix0, c);
  var r1 = r0;
  if (STRIDE == 1u) {
    r1 = load_row(n, iy0 + 1, ix0, c);
  }
  for (var r = 0u; r < p.rows; r++) {
    let oy = oy0 + r;
    let iy = i32(oy * STRIDE) - i32(p.pad_top);
    if (STRIDE == 2u) {
      r1 = load_row(n, iy + 1, ix0, c);
    }
    let r2 = load_row(n, iy + 2, ix0, c);
    // #unroll
    for (var q = 0u; q < TC; q++) {
      let k = q * STRIDE;
      var acc = bias;
      acc += tap[0] * r0[k] + tap[1] * r0[k + 1u] + tap[2] * r0[k + 2u];
      acc += tap[3] * r1[k] + tap[4] * r1[k + 1u] + tap[5] * r1[k + 2u];
      acc += tap[6] * r2[k] + tap[7] * r2[k + 1u] + tap[8] * r2[k + 2u];
      let ox = sx * TC + q;
      if (store & (oy < p.out_h) & (ox < p.out_w)) {
        y[((n * p.out_h + oy) * p.out_w + ox) * p.c4 + c] = activate(acc);
      }
    }
    // Slide down: keep the rows the next output row shares with this one.
    if (STRIDE == 1u) {
      r0 = r1;
      r1 = r2;
    } else {
      r0 = r2;
    }
  }
}
