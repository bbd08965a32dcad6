// Input preprocessing: packed 8-bit RGB images -> the backbone's input range, on the GPU, so
// that only 3 bytes a pixel cross the bus.
//
// src: N*H*W*3 bytes, packed little-endian four to a u32 word.
// dst: [N, H, W] vec4<f32>, channels (r, g, b, 0): activations are stored in groups of four
//      channels throughout the network, the fourth one zero-padded here.
// value = byte * scale + offset  (face backbone: 1, 0; ImageNet MobileNet: 1/127.5, -1).
//
// Constants: WG (workgroup size).

struct Params {
  pixels: u32,
  scale: f32,
  offset: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

// #include packed_bytes

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.pixels) {
    return;
  }
  let b = i * 3u;
  let rgb = vec3<f32>(src_byte(b), src_byte(b + 1u), src_byte(b + 2u)) * p.scale + vec3<f32>(p.offset);
  dst[i] = vec4<f32>(rgb, 0.0);
}
