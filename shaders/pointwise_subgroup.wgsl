// Pointwise (1x1) convolution = a matrix product [pixels, ci] x [ci, co], folded-BatchNorm
// bias and activation fused; ~95% of MobileNet's arithmetic. The variant for devices with
// subgroups (pointwise.wgsl is the portable one); its body, and why it has this shape, are in
// pointwise_subgroup_core.wgsl. Same bindings as pointwise.wgsl.
//
// x: [pixels, ci4] vec4    b: [co4] vec4    y: [pixels, co4] vec4
// w: [ci4, co4] mat4x4 (column j = input channel 4c+j, rows = the 4 output channels of the
//    group), as raw words: WH=0 float32, 4 vec4<u32> per block; WH=1 float16 pairs (column j =
//    words 2j and 2j+1), 2 vec4<u32> per block
//
// Grid: (x, y) = pixel tiles of WG*TP pixels (folded past 65535), z = ceil(co4 / SG).
// Constants: WG (workgroup size, a multiple of SG), TP (pixels per invocation), SG (lanes
// that share weights: a divisor of the subgroup size), ACT (0 none, 1 relu, 2 relu6), WH
// (weights as float16 pairs).

// #include pointwise_subgroup_core

// #include weight_block

fn weights_at(c: u32, o: u32) -> mat4x4<f32> {
  return weight_block(c * p.co4 + o);
}

fn store(at: u32, v: vec4<f32>) {
  y[at] = activate(v);
}
