// Global average pooling: [N, H, W, c4] vec4 -> [N, C] f32, written without the channel
// padding so the result can be read back (or handed to tfjs) as it is.
//
// Grid: x = channel groups / WG, y = image. Constants: WG.

struct Params {
  hw: u32,        // H * W
  c4: u32,
  channels: u32,  // C, the real channel count (c4 * 4 minus padding)
  inv_hw: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = gid.x;
  let n = wid.y;
  if (c >= p.c4) {
    return;
  }
  var sum = vec4<f32>(0.0);
  let base = n * p.hw * p.c4 + c;
  for (var i = 0u; i < p.hw; i++) {
    sum += x[base + i * p.c4];
  }
  let mean = sum * p.inv_hw;
  for (var k = 0u; k < 4u; k++) {
    let ch = c * 4u + k;
    if (ch < p.channels) {
      y[n * p.channels + ch] = mean[k];
    }
  }
}
