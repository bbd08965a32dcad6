// Sum over a contiguous run of axes, for the Sum ops TensorFlow.js runs in the head's
// gradients (a bias gradient sums [batch, units] over the batch) (src/tfjs/kernels.ts).
// The input is viewed as [outer, reduced, inner]; each lane sums one (outer, inner) column
// in order, so neighbouring lanes read neighbouring values.
//
// x: [outer, reduced, inner]    out: [outer, inner]
// Constants: WG.

struct Params {
  outputs: u32, // outer * inner
  reduced: u32,
  inner: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var o = gid.x; o < p.outputs; o += groups.x * WG) {
    let outer = o / p.inner;
    let inner = o % p.inner;
    var at = outer * p.reduced * p.inner + inner;
    var s = 0.0;
    for (var r = 0u; r < p.reduced; r++) {
      s += x[at];
      at += p.inner;
    }
    out[o] = s;
  }
}
