// The subgroup pointwise (1x1) convolution's body, shared by pointwise_subgroup.wgsl (the
// backbone: packed 4x4 weight blocks) and pointwise_rows_subgroup.wgsl (TensorFlow.js' 1x1
// convolutions: a row-major filter and an optional residual). Included with
// `// #include pointwise_subgroup_core`; not a kernel. The including kernel defines
// `fn weights_at(c: u32, o: u32) -> mat4x4<f32>` (the 4x4 block of input group c and output
// group o) and `fn store(at: u32, v: vec4<f32>)` (the accumulated output, before the
// activation), and the constants WG, TP, SG, ACT.
//
// Why this shape (measured on lavapipe, see bench/README.md):
// - On a CPU driver every invocation is one SIMD lane, and every storage load whose address is
//   not a compile-time constant is executed lane by lane (a bounds-checked scalar load per
//   lane and component), even when all lanes read the same address. Loads, not arithmetic,
//   set the speed, so the kernel is built to load each value once per SG lanes:
// - each invocation (lane) computes TP pixels x SG output-channel groups (4*SG channels);
//   its input vec4 of each pixel feeds 4*SG outputs;
// - the SG lanes of a subgroup share the weights: lane l loads only the 4x4 weight block of
//   output group l, and the others read it with subgroupShuffle (one register permute);
//   each weight loaded feeds TP pixels on every lane;
// - pixels t*WG + lane (t < TP) so that neighbouring lanes read neighbouring pixels.
// TP*SG vec4 accumulators exceed the register file; the spills cost less than the loads
// they replace (TP=4, SG=8 beat TP=1..2 and TP=8 on lavapipe).
// - Measured by ablation on lavapipe (driver CPU time, 14x14 512->512): the x loads take ~45%
//   of the kernel, the weight loads ~35%, and the cost of a load is per 32-bit word. So when a
//   layer's weights are exactly float16 (the default face backbone was trained and shipped in
//   float16), WH=1 reads them packed two per word: half the weight words, ~10% faster.
//
// Grid: (x, y) = pixel tiles of WG*TP pixels (folded past 65535), z = ceil(co4 / SG).
// Constants: WG (workgroup size, a multiple of SG), TP (pixels per invocation), SG (lanes
// that share weights: a divisor of the subgroup size), ACT (0 none, 1 relu, 2 relu6).

enable subgroups;

struct Params {
  pixels: u32,
  ci4: u32,
  co4: u32,
}

@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;
// #include layer_io

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(subgroup_invocation_id) sid: u32,
) {
  let first = (wid.x + wid.y * nwg.x) * WG * TP + lane;
  let o = wid.z * SG;                    // first output group of this workgroup
  let lw = sid % SG;                     // this lane's place among the SG sharing lanes
  let lb = sid - lw;                     // the first of them
  let own = min(o + lw, p.co4 - 1u);     // the output group whose weights this lane loads

  // Out-of-range pixels and groups are clamped (loads stay in bounds, every lane keeps
  // shuffling) and simply not stored.
  var row: array<u32, TP>;
  var acc: array<array<vec4<f32>, SG>, TP>;
  // #unroll
  for (var t = 0u; t < TP; t++) {
    row[t] = min(first + t * WG, p.pixels - 1u) * p.ci4;
    // #unroll
    for (var g = 0u; g < SG; g++) {
      acc[t][g] = b[min(o + g, p.co4 - 1u)];
    }
  }

  for (var c = 0u; c < p.ci4; c++) {
    var xv: array<vec4<f32>, TP>;
    // #unroll
    for (var t = 0u; t < TP; t++) {
      xv[t] = x[row[t] + c];
    }
    let m = weights_at(c, own);
    // #unroll
    for (var g = 0u; g < SG; g++) {
      let c0 = subgroupShuffle(m[0], lb + g);
      let c1 = subgroupShuffle(m[1], lb + g);
      let c2 = subgroupShuffle(m[2], lb + g);
      let c3 = subgroupShuffle(m[3], lb + g);
      // #unroll
      for (var t = 0u; t < TP; t++) {
        acc[t][g] += c0 * xv[t].x + c1 * xv[t].y + c2 * xv[t].z + c3 * xv[t].w;
      }
    }
  }

  // #unroll
  for (var t = 0u; t < TP; t++) {
    let q = first + t * WG;
    if (q < p.pixels) {
      // #unroll
      for (var g = 0u; g < SG; g++) {
        if (o + g < p.co4) {
          let at = q * p.co4 + o + g;
          store(at, acc[t][g]);
        }
      }
    }
  }
}
