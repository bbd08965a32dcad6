// Byte i of packed 8-bit data (RGB pixels as the CPU decoded them), four bytes to a u32 word,
// little-endian, from the including kernel's `src` binding: only 3 bytes a pixel cross the
// bus, and the kernels unpack on the GPU.
fn src_byte(i: u32) -> f32 {
  return f32((src[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu);
}
