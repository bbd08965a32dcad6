// Max pooling of an NHWC tensor whose channels come in fours ([N, H, W, C/4] vec4, which is
// tfjs' own layout when C % 4 = 0): BlazeFace's 2x2 stride-2 pools before its downsampling
// residual joins. One output vec4 per lane, neighbouring lanes on neighbouring channel groups
// of one output row (consecutive words). Padded taps are skipped, as in TensorFlow; NaN never
// wins (`v > m` is false), as in tfjs' CPU kernel.
//
// Grid: x = the output row's OW * C/4 vec4s / WG, y = output row, z = image (a row and an
// image from the grid: integer division is a scalar loop over the lanes on CPU drivers, and
// taking all four coordinates from one index took six of them).
// Constants: WG.

struct Params {
  row4: u32,    // vec4s in an output row: OW * C/4
  c4: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  fh: u32,      // window
  fw: u32,
  sh: u32,      // strides
  sw: u32,
  top: u32,     // padding before the first row and column
  left: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j < p.row4) {
    let c = j % p.c4;
    let ox = j / p.c4;
    let oy = gid.y;
    let n = gid.z;
    // The window's rows and columns that lie inside the image.
    let ys = i32(oy * p.sh) - i32(p.top);
    let xs = i32(ox * p.sw) - i32(p.left);
    let y1 = min(ys + i32(p.fh), i32(p.h));
    let x1 = min(xs + i32(p.fw), i32(p.w));
    // -infinity, built at run time: WGSL refuses it as a constant.
    var m = vec4<f32>(bitcast<f32>(0xff800000u | (p.c4 & 0u)));
    for (var yy = max(ys, 0); yy < y1; yy++) {
      let row = (n * p.h + u32(yy)) * p.w;
      for (var xx = max(xs, 0); xx < x1; xx++) {
        let v = x[(row + u32(xx)) * p.c4 + c];
        m = select(m, v, v > m);
      }
    }
    y[(n * p.oh + oy) * p.row4 + j] = m;
  }
}
