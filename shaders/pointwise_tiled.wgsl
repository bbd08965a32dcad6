// Pointwise (1x1) convolution as a workgroup-memory tiled matrix product: the shape tfjs and
// ONNX Runtime use on GPUs, a candidate for the tuner (src/tune/). Same bindings as
// pointwise.wgsl, or float16 pairs (WH = 1). The product is pointwise_tiled_core.wgsl; this
// kernel gives it its input straight from x.
//
// A workgroup computes a tile of BM = TY*RP pixels x BN = TX*RC output-channel groups. It
// walks the input channels BK groups at a time: the workgroup loads the BM x BK input vec4
// and the BK x BN weight blocks it needs into workgroup memory (each from global memory
// once per workgroup instead of once per invocation), waits, and every invocation
// accumulates its RP x RC register tile from there. On a GPU that turns most loads into
// shared-memory reads; on a CPU adapter workgroup memory is ordinary memory plus barriers,
// so there it rarely wins (the tuner measures which).
//
// x: [pixels, ci4] vec4    w: [ci4, co4] mat4x4    b: [co4] vec4    y: [pixels, co4] vec4
//
// Grid: (x, y) = pixel tiles (folded past 65535), z = ceil(co4 / BN).
// Constants: TX, TY (workgroup TX*TY invocations), RP (pixels per invocation), RC (output
// channel groups per invocation), BK (input channel groups per step), ACT, WH.

struct Params {
  pixels: u32,
  ci4: u32,
  co4: u32,
}

// #include pointwise_tiled_core

fn tile_input(q: u32, k: u32) -> vec4<f32> {
  return x[q * p.ci4 + k];
}
