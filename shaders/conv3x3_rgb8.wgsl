// The stem (full 3x3 "SAME" convolution of the RGB input, folded-BatchNorm bias and
// activation fused) reading the engine's packed 8-bit RGB input itself: the preprocessing
// (byte * scale + offset, preprocess.wgsl) is done here, so the pass has one dispatch and one
// buffer fewer, and a pixel costs 3 bytes loaded instead of a vec4 of 16.
//
// Why this shape (measured on lavapipe and SwiftShader, see bench/README.md): on CPU drivers
// a storage load whose address differs between lanes runs lane by lane, one bounds-checked
// scalar at a time, while a load at a compile-time constant address is made once and
// broadcast to every lane. The stem has few weights (9 taps x 3 input channels x its output
// channels) and many outputs, so:
// - every invocation computes TP horizontally adjacent output pixels x ALL CO4 output groups,
//   its loops written out, so that every weight index is a constant: the weights are a
//   fixed-size array read at constant indices, the same on every lane (broadcast; on GPUs a
//   uniform read, served by the constant cache), with no shuffles and no subgroups needed;
// - the input row segment under a tile (IN_COLS pixels, 3 bytes each) is NWORDS words, read
//   once per tap row; each byte is picked out with a shift, by where the segment starts
//   within its first word (a lane's own, 0..3 bytes in).
// Columns outside the image (and rows above or below it) are "SAME" padding: zero after
// preprocessing, not byte 0. Words read for them (also before the buffer's start or past its
// end, which WebGPU clamps) feed only padded columns and are discarded.
//
// src: N*in_h*in_w*3 bytes, packed little-endian four to a u32 word (the engine's input)
// w: [3, 3, 1, CO4] mat4x4 (column j = input channel j, j < 3; rows = the 4 output channels
//    of the group), float32, as NW = 9 * CO4 * 4 vec4
// b: [CO4] vec4    y: [N, out_h, out_w, CO4] vec4
//
// Grid: (x, y) = tiles / WG (folded past 65535). A tile is TP output pixels of one row.
// Constants: WG, TP, STRIDE, CO4 (output groups), NW (= 9 * CO4 * 4), ACT (0 none, 1 relu,
// 2 relu6).

struct Params {
  scale: f32,     // input value = byte * scale + offset (the backbone's preprocessing)
  offset: f32,
  tiles: u32,     // N * out_h * tiles_w
  tiles_w: u32,   // ceil(out_w / TP)
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  pad_top: u32,
  pad_left: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>, NW>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;

// #include activation

const IN_COLS = (TP - 1u) * STRIDE + 3u;
// Words that hold IN_COLS * 3 bytes from any starting byte within the first word.
const NWORDS = IN_COLS * 3u / 4u + 2u;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let index = (wid.x + wid.y * nwg.x) * WG + lane;
  let tile = min(index, p.tiles - 1u);   // out-of-range tiles: clamped, not stored
  let tx = tile % p.tiles_w;
  let oy = (tile / p.tiles_w) % p.out_h;
  let n = tile / (p.tiles_w * p.out_h);
  let ix0 = i32(tx * TP * STRIDE) - i32(p.pad_left);

  var acc: array<array<vec4<f32>, CO4>, TP>;
  // #unroll
  for (var g = 0u; g < CO4; g++) {
    let bias = b[g];
    // #unroll
    for (var t = 0u; t < TP; t++) {
      acc[t][g] = bias;
    }
  }

  // #unroll
  for (var ky = 0u; ky < 3u; ky++) {
    let iy = i32(oy * STRIDE + ky) - i32(p.pad_top);
    let row_in = (iy >= 0) & (iy < i32(p.in_h));
    // The segment's first byte; negative where it starts left of the first image's first pixel.
    let b0 = (i32((n * p.in_h + u32(max(iy, 0))) * p.in_w) + ix0) * 3;
    let w0 = b0 >> 2u;        // floor(b0 / 4), also for negative b0
    let skip = u32(b0 & 3);   // bytes of word w0 before the segment
    var words: array<u32, NWORDS>;
    // #unroll
    for (var q = 0u; q < NWORDS; q++) {
      words[q] = src[u32(max(w0 + i32(q), 0))];
    }
    var xin: array<vec3<f32>, IN_COLS>;
    // #unroll
    for (var i = 0u; i < IN_COLS; i++) {
      let ix = ix0 + i32(i);
      var v = vec3<f32>(0.0);
      // #unroll
      for (var c = 0u; c < 3u; c++) {
        // Byte i*3+c of the segment: in word (i*3+c)/4, or the next one when the segment's
        // offset carries it over.
        let at = skip + (i * 3u + c) % 4u;
        let word = select(words[(i * 3u + c) / 4u], words[(i * 3u + c) / 4u + 1u], at >= 4u);
        v[c] = f32((word >> ((at & 3u) * 8u)) & 255u) * p.scale + p.offset;
      }
      xin[i] = select(vec3<f32>(0.0), v, row_in & (ix >= 0) & (ix < i32(p.in_w)));
    }
    // #unroll
    for (var kx = 0u; kx < 3u; kx++) {
      // #unroll
      for (var g = 0u; g < CO4; g++) {
        let at = ((ky * 3u + kx) * CO4 + g) * 4u;
        let c0 = w[at];
        let c1 = w[at + 1u];
        let c2 = w[at + 2u];
        // #unroll
        for (var t = 0u; t < TP; t++) {
          let v = xin[t * STRIDE + kx];
          acc[t][g] += c0 * v.x + c1 * v.y + c2 * v.z;
        }
      }
    }
  }

  if (index < p.tiles) {
    // #unroll
    for (var t = 0u; t < TP; t++) {
      let ox = tx * TP + t;
      if (ox < p.out_w) {
        let at = ((n * p.out_h + oy) * p.out_w + ox) * CO4;
        // #unroll
        for (var g = 0u; g < CO4; g++) {
          y[at + g] = activate(acc[t][g]);
        }
      }
    }
  }
}
