// Face alignment: N affine views of ONE photo, each size x size, for the backbone
// (src/detect/warp.ts builds the maps, src/detect/align.ts explains them).
//
// src:  the photo, width x height packed 8-bit RGB, four bytes to a u32 word (padded).
// maps: 8 floats per view: [a, b, c, d, e, f, taps, unused]. Output position (X, Y) reads
//       the photo at (a*X + b*Y + c, d*X + e*Y + f). Both in continuous pixel coordinates:
//       pixel (i, j) covers [i, i+1) x [j, j+1), so output pixel (x, y) is centred at
//       (x + 0.5, y + 0.5) and a source position (u, v) lies between the pixels whose
//       centres surround it, (u - 0.5, v - 0.5) in pixel indices.
// dst:  N views, size x size packed 8-bit RGB each, one after another from word p.out_word.
//
// Sampling: bilinear. When a map shrinks the photo (taps > 1: source pixels per output
// pixel, rounded up, capped), each output pixel averages a taps x taps grid of bilinear
// samples spread evenly over its square, so that a 900-pixel face shrunk to 224 is filtered
// instead of point-sampled (which would alias).
// Outside the photo the edge pixel is repeated (clamp to edge) rather than filled with a
// colour: a face near the photo's border, or the corners a rotation brings in, then
// continue the photo's own colours instead of drawing a hard artificial edge the backbone
// would see as a feature; training's augmentation fills the same way (augment.wgsl).
// Values are rounded to the nearest byte.
//
// One invocation writes 4 output pixels (possibly of two views): the 3 whole u32 words their
// 12 bytes fill. With a word each, the pixel a word shares with the next was sampled twice
// (6 samplings per 4 pixels).
//
// Constants: WG (workgroup size).

struct Params {
  words: u32,    // words to write
  out_word: u32, // first word of dst written
  size: u32,
  count: u32,
  width: u32,
  height: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> maps: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

// #include packed_pixels

// Pixels (x, y) and (x + 1, y), edge pixels repeated outside.
fn row_pair(x: i32, y: i32) -> PixelPair {
  let cy = u32(clamp(y, 0, i32(p.height) - 1));
  return pixel_pair(cy * p.width, x, p.width);
}

// Bilinear sample at continuous source position (u, v), edge pixels repeated outside.
fn bilinear(u: f32, v: f32) -> vec3<f32> {
  // Far outside, every tap is the edge pixel anyway; clamping first keeps i32() in range.
  let px = clamp(u - 0.5, -1.0, f32(p.width));
  let py = clamp(v - 0.5, -1.0, f32(p.height));
  let x0 = floor(px);
  let y0 = floor(py);
  let fx = px - x0;
  let fy = py - y0;
  let ix = i32(x0);
  let iy = i32(y0);
  let upper = row_pair(ix, iy);
  let lower = row_pair(ix, iy + 1);
  let top = mix(upper.left, upper.right, fx);
  let bottom = mix(lower.left, lower.right, fx);
  return mix(top, bottom, fy);
}

// Output pixel `pixel` (row-major index in its view) of view `view`.
fn sample_pixel(view: u32, pixel: u32) -> vec3<f32> {
  let m0 = maps[view * 2u];      // a, b, c, d
  let m1 = maps[view * 2u + 1u]; // e, f, taps, unused
  let x = f32(pixel % p.size);
  let y = f32(pixel / p.size);
  let k = max(u32(m1.z), 1u);
  let step = 1.0 / f32(k);
  var acc = vec3<f32>(0.0);
  for (var j = 0u; j < k; j++) {
    let Y = y + (f32(j) + 0.5) * step;
    for (var i = 0u; i < k; i++) {
      let X = x + (f32(i) + 0.5) * step;
      acc += bilinear(m0.x * X + m0.y * Y + m0.z, m0.w * X + m1.x * Y + m1.y);
    }
  }
  return acc * (step * step);
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
  let area = p.size * p.size;
  let pixels = p.count * area;
  let g = quad * 4u;
  if (g >= pixels) {
    return;
  }
  // Pixels past the last view are zeros: the padding of the last word.
  let s0 = sample_pixel(g / area, g % area);
  var s1 = vec3<f32>(0.0);
  var s2 = vec3<f32>(0.0);
  var s3 = vec3<f32>(0.0);
  if (g + 1u < pixels) {
    s1 = sample_pixel((g + 1u) / area, (g + 1u) % area);
  }
  if (g + 2u < pixels) {
    s2 = sample_pixel((g + 2u) / area, (g + 2u) % area);
  }
  if (g + 3u < pixels) {
    s3 = sample_pixel((g + 3u) / area, (g + 3u) % area);
  }
  let word = quad * 3u;
  dst[p.out_word + word] = pack4(vec4<f32>(s0, s1.x));
  // Never past the views' last word: a caller's buffer may hold more after it.
  if (word + 1u < p.words) {
    dst[p.out_word + word + 1u] = pack4(vec4<f32>(s1.yz, s2.xy));
  }
  if (word + 2u < p.words) {
    dst[p.out_word + word + 2u] = pack4(vec4<f32>(s2.z, s3));
  }
}
