// Element-wise ops that TensorFlow.js runs around our kernels, four values per invocation
// (src/tfjs/kernels.ts): the face detector's residual joins (Add, then Relu) and the head's
// relu gradients (Step, Multiply).
//
// OP: 0 out = a + b, 1 out = relu(a), 2 out = step(a) (1 where a > 0, else alpha),
//     3 out = a * b. b is not read by 1 and 2; NaN stays NaN in 1 and 2, as in tfjs.
// Constants: WG, OP.

struct Params {
  size4: u32, // number of vec4s
  alpha: f32, // step's value where a <= 0
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

// By its bits: compilers may fold `v != v` to false (lavapipe does).
fn is_nan(v: vec4<f32>) -> vec4<bool> {
  return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

fn apply(v: vec4<f32>, i: u32) -> vec4<f32> {
  if (OP == 0u) { return v + b[i]; }
  if (OP == 1u) { return select(v, vec4<f32>(0.0), v < vec4<f32>(0.0)); }
  if (OP == 2u) { return select(select(vec4<f32>(p.alpha), vec4<f32>(1.0), v > vec4<f32>(0.0)), v, is_nan(v)); }
  return v * b[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  // A grid-stride loop: the grid is capped at the device's workgroup limit, any size fits.
  for (var i = gid.x; i < p.size4; i += groups.x * WG) {
    out[i] = apply(a[i], i);
  }
}
