// Training-time augmentation, the recipe of the original Keras notebook (ImageDataGenerator
// with rotation_range=45, width_shift_range=0.3, height_shift_range=0.3,
// horizontal_flip=True, fill_mode='nearest'): every output view is one source image under
// its own affine map. The CPU draws each view's rotation, shift and flip from a seeded
// generator and folds them into one 2x3 matrix (see src/train/augment.ts); this kernel only
// samples.
//
// src:   packed 8-bit RGB images, W x H x 3 bytes each, four bytes to a u32 word.
// views: 8 floats per output view: [a, b, c, d, e, f, src_image (bitcast u32), unused];
//        the output pixel (x, y) reads the source at (a*x + b*y + c, d*x + e*y + f).
// dst:   packed 8-bit RGB views, laid out as src.
// Outside the source the edge pixel is repeated (Keras fill_mode='nearest', i.e. scipy's
// mode='nearest'). Sampling is bilinear like Keras' default interpolation_order=1, or
// nearest-neighbour with BILINEAR = 0. Values are rounded to the nearest byte.
//
// One invocation writes one u32 word of the output (four channel bytes, which can straddle
// pixels and images), so no two invocations write the same word.
//
// Constants: WG (workgroup size), BILINEAR (1 bilinear, 0 nearest).

struct Params {
  words: u32,
  width: u32,
  height: u32,
  view_count: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> views: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

// #include packed_bytes

fn texel_byte(image: u32, x: i32, y: i32, channel: u32) -> f32 {
  // Clamp to the edge: fill_mode='nearest'.
  let cx = u32(clamp(x, 0, i32(p.width) - 1));
  let cy = u32(clamp(y, 0, i32(p.height) - 1));
  return src_byte(((image * p.height + cy) * p.width + cx) * 3u + channel);
}

fn sample(image: u32, sx: f32, sy: f32, channel: u32) -> f32 {
  if (BILINEAR == 0u) {
    return texel_byte(image, i32(floor(sx + 0.5)), i32(floor(sy + 0.5)), channel);
  }
  let x0 = floor(sx);
  let y0 = floor(sy);
  let fx = sx - x0;
  let fy = sy - y0;
  let ix = i32(x0);
  let iy = i32(y0);
  let top = mix(texel_byte(image, ix, iy, channel), texel_byte(image, ix + 1, iy, channel), fx);
  let bottom = mix(texel_byte(image, ix, iy + 1, channel), texel_byte(image, ix + 1, iy + 1, channel), fx);
  return mix(top, bottom, fy);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let word = gid.x + gid.y * nwg.x * WG;
  if (word >= p.words) {
    return;
  }
  let per_image = p.width * p.height * 3u;
  var packed = 0u;
  for (var k = 0u; k < 4u; k++) {
    let b = word * 4u + k;
    let view = b / per_image;
    if (view >= p.view_count) {
      break; // padding after the last view
    }
    let rest = b % per_image;
    let pixel = rest / 3u;
    let channel = rest % 3u;
    let x = f32(pixel % p.width);
    let y = f32(pixel / p.width);
    let v = view * 8u;
    let sx = views[v] * x + views[v + 1u] * y + views[v + 2u];
    let sy = views[v + 3u] * x + views[v + 4u] * y + views[v + 5u];
    let value = sample(bitcast<u32>(views[v + 6u]), sx, sy, channel);
    packed |= u32(clamp(floor(value + 0.5), 0.0, 255.0)) << (k * 8u);
  }
  dst[word] = packed;
}
