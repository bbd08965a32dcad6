// The workgroup-memory tiled matrix product [pixels, ci4] x [ci4, co4] (mat4x4 blocks), bias
// and activation fused, shared by pointwise_tiled.wgsl (the pointwise layer: its input read
// from x) and depthwise_pointwise_tiled.wgsl (its input tile computed by the depthwise layer
// before it). Included with `// #include pointwise_tiled_core`; not a kernel. The including
// kernel declares `struct Params` with (at least) pixels, ci4 and co4, the constants TX, TY,
// RP, RC, BK, ACT and WH (weights: 0 float32, 1 float16 pairs, as weight_block.wgsl), the
// type WT (f32 or f16: the workgroup weight tile's; the runner's `types`), and `fn tile_input(q: u32, k: u32) -> vec4<f32>`: the product's input
// vec4 at pixel q (< pixels), channel group k (< ci4).
//
// A workgroup computes a tile of BM = TY*RP pixels x BN = TX*RC output-channel groups. It
// walks the input channels BK groups at a time: the workgroup fills the BM x BK input vec4
// (tile_input) and the BK x BN weight blocks it needs into workgroup memory (each once per
// workgroup instead of once per invocation), waits, and every invocation accumulates its
// RP x RC register tile from there. Workgroup memory: BM*BK*16 + BK*BN*64 bytes (BK*BN*32 for the weights with WT = f16).
//
// w: [ci4, co4] mat4x4 (float32, or float16 pairs: half the words read from global memory;
// the workgroup tile holds them as WT: f16 only for exactly-float16 weights, so the values
// are the same; the arithmetic is float32)    b: [co4] vec4    y: [pixels, co4] vec4
//
// Grid: (x, y) = pixel tiles (folded past 65535), z = ceil(co4 / BN).

@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;
// #include layer_io
// #include weight_block

const BM = TY * RP;
const BN = TX * RC;
const WG = TX * TY;

var<workgroup> xs: array<vec4<f32>, BM * BK>;
var<workgroup> ws: array<mat4x4<WT>, BK * BN>;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let tile = wid.x + wid.y * nwg.x;
  let p0 = tile * BM;
  let o0 = wid.z * BN;
  let tx = li % TX;
  let ty = li / TX;

  var acc: array<array<vec4<f32>, RC>, RP>;
  for (var c = 0u; c < RC; c++) {
    let o = o0 + tx * RC + c;
    var bias = vec4<f32>(0.0);
    if (o < p.co4) {
      bias = b[o];
    }
    for (var r = 0u; r < RP; r++) {
      acc[r][c] = bias;
    }
  }

  for (var k0 = 0u; k0 < p.ci4; k0 += BK) {
    // Cooperative fills (consecutive lanes: consecutive channel groups of a pixel); what lies
    // past the matrix is zero.
    for (var i = li; i < BM * BK; i += WG) {
      let q = p0 + i / BK;
      let k = k0 + i % BK;
      if ((q < p.pixels) & (k < p.ci4)) {
        xs[i] = tile_input(q, k);
      } else {
        xs[i] = vec4<f32>(0.0);
      }
    }
    for (var i = li; i < BK * BN; i += WG) {
      let k = k0 + i / BN;
      let o = o0 + i % BN;
      if ((k < p.ci4) & (o < p.co4)) {
        ws[i] = mat4x4<WT>(weight_block(k * p.co4 + o));
      } else {
        ws[i] = mat4x4<WT>();
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var xv: array<vec4<f32>, RP>;
      for (var r = 0u; r < RP; r++) {
        xv[r] = xs[(ty * RP + r) * BK + kk];
      }
      for (var c = 0u; c < RC; c++) {
        let m = mat4x4<f32>(ws[kk * BN + tx * RC + c]);
        for (var r = 0u; r < RP; r++) {
          acc[r][c] += m * xv[r];
        }
      }
    }
    workgroupBarrier();
  }

  for (var r = 0u; r < RP; r++) {
    let q = p0 + ty * RP + r;
    if (q < p.pixels) {
      for (var c = 0u; c < RC; c++) {
        let o = o0 + tx * RC + c;
        if (o < p.co4) {
          y[q * p.co4 + o] = activate(acc[r][c]);
        }
      }
    }
  }
}
