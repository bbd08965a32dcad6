// The activation fused into every convolution kernel, chosen by the including kernel's ACT
// constant (0 none, 1 relu, 2 relu6), for four values or one. Included with
// `// #include activation`; not a kernel.

fn activate(v: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) { return max(v, vec4<f32>(0.0)); }
  if (ACT == 2u) { return clamp(v, vec4<f32>(0.0), vec4<f32>(6.0)); }
  return v;
}

fn activate1(v: f32) -> f32 {
  if (ACT == 1u) { return max(v, 0.0); }
  if (ACT == 2u) { return clamp(v, 0.0, 6.0); }
  return v;
}
