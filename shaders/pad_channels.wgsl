// Constant padding of the last (channel) axis of a tensor whose channels come in fours, before
// and after them in whole groups of four: [rows, c4] vec4 -> [rows, BEFORE4 + c4 + after4]
// vec4 (tfjs' PadV2 as BlazeFace uses it, widening the skip path of a downsampling join from
// 24 to 48 and from 48 to 96 channels). One output vec4 per lane.
//
// Grid: x = rows * out_c4 / WG, in a grid-stride loop (the grid is capped at the device's
// limit). Lanes over flat output indices, not a workgroup per row: BlazeFace's rows have 12
// and 24 output groups, and on lavapipe a workgroup per row (32 768 tiny workgroups a run)
// took 0.21 ms per photo, this 0.09 (tfjs' own padding kernel: 0.38).
// Constants: WG.

struct Params {
  rows: u32,     // every axis but the last, multiplied
  c4: u32,       // input channel groups
  out_c4: u32,   // output channel groups
  before4: u32,  // groups of padding before the input's
  value: f32,    // the padding value
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = gid.x; i < p.rows * p.out_c4; i += groups.x * WG) {
    let g = i % p.out_c4;
    var v = vec4<f32>(p.value);
    if ((g >= p.before4) & (g - p.before4 < p.c4)) {
      v = x[(i / p.out_c4) * p.c4 + g - p.before4];
    }
    y[i] = v;
  }
}
