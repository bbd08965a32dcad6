// A depthwise 3x3 layer and the pointwise (1x1) layer after it in one kernel, the
// depthwise's output never written to global memory: pointwise_tiled.wgsl's workgroup-memory
// tiled matrix product whose input tile is not loaded but computed. A candidate for the tuner
// (src/tune/) on MobileNet's depthwise -> pointwise pairs.
//
// A workgroup computes BM = TY*RP pixels x BN = TX*RC output-channel groups. It walks the
// input channels BK groups at a time; at each step the workgroup computes the depthwise
// outputs of its BM pixels x BK channel groups (9 taps from the depthwise's input, its bias
// and activation, "SAME" padding) into workgroup memory, loads the BK x BN pointwise weight
// blocks beside them, waits, and every invocation accumulates its RP x RC register tile from
// there. Workgroup memory is that of pointwise_tiled.wgsl (BM*BK*16 + BK*BN*64 bytes), not
// growing with the channel count. The depthwise is recomputed once per BN-wide slice of the
// output channels (ceil(co4 / BN) times): 9 multiply-adds per input value against the
// pointwise's BN*4 per slice.
//
// x: [N, inH, inW, ci4] vec4 (the depthwise's input)   dw_w: [3, 3, ci4] vec4   dw_b: [ci4] vec4
// w: [ci4, co4] mat4x4 (pointwise)   b: [co4] vec4   y: [pixels, co4] vec4, pixels = N*outH*outW
//
// Grid: (x, y) = pixel tiles (folded past 65535), z = ceil(co4 / BN).
// Constants: TX, TY (workgroup TX*TY invocations), RP (pixels per invocation), RC (output
// channel groups per invocation), BK (input channel groups per step), STRIDE (the
// depthwise's, 1 or 2), DACT (the depthwise's activation), ACT (the pointwise's): 0 none,
// 1 relu, 2 relu6.

struct Params {
  pixels: u32,    // N * out_h * out_w
  ci4: u32,
  co4: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  pad_top: u32,
  pad_left: u32,
}

@group(0) @binding(2) var<storage, read> w: array<mat4x4<f32>>;
// #include layer_io
@group(0) @binding(5) var<storage, read> dw_w: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> dw_b: array<vec4<f32>>;

const BM = TY * RP;
const BN = TX * RC;
const WG = TX * TY;

var<workgroup> xs: array<vec4<f32>, BM * BK>;
var<workgroup> ws: array<mat4x4<f32>, BK * BN>;

fn dw_activate(v: vec4<f32>) -> vec4<f32> {
  if (DACT == 1u) { return max(v, vec4<f32>(0.0)); }
  if (DACT == 2u) { return clamp(v, vec4<f32>(0.0), vec4<f32>(6.0)); }
  return v;
}

// The depthwise output at pixel q (< pixels), channel group k (< ci4).
fn depthwise(q: u32, k: u32) -> vec4<f32> {
  let ox = q % p.out_w;
  let oy = (q / p.out_w) % p.out_h;
  let n = q / (p.out_w * p.out_h);
  var acc = dw_b[k];
  for (var ky = 0u; ky < 3u; ky++) {
    let iy = i32(oy * STRIDE + ky) - i32(p.pad_top);
    if (iy < 0 || iy >= i32(p.in_h)) { continue; }
    let row = (n * p.in_h + u32(iy)) * p.in_w;
    for (var kx = 0u; kx < 3u; kx++) {
      let ix = i32(ox * STRIDE + kx) - i32(p.pad_left);
      if (ix < 0 || ix >= i32(p.in_w)) { continue; }
      acc += dw_w[(ky * 3u + kx) * p.ci4 + k] * x[(row + u32(ix)) * p.ci4 + k];
    }
  }
  return dw_activate(acc);
}

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
    // The depthwise outputs of the tile (consecutive lanes: consecutive channel groups of a
    // pixel, so the input reads are runs of vec4); what lies past the matrix is zero.
    for (var i = li; i < BM * BK; i += WG) {
      let q = p0 + i / BK;
      let k = k0 + i % BK;
      if (q < p.pixels && k < p.ci4) {
        xs[i] = depthwise(q, k);
      } else {
        xs[i] = vec4<f32>(0.0);
      }
    }
    for (var i = li; i < BK * BN; i += WG) {
      let k = k0 + i / BN;
      let o = o0 + i % BN;
      if (k < p.ci4 && o < p.co4) {
        ws[i] = w[k * p.co4 + o];
      } else {
        ws[i] = mat4x4<f32>();
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var xv: array<vec4<f32>, RP>;
      for (var r = 0u; r < RP; r++) {
        xv[r] = xs[(ty * RP + r) * BK + kk];
      }
      for (var c = 0u; c < RC; c++) {
        let m = ws[kk * BN + tx * RC + c];
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
