// One RMSprop step for one variable in a single pass over its values, four per lane (tfjs'
// optimizer spends six element-wise kernels on it, each a full read and write of the
// variable). Writes new buffers: tfjs tensors are immutable. For sizes that are a multiple
// of 4; rmsprop_scalar.wgsl takes the others.
// Constants: WG (workgroup size).

// #include rmsprop_update

@group(0) @binding(1) var<storage, read> value: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> ms: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> new_value: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> new_ms: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  // A grid-stride loop: the grid is capped at the device's workgroup limit, any size fits.
  for (var i = gid.x; i < p.size; i += groups.x * WG) {
    let u = rmsprop_update(value[i], ms[i], grad[i]);
    new_value[i] = u.value;
    new_ms[i] = u.ms;
  }
}
