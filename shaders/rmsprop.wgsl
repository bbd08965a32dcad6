// One RMSprop step for one variable, in a single pass over its values (tfjs' optimizer
// spends six element-wise kernels on it, each a full read and write of the variable):
//
//   ms'    = rho * ms + (1 - rho) * g^2
//   value' = value - lr * g / sqrt(ms' + eps)
//
// the same arithmetic, in the same order, as tfjs' RMSPropOptimizer without momentum or
// centering (src/tfjs/rmsprop.ts). Writes new buffers: tfjs tensors are immutable.
// Constants: WG (workgroup size).

struct Params {
  size: u32,
  lr: f32,
  rho: f32,
  one_minus_rho: f32, // computed once in double precision, as tfjs does
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> value: array<f32>;
@group(0) @binding(2) var<storage, read> ms: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> new_value: array<f32>;
@group(0) @binding(5) var<storage, read_write> new_ms: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  // A grid-stride loop: the grid is capped at the device's workgroup limit, any size fits.
  for (var i = gid.x; i < p.size; i += groups.x * WG) {
    let g = grad[i];
    let m = ms[i] * p.rho + g * g * p.one_minus_rho;
    new_ms[i] = m;
    new_value[i] = value[i] - g * p.lr / sqrt(m + p.eps);
  }
}
