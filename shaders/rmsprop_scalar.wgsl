// rmsprop.wgsl for variables whose size is not a multiple of 4 (a bias of an odd number of
// classes): one value per lane.
// Constants: WG (workgroup size).

// #include rmsprop_update

@group(0) @binding(1) var<storage, read> value: array<f32>;
@group(0) @binding(2) var<storage, read> ms: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> new_value: array<f32>;
@group(0) @binding(5) var<storage, read_write> new_ms: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = gid.x; i < p.size; i += groups.x * WG) {
    let u = rmsprop_update(vec4<f32>(value[i]), vec4<f32>(ms[i]), vec4<f32>(grad[i]));
    new_value[i] = u.value.x;
    new_ms[i] = u.ms.x;
  }
}
