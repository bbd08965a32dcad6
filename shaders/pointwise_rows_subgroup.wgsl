// TensorFlow.js' 1x1, stride 1 convolutions (src/tfjs/kernels/conv2d.ts) on the backbone's
// subgroup pointwise body (pointwise_subgroup_core.wgsl): the filter is read as tfjs stores
// it, a row-major [ci, co] float32 matrix, and a residual may be added before the activation
// (BlazeFace's residual joins, fused by src/detect/fuse.ts). Channel counts are multiples of
// 4, so tfjs' NHWC tensors are the core's vec4 layout as they are.
//
// x: [pixels, ci4] vec4    w: [ci, co] float32 (as vec4<u32> words)    b: [co4] vec4
// y, res: [pixels, co4] vec4
//
// Grid: as pointwise_subgroup.wgsl. Constants: WG, TP, SG, ACT as there; HAS_RES (add `res`
// before the activation; without it the runner binds a placeholder there, unread).

// #include pointwise_subgroup_core

@group(0) @binding(5) var<storage, read> res: array<vec4<f32>>; // laid out as y; read when HAS_RES

// The 4x4 block of input group c and output group o: rows 4c..4c+3 of the matrix hold the
// block's columns.
fn weights_at(c: u32, o: u32) -> mat4x4<f32> {
  let r = 4u * c * p.co4 + o;
  return mat4x4<f32>(
    bitcast<vec4<f32>>(w[r]),
    bitcast<vec4<f32>>(w[r + p.co4]),
    bitcast<vec4<f32>>(w[r + 2u * p.co4]),
    bitcast<vec4<f32>>(w[r + 3u * p.co4]),
  );
}

fn store(at: u32, v: vec4<f32>) {
  if (HAS_RES == 1u) {
    y[at] = activate(v + res[at]);
  } else {
    y[at] = activate(v);
  }
}
