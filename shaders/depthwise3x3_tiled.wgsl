// Depthwise 3x3 convolution, folded-BatchNorm bias and activation fused, TensorFlow "SAME"
// padding (the caller computes pad_top/pad_left). The tiled variant (depthwise3x3.wgsl is the
// one-output-per-invocation kernel). Same bindings as depthwise3x3.wgsl.
//
// Why this shape (measured on lavapipe, see bench/README.md): on a CPU driver each storage
// load is executed lane by lane, so the kernel minimizes loads per output:
// - each invocation computes a TR x TC tile of output pixels of one channel group, so an
//   input pixel is loaded once per tile instead of once per tap: (TR-1)*S+3 rows times
//   (TC-1)*S+3 columns for TR*TC outputs (4x4 at stride 1: 36 loads instead of 144); its
//   9 taps and bias are loaded once for the whole tile;
// - the lanes of a workgroup are WG consecutive channel groups at the same tile, so at every
//   load they read WG consecutive vec4 (whole cache lines) and the tile position is the same
//   for all (no per-lane integer division). Spreading tiles over the lanes instead, with taps
//   shared by subgroupShuffle, loaded a little less but ran 10-15% slower;
// - STRIDE is a constant, so all the tile loops have fixed trip counts and unroll.
//
// x: [N, inH, inW, c4] vec4    w: [3, 3, c4] vec4    b: [c4] vec4    y: [N, outH, outW, c4] vec4
//
// - a workgroup computes TPW tiles one after the other, so the taps and bias (10 loads) are
//   loaded once for all of them, and the driver starts fewer workgroups: 16 tiles took 15-19%
//   less driver CPU time than 1 on every MobileNet shape (batch 8, lavapipe).
//
// Grid: (x, y) = ceil(tiles / TPW) (folded past 65535), z = ceil(c4 / WG).
// Constants: WG (workgroup size), TR, TC (output tile), TPW (tiles per workgroup), STRIDE (1
// or 2), ACT (0 none, 1 relu, 2 relu6).

struct Params {
  tiles: u32,     // N * tiles_h * tiles_w
  tiles_w: u32,   // ceil(out_w / TC)
  tiles_h: u32,   // ceil(out_h / TR)
  in_h: u32,
  in_w: u32,
  c4: u32,
  out_h: u32,
  out_w: u32,
  pad_top: u32,
  pad_left: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;

const IN_ROWS = (TR - 1u) * STRIDE + 3u;
const IN_COLS = (TC - 1u) * STRIDE + 3u;

// #include activation

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Channel groups past c4 (a partial last workgroup) and tiles past the last one (a folded
  // grid) compute on clamped indices and are not stored.
  let group = wid.z * WG + lane;
  let c = min(group, p.c4 - 1u);

  // The taps and bias of this channel group, loaded once for the workgroup's TPW tiles.
  var tap: array<vec4<f32>, 9>;
  for (var k = 0u; k < 9u; k++) {
    tap[k] = w[k * p.c4 + c];
  }
  let bias = b[c];

  for (var j = 0u; j < TPW; j++) {
    let index = (wid.x + wid.y * nwg.x) * TPW + j;
    let tile = min(index, p.tiles - 1u);
    let tx = tile % p.tiles_w;
    let ty = (tile / p.tiles_w) % p.tiles_h;
    let n = tile / (p.tiles_w * p.tiles_h);
    let iy0 = i32(ty * TR * STRIDE) - i32(p.pad_top);
    let ix0 = i32(tx * TC * STRIDE) - i32(p.pad_left);

    var acc: array<array<vec4<f32>, TC>, TR>;
    for (var r = 0u; r < TR; r++) {
      for (var q = 0u; q < TC; q++) {
        acc[r][q] = bias;
      }
    }
    // Walk the input window once; each pixel is added into every output whose 3x3 it is in.
    for (var ir = 0u; ir < IN_ROWS; ir++) {
      let iy = iy0 + i32(ir);
      let row_in = iy >= 0 && iy < i32(p.in_h);
      let row = (n * p.in_h + u32(max(iy, 0))) * p.in_w;
      for (var ic = 0u; ic < IN_COLS; ic++) {
        let ix = ix0 + i32(ic);
        var v = vec4<f32>(0.0);  // "SAME" padding
        if (row_in && ix >= 0 && ix < i32(p.in_w)) {
          v = x[(row + u32(ix)) * p.c4 + c];
        }
        for (var r = 0u; r < TR; r++) {
          let ky = i32(ir) - i32(r * STRIDE);
          if (ky >= 0 && ky < 3) {
            for (var q = 0u; q < TC; q++) {
              let kx = i32(ic) - i32(q * STRIDE);
              if (kx >= 0 && kx < 3) {
                acc[r][q] += tap[u32(ky * 3 + kx)] * v;
              }
            }
          }
        }
      }
    }

    if (group < p.c4 && index < p.tiles) {
      for (var r = 0u; r < TR; r++) {
        let oy = ty * TR + r;
        for (var q = 0u; q < TC; q++) {
          let ox = tx * TC + q;
          if (oy < p.out_h && ox < p.out_w) {
            y[((n * p.out_h + oy) * p.out_w + ox) * p.c4 + c] = activate(acc[r][q]);
          }
        }
      }
    }
  }
}
