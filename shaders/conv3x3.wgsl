// Full 3x3 convolution (the MobileNet stem), folded-BatchNorm bias and activation fused.
// TensorFlow "SAME" padding; the caller computes pad_top/pad_left from the shapes.
//
// x: [N, inH, inW, ci4] vec4    w: [3, 3, ci4, co4] mat4x4 (column j = input channel j,
// rows = the 4 output channels)  b: [co4] vec4    y: [N, outH, outW, co4] vec4
//
// Grid: x = output pixels / WG, y = co4. Every invocation of a workgroup works on the same
// output-channel group, so weight and bias loads are workgroup-uniform: on CPU Vulkan
// drivers (lavapipe) a uniform load is one scalar load and a broadcast instead of a gather.
//
// Constants: WG (workgroup size), ACT (0 none, 1 relu, 2 relu6).

struct Params {
  pixels: u32,   // N * outH * outW
  in_h: u32,
  in_w: u32,
  ci4: u32,
  out_h: u32,
  out_w: u32,
  co4: u32,
  stride: u32,
  pad_top: u32,
  pad_left: u32,
}

@group(0) @binding(2) var<storage, read> w: array<mat4x4<f32>>;
// #include layer_io

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let pix = gid.x;
  let o = wid.y;
  if (pix >= p.pixels) {
    return;
  }
  let ox = pix % p.out_w;
  let oy = (pix / p.out_w) % p.out_h;
  let n = pix / (p.out_w * p.out_h);
  var acc = b[o];
  for (var ky = 0u; ky < 3u; ky++) {
    let iy = i32(oy * p.stride + ky) - i32(p.pad_top);
    if ((iy < 0) | (iy >= i32(p.in_h))) { continue; }
    for (var kx = 0u; kx < 3u; kx++) {
      let ix = i32(ox * p.stride + kx) - i32(p.pad_left);
      if ((ix < 0) | (ix >= i32(p.in_w))) { continue; }
      let xbase = ((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.ci4;
      let wbase = (ky * 3u + kx) * p.ci4;
      for (var c = 0u; c < p.ci4; c++) {
        acc += w[(wbase + c) * p.co4 + o] * x[xbase + c];
      }
    }
  }
  y[pix * p.co4 + o] = activate(acc);
}
