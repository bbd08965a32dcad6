// Reading one mat4x4 weight block of a convolution (column j = input channel j of the block's
// 4, rows = its 4 output channels) from the kernel's `w: array<vec4<u32>>`, chosen by the
// including kernel's WH constant: 0 = float32 (4 words per column), 1 = float16 pairs (2 words
// per column; see src/mobilenet/half-weights.ts). Included with `// #include weight_block`.

fn weight_block(block: u32) -> mat4x4<f32> {
  if (WH == 1u) {
    let lo = w[block * 2u];
    let hi = w[block * 2u + 1u];
    return mat4x4<f32>(
      vec4<f32>(unpack2x16float(lo.x), unpack2x16float(lo.y)),
      vec4<f32>(unpack2x16float(lo.z), unpack2x16float(lo.w)),
      vec4<f32>(unpack2x16float(hi.x), unpack2x16float(hi.y)),
      vec4<f32>(unpack2x16float(hi.z), unpack2x16float(hi.w)),
    );
  }
  let at = block * 4u;
  return mat4x4<f32>(
    bitcast<vec4<f32>>(w[at]),
    bitcast<vec4<f32>>(w[at + 1u]),
    bitcast<vec4<f32>>(w[at + 2u]),
    bitcast<vec4<f32>>(w[at + 3u]),
  );
}
