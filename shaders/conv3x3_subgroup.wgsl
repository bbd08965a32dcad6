enable subgroups;
// Full 3x3 convolution (the MobileNet stem), folded-BatchNorm bias and activation fused,
// TensorFlow "SAME" padding (the caller computes pad_top/pad_left). The variant for devices
// with subgroups (conv3x3.wgsl is the portable one). Same bindings as conv3x3.wgsl.
//
// Why this shape (measured on lavapipe, see bench/README.md): storage loads run lane by lane
// on CPU drivers, and the stem has few input channels but 9 taps x many output groups of
// weights, so weights were 4 of every 5 loads in the one-output-group-per-invocation kernel.
// - Each invocation computes TP horizontally adjacent output pixels x SG output groups:
//   an input row segment of (TP-1)*STRIDE+3 pixels is loaded once per tap row and input
//   group and feeds TP*SG*4 outputs.
// - The SG lanes of a subgroup share the weights as in pointwise_subgroup.wgsl: lane l loads
//   the 4x4 block of output group l, the others read it with subgroupShuffle.
//
// - Weights that are exactly float16 (the default face backbone's) are read as packed pairs
//   (WH=1), half the words, as in pointwise_subgroup.wgsl.
//
// x: [N, inH, inW, ci4] vec4    b: [co4] vec4    y: [N, outH, outW, co4] vec4
// w: [3, 3, ci4, co4] mat4x4 (column j = input channel 4c+j, rows = the 4 output channels),
//    as raw words: WH=0 float32, 4 vec4<u32> per block; WH=1 float16 pairs, 2 per block
//
// Grid: (x, y) = tiles / WG (folded past 65535), z = ceil(co4 / SG). A tile is TP output
// pixels of one row. Constants: WG (a multiple of SG), TP, STRIDE, SG (lanes that share
// weights: a divisor of the subgroup size), ACT (0 none, 1 relu, 2 relu6), WH (weights as
// float16 pairs).

struct Params {
  tiles: u32,     // N * out_h * tiles_w
  tiles_w: u32,   // ceil(out_w / TP)
  in_h: u32,
  in_w: u32,
  ci4: u32,
  out_h: u32,
  out_w: u32,
  co4: u32,
  pad_top: u32,
  pad_left: u32,
}

@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;
// #include layer_io

const IN_COLS = (TP - 1u) * STRIDE + 3u;

// #include weight_block

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(subgroup_invocation_id) sid: u32,
) {
  let index = (wid.x + wid.y * nwg.x) * WG + lane;
  let tile = min(index, p.tiles - 1u);   // out-of-range tiles: clamped, not stored
  let tx = tile % p.tiles_w;
  let oy = (tile / p.tiles_w) % p.out_h;
  let n = tile / (p.tiles_w * p.out_h);
  let ix0 = i32(tx * TP * STRIDE) - i32(p.pad_left);

  let o = wid.z * SG;
  let lw = sid % SG;
  let lb = sid - lw;
  let own = min(o + lw, p.co4 - 1u);

  var acc: array<array<vec4<f32>, SG>, TP>;
  // #unroll
  for (var t = 0u; t < TP; t++) {
    // #unroll
    for (var g = 0u; g < SG; g++) {
      acc[t][g] = b[min(o + g, p.co4 - 1u)];
    }
  }

  // #unroll
  for (var ky = 0u; ky < 3u; ky++) {
    let iy = i32(oy * STRIDE + ky) - i32(p.pad_top);
    let row_in = (iy >= 0) & (iy < i32(p.in_h));
    let row = (n * p.in_h + u32(max(iy, 0))) * p.in_w;
    for (var ci = 0u; ci < p.ci4; ci++) {
      var xin: array<vec4<f32>, IN_COLS>;
      // #unroll
      for (var i = 0u; i < IN_COLS; i++) {
        let ix = ix0 + i32(i);
        xin[i] = vec4<f32>(0.0);  // "SAME" padding
        if (row_in & (ix >= 0) & (ix < i32(p.in_w))) {
          xin[i] = x[(row + u32(ix)) * p.ci4 + ci];
        }
      }
      // #unroll
      for (var kx = 0u; kx < 3u; kx++) {
        let m = weight_block(((ky * 3u + kx) * p.ci4 + ci) * p.co4 + own);
        // #unroll
        for (var g = 0u; g < SG; g++) {
          let c0 = subgroupShuffle(m[0], lb + g);
          let c1 = subgroupShuffle(m[1], lb + g);
          let c2 = subgroupShuffle(m[2], lb + g);
          let c3 = subgroupShuffle(m[3], lb + g);
          // #unroll
          for (var t = 0u; t < TP; t++) {
            let v = xin[t * STRIDE + kx];
            acc[t][g] += c0 * v.x + c1 * v.y + c2 * v.z + c3 * v.w;
          }
        }
      }
    }
  }

  if (index < p.tiles) {
    // #unroll
    for (var t = 0u; t < TP; t++) {
      let ox = tx * TP + t;
      if (ox < p.out_w) {
        let at = ((n * p.out_h + oy) * p.out_w + ox) * p.co4;
        // #unroll
        for (var g = 0u; g < SG; g++) {
          if (o + g < p.co4) {
            y[at + o + g] = activate(acc[t][g]);
          }
        }
      }
    }
  }
}
