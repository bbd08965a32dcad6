enable subgroups;
// Depthwise 3x3 convolution, folded-BatchNorm bias and activation fused, TensorFlow "SAME"
// padding (the caller computes pad_top/pad_left). The variant for devices with subgroups
// (depthwise3x3.wgsl is the portable one). Same bindings as depthwise3x3.wgsl.
//
// Why this shape (measured on lavapipe, see bench/README.md): on a CPU driver each storage
// load is executed lane by lane, so the kernel minimizes loads per output:
// - each invocation computes a TR x TC tile of output pixels of one channel group, so an
//   input pixel is loaded once per tile instead of once per tap: (TR-1)*S+3 rows times
//   (TC-1)*S+3 columns for TR*TC outputs (4x4 at stride 1: 36 loads instead of 144);
// - the 9 taps and the bias of the workgroup's channel group are spread over the SG lanes
//   of a subgroup (each loads one or two) and read by all through subgroupShuffle;
// - STRIDE is a constant, so all the tile loops have fixed trip counts and unroll.
//
// x: [N, inH, inW, c4] vec4    w: [3, 3, c4] vec4    b: [c4] vec4    y: [N, outH, outW, c4] vec4
//
// Grid: (x, y) = tiles / WG (folded past 65535), z = channel group.
// Constants: WG (workgroup size, a multiple of SG), TR, TC (output tile), STRIDE (1 or 2),
// SG (lanes that share the taps: a divisor of the subgroup size), ACT (0 none, 1 relu, 2 relu6).

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
const HELD = (10u + SG - 1u) / SG;  // taps + bias values each lane loads

fn activate(v: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) { return max(v, vec4<f32>(0.0)); }
  if (ACT == 2u) { return clamp(v, vec4<f32>(0.0), vec4<f32>(6.0)); }
  return v;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(subgroup_invocation_id) sid: u32,
) {
  let c = wid.z;

  // Value v (taps 0..8 in row-major order, 9 = bias) is loaded by lane v % SG.
  let lw = sid % SG;
  let lb = sid - lw;
  var held: array<vec4<f32>, HELD>;
  for (var i = 0u; i < HELD; i++) {
    let v = lw + i * SG;
    if (v < 9u) {
      held[i] = w[v * p.c4 + c];
    } else if (v == 9u) {
      held[i] = b[c];
    }
  }
  var tap: array<vec4<f32>, 10>;
  for (var v = 0u; v < 10u; v++) {
    tap[v] = subgroupShuffle(held[v / SG], lb + v % SG);
  }

  // Out-of-range tiles are clamped (every lane keeps shuffling) and not stored.
  let index = (wid.x + wid.y * nwg.x) * WG + lane;
  let tile = min(index, p.tiles - 1u);
  let tx = tile % p.tiles_w;
  let ty = (tile / p.tiles_w) % p.tiles_h;
  let n = tile / (p.tiles_w * p.tiles_h);
  let iy0 = i32(ty * TR * STRIDE) - i32(p.pad_top);
  let ix0 = i32(tx * TC * STRIDE) - i32(p.pad_left);

  var acc: array<array<vec4<f32>, TC>, TR>;
  for (var r = 0u; r < TR; r++) {
    for (var q = 0u; q < TC; q++) {
      acc[r][q] = tap[9];
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

  if (index < p.tiles) {
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
