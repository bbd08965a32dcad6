// What conv2d.wgsl and conv2d_subgroup.wgsl share: uniforms, bindings, where a pixel's
// window starts, and the epilogue that adds the bias, applies the activation and stores one
// output. Included with `// #include conv2d_io`; not a kernel. Uses the including kernel's
// ACT and HAS_BIAS.
//
// x: [n, in_h, in_w, cin]    w: [kh, kw, cin, cout]    bias: [cout]    y: [n, out_h, out_w, cout]

// #include activation

struct Params {
  pixels: u32, // n * out_h * out_w
  in_h: u32,
  in_w: u32,
  cin: u32,
  out_h: u32,
  out_w: u32,
  cout: u32,
  kh: u32,
  kw: u32,
  stride_h: u32,
  stride_w: u32,
  pad_top: u32,
  pad_left: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

/** Output pixel q's image and the input position of its window's top-left tap (may be negative). */
struct Window {
  img: u32,
  top: i32,
  left: i32,
}

fn window_of(q: u32) -> Window {
  let ox = q % p.out_w;
  let oy = (q / p.out_w) % p.out_h;
  return Window(q / (p.out_w * p.out_h), i32(oy * p.stride_h) - i32(p.pad_top), i32(ox * p.stride_w) - i32(p.pad_left));
}

/** Where tap (ky, kx) of window `win` starts in x, and 1, or 0 and 0 where it is padding. */
fn tap_of(win: Window, ky: u32, kx: u32) -> vec2<u32> {
  let iy = win.top + i32(ky);
  let ix = win.left + i32(kx);
  let ok = (iy >= 0) & (ix >= 0) & (iy < i32(p.in_h)) & (ix < i32(p.in_w));
  return select(vec2<u32>(0u, 0u), vec2<u32>(((win.img * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.cin, 1u), ok);
}

/** y at output pixel q, channel o, from its sum. */
fn finish(q: u32, o: u32, sum: f32) {
  var v = sum;
  if (HAS_BIAS == 1u) { v += bias[o]; }
  y[q * p.cout + o] = activate1(v);
}
