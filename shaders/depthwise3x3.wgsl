// Depthwise 3x3 convolution, stride 1 or 2, folded-BatchNorm bias and activation fused.
// TensorFlow "SAME" padding; the caller computes pad_top/pad_left from the shapes.
//
// x: [N, inH, inW, c4] vec4    w: [3, 3, c4] vec4    b: [c4] vec4    y: [N, outH, outW, c4] vec4
//
// Grid: x = output pixels / WG, y = channel group. As in conv3x3.wgsl the channel group is
// the workgroup's, so the 9 weights and the bias are uniform loads (broadcasts on CPU
// drivers); the input loads are the only per-invocation gathers.
//
// Constants: WG (workgroup size), ACT (0 none, 1 relu, 2 relu6).

struct Params {
  pixels: u32,   // N * outH * outW
  in_h: u32,
  in_w: u32,
  c4: u32,
  out_h: u32,
  out_w: u32,
  stride: u32,
  pad_top: u32,
  pad_left: u32,
}

@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
// #include layer_io

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let pix = gid.x;
  let c = wid.y;
  if (pix >= p.pixels) {
    return;
  }
  let ox = pix % p.out_w;
  let oy = (pix / p.out_w) % p.out_h;
  let n = pix / (p.out_w * p.out_h);
  var acc = b[c];
  // #unroll
  for (var ky = 0u; ky < 3u; ky++) {
    let iy = i32(oy * p.stride + ky) - i32(p.pad_top);
    if ((iy >= 0) & (iy < i32(p.in_h))) {
      let row = (n * p.in_h + u32(iy)) * p.in_w;
      // #unroll
      for (var kx = 0u; kx < 3u; kx++) {
        let ix = i32(ox * p.stride + kx) - i32(p.pad_left);
        if ((ix >= 0) & (ix < i32(p.in_w))) {
          acc += w[(ky * 3u + kx) * p.c4 + c] * x[(row + u32(ix)) * p.c4 + c];
        }
      }
    }
  }
  y[pix * p.c4 + c] = activate(acc);
}
