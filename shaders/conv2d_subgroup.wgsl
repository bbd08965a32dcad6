enable subgroups;
// conv2d.wgsl for devices with subgroups: the same convolution, bindings and uniforms, but the
// weights of a workgroup's TJ output channels are loaded once per SG lanes and shared with
// subgroupShuffle (as matmul_subgroup.wgsl shares y): on a CPU driver every storage load is
// executed lane by lane, even when all lanes read one address.
// Layouts and uniforms: conv2d_io.wgsl.
// Constants: WG (a multiple of SG), TI, TJ (a multiple of SG), SG, ACT, HAS_BIAS.

// #include conv2d_io

const TG: u32 = TJ / SG; // weights each lane loads per input channel and tap

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
  var win: array<Window, TI>;
  // #unroll
  for (var t = 0u; t < TI; t++) {
    win[t] = window_of(min(first + t * WG, p.pixels - 1u));
  }
  // This lane loads the weights of output channels o0 + g * SG + lw (the last one past cout).
  var col: array<u32, TG>;
  // #unroll
  for (var g = 0u; g < TG; g++) {
    col[g] = min(o0 + g * SG + lw, p.cout - 1u);
  }

  // The loop skeleton (register tile, depth loop, loads of one operand) repeats conv2d.wgsl's
  // on purpose: the inner products differ in shape (here the other operand comes from
  // other lanes through subgroupShuffle), and WGSL has no function values to pass one
  // skeleton its inner step. The uniforms, bindings, window and epilogue are shared
  // through includes.
  var acc: array<array<f32, TJ>, TI>;
  for (var ky = 0u; ky < p.kh; ky++) {
    for (var kx = 0u; kx < p.kw; kx++) {
      // Padding: a tap outside the image reads element 0 and is multiplied by 0.
      var at: array<u32, TI>;
      var inside: array<f32, TI>;
      // #unroll
      for (var t = 0u; t < TI; t++) {
        let tap = tap_of(win[t], ky, kx);
        at[t] = tap.x;
        inside[t] = f32(tap.y);
      }
      let wtap = (ky * p.kw + kx) * p.cin;
      for (var ci = 0u; ci < p.cin; ci++) {
        var xv: array<f32, TI>;
        // #unroll
        for (var t = 0u; t < TI; t++) {
          xv[t] = x[at[t] + ci] * inside[t];
        }
        // #unroll
        for (var g = 0u; g < TG; g++) {
          let mine = w[(wtap + ci) * p.cout + col[g]];
          // #unroll
          for (var s = 0u; s < SG; s++) {
            let wv = subgroupShuffle(mine, lb + s);
            // #unroll
            for (var t = 0u; t < TI; t++) {
              acc[t][g * SG + s] += xv[t] * wv;
            }
          }
        }
      }
    }
  }

  // #unroll
  for (var t = 0u; t < TI; t++) {
    let q = first + t * WG;
    if (q < p.pixels) {
      // #unroll
      for (var c = 0u; c < TJ; c++) {
        let o = o0 + c;
        if (o < p.cout) {
          finish(q, o, acc[t][c]);
        }
      }
    }
  }
}
