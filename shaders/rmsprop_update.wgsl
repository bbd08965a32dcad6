// The RMSprop update of four values, shared by rmsprop.wgsl (vec4 arrays) and
// rmsprop_scalar.wgsl (sizes that are not a multiple of 4). Included; not a kernel.
//
//   ms'    = rho * ms + (1 - rho) * g^2
//   value' = value - lr * g / sqrt(ms' + eps)
//
// the same arithmetic, in the same order, as tfjs' RMSPropOptimizer without momentum or
// centering (src/tfjs/rmsprop.ts).

struct Params {
  size: u32,          // values (rmsprop_scalar) or vec4s (rmsprop)
  lr: f32,
  rho: f32,
  one_minus_rho: f32, // computed once in double precision, as tfjs does
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

struct Updated {
  value: vec4<f32>,
  ms: vec4<f32>,
}

fn rmsprop_update(value: vec4<f32>, ms: vec4<f32>, g: vec4<f32>) -> Updated {
  let m = ms * p.rho + g * g * p.one_minus_rho;
  return Updated(value - g * p.lr / sqrt(m + p.eps), m);
}
