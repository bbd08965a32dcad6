// Two neighbouring RGB pixels of packed 8-bit data (three bytes a pixel, four to a u32 word,
// little-endian) from the including kernel's `src` binding, for bilinear sampling: the two
// pixels of a row a sample lies between.
//
// Their 6 bytes lie in 3 consecutive words (the first byte's place in its word is 0-3), so a
// pair costs 3 word loads where two pixels read byte by byte cost 6. The samplers' time is
// their loads: on a CPU adapter each load is a loop over the lanes.

struct PixelPair {
  left: vec3<f32>,
  right: vec3<f32>,
}

// Byte k (0-11) of the 12 bytes of words a, b, c.
fn window_byte(a: u32, b: u32, c: u32, k: u32) -> f32 {
  let word = select(select(a, b, k >= 4u), c, k >= 8u);
  return f32((word >> ((k & 3u) * 8u)) & 0xffu);
}

// Pixels x and x + 1 of the row whose first pixel is pixel `row` of `src`, each clamped to the
// row's `width` pixels (the edge pixel repeats).
fn pixel_pair(row: u32, x: i32, width: u32) -> PixelPair {
  let x0 = u32(clamp(x, 0, i32(width) - 1));
  let x1 = u32(clamp(x + 1, 0, i32(width) - 1)); // x0 or x0 + 1
  let i = (row + x0) * 3u;
  let w = i >> 2u;
  // The third word lies past the data's last only when none of its bytes is needed; WebGPU
  // keeps such a read inside the buffer.
  let a = src[w];
  let b = src[w + 1u];
  let c = src[w + 2u];
  let l = i & 3u;
  let r = l + (x1 - x0) * 3u;
  return PixelPair(
    vec3<f32>(window_byte(a, b, c, l), window_byte(a, b, c, l + 1u), window_byte(a, b, c, l + 2u)),
    vec3<f32>(window_byte(a, b, c, r), window_byte(a, b, c, r + 1u), window_byte(a, b, c, r + 2u)),
  );
}
