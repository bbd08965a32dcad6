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
// One invocation writes 4 output pixels (which can straddle images): the 3 whole u32 words
// their 12 bytes fill, so no two invocations write the same word, and each pixel is mapped
// and sampled once for its three channels.
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

// #include packed_pixels

// Pixels (x, y) and (x + 1, y) of source image `image`, edge pixels repeated outside
// (fill_mode='nearest').
fn row_pair(image: u32, x: i32, y: i32) -> PixelPair {
  let cy = u32(clamp(y, 0, i32(p.height) - 1));
  return pixel_pair((image * p.height + cy) * p.width, x, p.width);
}

fn sample(image: u32, sx: f32, sy: f32) -> vec3<f32> {
  if (BILINEAR == 0u) {
    return row_pair(image, i32(floor(sx + 0.5)), i32(floor(sy + 0.5))).left;
  }
  let x0 = floor(sx);
  let y0 = floor(sy);
  let fx = sx - x0;
  let fy = sy - y0;
  let ix = i32(x0);
  let iy = i32(y0);
  let upper = row_pair(image, ix, iy);
  let lower = row_pair(image, ix, iy + 1);
  let top = mix(upper.left, upper.right, fx);
  let bottom = mix(lower.left, lower.right, fx);
  return mix(top, bottom, fy);
}

// Output pixel g (over all views), all three channels.
fn sample_pixel(g: u32) -> vec3<f32> {
  let area = p.width * p.height;
  let view = g / area;
  let pixel = g % area;
  let x = f32(pixel % p.width);
  let y = f32(pixel / p.width);
  let v = view * 8u;
  let sx = views[v] * x + views[v + 1u] * y + views[v + 2u];
  let sy = views[v + 3u] * x + views[v + 4u] * y + views[v + 5u];
  return sample(bitcast<u32>(views[v + 6u]), sx, sy);
}

// The 4 bytes of a word from 4 channel values, rounded to the nearest byte.
fn pack4(v: vec4<f32>) -> u32 {
  let b = vec4<u32>(clamp(floor(v + 0.5), vec4<f32>(0.0), vec4<f32>(255.0)));
  return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Four output pixels (over all views), the three whole words their 12 bytes fill.
  let quad = gid.x + gid.y * nwg.x * WG;
  let pixels = p.view_count * p.width * p.height;
  let g = quad * 4u;
  if (g >= pixels) {
    return;
  }
  // Pixels past the last view are zeros: the padding of the last word.
  let s0 = sample_pixel(g);
  var s1 = vec3<f32>(0.0);
  var s2 = vec3<f32>(0.0);
  var s3 = vec3<f32>(0.0);
  if (g + 1u < pixels) {
    s1 = sample_pixel(g + 1u);
  }
  if (g + 2u < pixels) {
    s2 = sample_pixel(g + 2u);
  }
  if (g + 3u < pixels) {
    s3 = sample_pixel(g + 3u);
  }
  let word = quad * 3u;
  dst[word] = pack4(vec4<f32>(s0, s1.x));
  if (word + 1u < p.words) {
    dst[word + 1u] = pack4(vec4<f32>(s1.yz, s2.xy));
  }
  if (word + 2u < p.words) {
    dst[word + 2u] = pack4(vec4<f32>(s2.z, s3));
  }
}
