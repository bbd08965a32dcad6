enable subgroups;
// conv2d.wgsl for devices with subgroups: the same convolution, bindings and uniforms, but the
// weights of a workgroup's TJ output channels are loaded once per SG lanes and shared with
// subgroupShuffle (as matmul_subgroup.wgsl shares y): on a CPU driver every storage load is
// executed lane by lane, even when all lanes read one address.
//
// x: [n, in_h, in_w, cin]    w: [kh, kw, cin, cout]    bias: [cout]    y: [n, out_h, out_w, cout]
// Constants: WG (a multiple of SG), TI, TJ (a multiple of SG), SG, ACT, HAS_BIAS.

struct Params {
  pixels: u32,
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

const TG: u32 = TJ / SG; // weights each lane loads per input channel and tap

fn act(v: f32) -> f32 {
  if (ACT == 1u) { return max(v, 0.0); }
  if (ACT == 2u) { return clamp(v, 0.0, 6.0); }
  return v;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(subgroup_invocation_id) sid: u32,
) {
  let first = wid.x * WG * TI + lane;
  let o0 = wid.y * TJ;
  let lw = sid % SG; // this lane's place among the SG sharing lanes
  let lb = sid - lw; // the first of them

  // Each pixel's image and the input position of its window's top-left tap (may be
  // negative). Out-of-range pixels compute pixel 0 and are not stored.
  var img: array<u32, TI>;
  var top: array<i32, TI>;
  var left: array<i32, TI>;
  for (var t = 0u; t < TI; t++) {
    let q = min(first + t * WG, p.pixels - 1u);
    let ox = q % p.out_w;
    let oy = (q / p.out_w) % p.out_h;
    img[t] = q / (p.out_w * p.out_h);
    top[t] = i32(oy * p.stride_h) - i32(p.pad_top);
    left[t] = i32(ox * p.stride_w) - i32(p.pad_left);
  }
  // This lane loads the weights of output channels o0 + g * SG + lw (the last one past cout).
  var col: array<u32, TG>;
  for (var g = 0u; g < TG; g++) {
    col[g] = min(o0 + g * SG + lw, p.cout - 1u);
  }

  var acc: array<array<f32, TJ>, TI>;
  for (var ky = 0u; ky < p.kh; ky++) {
    for (var kx = 0u; kx < p.kw; kx++) {
      // Padding: a tap outside the image reads element 0 and is multiplied by 0.
      var at: array<u32, TI>;
      var inside: array<f32, TI>;
      for (var t = 0u; t < TI; t++) {
        let iy = top[t] + i32(ky);
        let ix = left[t] + i32(kx);
        let ok = iy >= 0 && ix >= 0 && iy < i32(p.in_h) && ix < i32(p.in_w);
        at[t] = select(0u, ((img[t] * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.cin, ok);
        inside[t] = select(0.0, 1.0, ok);
      }
      let wtap = (ky * p.kw + kx) * p.cin;
      for (var ci = 0u; ci < p.cin; ci++) {
        var xv: array<f32, TI>;
        for (var t = 0u; t < TI; t++) {
          xv[t] = x[at[t] + ci] * inside[t];
        }
        for (var g = 0u; g < TG; g++) {
          let mine = w[(wtap + ci) * p.cout + col[g]];
          for (var s = 0u; s < SG; s++) {
            let wv = subgroupShuffle(mine, lb + s);
            for (var t = 0u; t < TI; t++) {
              acc[t][g * SG + s] += xv[t] * wv;
            }
          }
        }
      }
    }
  }

  for (var t = 0u; t < TI; t++) {
    let q = first + t * WG;
    if (q >= p.pixels) { continue; }
    for (var c = 0u; c < TJ; c++) {
      let o = o0 + c;
      if (o >= p.cout) { continue; }
      var v = acc[t][c];
      if (HAS_BIAS == 1u) { v += bias[o]; }
      y[q * p.cout + o] = act(v);
    }
  }
}
