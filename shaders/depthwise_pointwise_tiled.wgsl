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
// there. The product is pointwise_tiled_core.wgsl (shared with pointwise_tiled.wgsl), this
// kernel's tile_input computing the depthwise; its workgroup memory (BM*BK*16 + BK*BN*64
// bytes) does not grow with the channel count. The depthwise is recomputed once per BN-wide
// slice of the output channels (ceil(co4 / BN) times): 9 multiply-adds per input value
// against the pointwise's BN*4 per slice.
//
// x: [N, inH, inW, ci4] vec4 (the depthwise's input)   dw_w: [3, 3, ci4] vec4   dw_b: [ci4] vec4
// w: [ci4, co4] mat4x4 (pointwise; float32, or float16 pairs with WH = 1)   b: [co4] vec4   y: [pixels, co4] vec4, pixels = N*outH*outW
//
// Grid: (x, y) = pixel tiles (folded past 65535), z = ceil(co4 / BN).
// Constants: TX, TY (workgroup TX*TY invocations), RP (pixels per invocation), RC (output
// channel groups per invocation), BK (input channel groups per step), STRIDE (the
// depthwise's, 1 or 2), DACT (the depthwise's activation), ACT (the pointwise's): 0 none,
// 1 relu, 2 relu6; WH (the pointwise weights: 0 float32, 1 float16 pairs).

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

// #include pointwise_tiled_core

@group(0) @binding(5) var<storage, read> dw_w: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> dw_b: array<vec4<f32>>;

fn dw_activate(v: vec4<f32>) -> vec4<f32> {
  if (DACT == 1u) { return max(v, vec4<f32>(0.0)); }
  if (DACT == 2u) { return clamp(v, vec4<f32>(0.0), vec4<f32>(6.0)); }
  return v;
}

// The depthwise output at pixel q (< pixels), channel group k (< ci4): the product's input.
// The core fills its tile with consecutive lanes on consecutive channel groups of a pixel, so
// the input reads here are runs of vec4.
fn tile_input(q: u32, k: u32) -> vec4<f32> {
  let ox = q % p.out_w;
  let oy = (q / p.out_w) % p.out_h;
  let n = q / (p.out_w * p.out_h);
  var acc = dw_b[k];
  for (var ky = 0u; ky < 3u; ky++) {
    let iy = i32(oy * STRIDE + ky) - i32(p.pad_top);
    if ((iy < 0) | (iy >= i32(p.in_h))) { continue; }
    let row = (n * p.in_h + u32(iy)) * p.in_w;
    for (var kx = 0u; kx < 3u; kx++) {
      let ix = i32(ox * STRIDE + kx) - i32(p.pad_left);
      if ((ix < 0) | (ix >= i32(p.in_w))) { continue; }
      acc += dw_w[(ky * 3u + kx) * p.ci4 + k] * x[(row + u32(ix)) * p.ci4 + k];
    }
  }
  return dw_activate(acc);
}
