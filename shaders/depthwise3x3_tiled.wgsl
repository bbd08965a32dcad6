// Depthwise 3x3 convolution, folded-BatchNorm bias and activation fused, TensorFlow "SAME"
// padding (the caller computes pad_top/pad_left), stride 1 or 2: the GPU-style kernel that
// keeps a tile of input in workgroup memory (the shape tfjs-backend-webgpu and ONNX Runtime
// use on GPUs), a candidate for the tuner (src/tune/). Same bindings as depthwise3x3.wgsl.
//
// A workgroup computes a tile of TH x TW output pixels for CG consecutive channel groups. It
// first loads the input under the tile, halo included ((TH-1)*STRIDE+3 rows x
// (TW-1)*STRIDE+3 columns x CG vec4, zeros outside the image), into workgroup memory, each
// input vec4 once, every invocation a share of it; then, after one barrier, each invocation
// computes RY output rows of one column and one channel group from there, its 9 taps and
// bias in registers. On a GPU that replaces the 9 global reads per output of the portable
// kernel (and the 2.25x re-read of a stride-1 neighbourhood) with shared-memory reads; on a
// CPU adapter workgroup memory is ordinary memory plus a barrier (the tuner measures which).
//
// The lanes of a workgroup are CG consecutive channel groups first, so the cooperative loads
// read whole runs of vec4 (NHWC) and the compute reads CG consecutive tile entries.
//
// x: [N, inH, inW, c4] vec4    w: [3, 3, c4] vec4    b: [c4] vec4    y: [N, outH, outW, c4] vec4
//
// Grid: (x, y) = spatial tiles (folded past 65535), z = ceil(c4 / CG).
// Constants: CG (channel groups per workgroup), TW, TH (output tile, columns x rows), RY
// (output rows per invocation, divides TH), STRIDE (1 or 2), ACT (0 none, 1 relu, 2 relu6).
// Workgroup: CG * TW * TH / RY invocations; workgroup memory IN_H * IN_W * CG * 16 bytes
// (src/kernels/depthwise-tiled.ts checks both against the device's limits).

struct Params {
  tiles: u32,    // N * tiles_h * tiles_w
  tiles_w: u32,  // ceil(out_w / TW)
  tiles_h: u32,  // ceil(out_h / TH)
  in_h: u32,
  in_w: u32,
  c4: u32,
  out_h: u32,
  out_w: u32,
  pad_top: u32,
  pad_left: u32,
}

@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
// #include layer_io

// The input under a tile, halo included.
const IN_W = (TW - 1u) * STRIDE + 3u;
const IN_H = (TH - 1u) * STRIDE + 3u;
const TY = TH / RY;
const WG = CG * TW * TY;

// [IN_H][IN_W][CG] vec4.
var<workgroup> tile: array<vec4<f32>, IN_H * IN_W * CG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Workgroups past the last tile (a folded grid) compute the last tile again and store nothing.
  let index = wid.x + wid.y * nwg.x;
  let t = min(index, p.tiles - 1u);
  let ox0 = (t % p.tiles_w) * TW;
  let oy0 = ((t / p.tiles_w) % p.tiles_h) * TH;
  let n = t / (p.tiles_w * p.tiles_h);
  let c0 = wid.z * CG;
  let ix0 = i32(ox0 * STRIDE) - i32(p.pad_left);
  let iy0 = i32(oy0 * STRIDE) - i32(p.pad_top);

  // Cooperative load of the input tile; zeros outside the image and past c4.
  for (var i = li; i < IN_H * IN_W * CG; i += WG) {
    let cg = i % CG;
    let pos = i / CG;
    let ix = ix0 + i32(pos % IN_W);
    let iy = iy0 + i32(pos / IN_W);
    let c = c0 + cg;
    var v = vec4<f32>(0.0);
    if ((c < p.c4) & (ix >= 0) & (ix < i32(p.in_w)) & (iy >= 0) & (iy < i32(p.in_h))) {
      v = x[((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.c4 + c];
    }
    tile[i] = v;
  }
  workgroupBarrier();

  let cg = li % CG;
  let s = li / CG;
  let lx = s % TW;
  let ly0 = (s / TW) * RY;
  // Channel groups past c4 (a partial last workgroup) compute on a clamped index and are not stored.
  let c = min(c0 + cg, p.c4 - 1u);
  var tap: array<vec4<f32>, 9>;
  for (var k = 0u; k < 9u; k++) {
    tap[k] = w[k * p.c4 + c];
  }
  let bias = b[c];
  let ox = ox0 + lx;
  let store = (c0 + cg < p.c4) & (index < p.tiles) & (ox < p.out_w);
  for (var r = 0u; r < RY; r++) {
    let ly = ly0 + r;
    var acc = bias;
    for (var ky = 0u; ky < 3u; ky++) {
      let row = (ly * STRIDE + ky) * IN_W + lx * STRIDE;
      acc += tap[ky * 3u] * tile[row * CG + cg];
      acc += tap[ky * 3u + 1u] * tile[(row + 1u) * CG + cg];
      acc += tap[ky * 3u + 2u] * tile[(row + 2u) * CG + cg];
    }
    let oy = oy0 + ly;
    if (store & (oy < p.out_h)) {
      y[((n * p.out_h + oy) * p.out_w + ox) * p.c4 + c] = activate(acc);
    }
  }
}
