// The detector's input, made on the CPU: each photo scaled so that its longer side fits the
// model's square input, centred, the rest black, then mapped to [-1, 1] as BlazeFace wants.
//
// Why not on the GPU: the photos are small (training photos average ~0.07 MP here) and
// tfjs-webgpu spent ~15 ms per photo on it on lavapipe (a CropAndResize per photo, a Concat,
// the normalisation), against 1.3 ms for this loop (the 93 training photos of
// 5-celebrity-faces, 256x256).
//
// Sampling. Up to a shrink of AVERAGE_FROM source pixels per output pixel it is CropAndResize's
// bilinear with the crop box that letterboxes: normalised coordinates put 0 and 1 on the
// first and last pixel centres, and samples outside the photo are black. Beyond that, one
// bilinear sample per output pixel reads 4 of the ~250 pixels a 4000x3000 photo puts behind
// each of the 256 x 256 inputs, so the sensor's grain passed to the detector as it was
// (aliasing), and its keypoints, hence the face's alignment and descriptor, moved with it.
// There each output pixel is instead the mean of a k x k grid of source pixels spread evenly
// over its square (k = the shrink rounded up, at most MAX_AVERAGED; points outside the photo
// count as black), as the face warp does (shaders/warp_affine.wgsl). Measured on
// 5-celebrity-faces photos enlarged, with Gaussian grain added, against the clean originals:
//
// | enlarged to, grain | descriptor's cosine to the original's, mean (worst) | detector's score |
// |---|---|---|
// | 1200 wide, sigma 15, 60 photos | 0.965 (0.812) -> 0.983 (0.931) | 0.874 -> 0.899 (clean 0.900) |
// | 4000 wide, sigma 25, 40 photos | 0.962 (0.907) -> 0.987 (0.955) | 0.845 -> 0.898 (clean 0.900) |
//
// With at most 4 x 4 pixels averaged the second row was 0.977 (0.897), hence 8 x 8. It costs
// 17-30 ms for a 4000x3000 photo on one core here, against ~2 ms for one bilinear sample per
// input pixel. Photos up to ~1000 pixels on their longer side (shrinks below AVERAGE_FROM) are
// sampled as before, to the bit.
import type { PixelRect, RgbImage } from '../image/rgb.ts';

/**
 * Write `image` (or its rectangle `region`, read in place: the detector's tiles, without a copy
 * of each) letterboxed to size x size RGB, values in [-1, 1], into `out` at `offset` (size *
 * size * 3 floats). A region is letterboxed exactly as a copy of its pixels would be.
 * `zoomOut` > 1 shrinks it further into the square's centre, black around (a face that fills
 * the photo, seen smaller: BlazeFace misses many such).
 */
export function letterboxInto(image: RgbImage, size: number, out: Float32Array, offset: number, region?: PixelRect, zoomOut = 1): void {
  const r = region ?? { left: 0, top: 0, width: image.width, height: image.height };
  if (r.left < 0 || r.top < 0 || r.width < 1 || r.height < 1 || r.left + r.width > image.width || r.top + r.height > image.height) {
    throw new Error(`letterbox: region ${r.width}x${r.height} at (${r.left}, ${r.top}) is not inside the ${image.width}x${image.height} image`);
  }
  if (!(zoomOut >= 1)) throw new Error(`letterbox: zoomOut must be 1 or more, got ${zoomOut}`);
  const side = Math.max(r.width, r.height) * zoomOut;
  const src: Source = { data: image.data, width: r.width, height: r.height, side, base: (r.top * image.width + r.left) * 3, stride: image.width * 3 };
  // Source coordinate of output pixel i along an axis: a linear map sending output 0 to the
  // letterbox's first pixel centre and output size-1 to its last.
  const step = size > 1 ? (side - 1) / (size - 1) : 0;
  if (step >= AVERAGE_FROM) averagedInto(src, size, step, out, offset);
  else bilinearInto(src, size, step, out, offset);
}

/**
 * The pixels letterboxed: width x height of them from `base` in `data`, rows `stride` bytes
 * apart, centred in a square `side` source pixels wide (their longer side, times zoomOut).
 */
interface Source {
  data: Uint8Array;
  width: number;
  height: number;
  side: number;
  base: number;
  stride: number;
}

/** Shrinks from this many source pixels per output pixel are averaged, not sampled once. */
export const AVERAGE_FROM = 4;
/** Most source pixels per axis averaged into one output pixel (8 x 8 = 64). */
export const MAX_AVERAGED = 8;

/** One bilinear sample per output pixel (CropAndResize's). */
function bilinearInto({ data, width, height, side, base, stride }: Source, size: number, step: number, out: Float32Array, offset: number): void {
  const y0 = -(side - height) / 2;
  const x0 = -(side - width) / 2;
  // Per output column: the two source columns and the weight of the right one (or -1: outside).
  const cols = new Int32Array(size);
  const colW = new Float64Array(size);
  for (let x = 0; x < size; x++) {
    const sx = x0 + x * step;
    if (sx < 0 || sx > width - 1) {
      cols[x] = -1;
      continue;
    }
    cols[x] = Math.floor(sx);
    colW[x] = sx - cols[x];
  }
  let o = offset;
  for (let y = 0; y < size; y++) {
    const sy = y0 + y * step;
    if (sy < 0 || sy > height - 1) {
      out.fill(-1, o, o + size * 3);
      o += size * 3;
      continue;
    }
    const top = Math.floor(sy);
    const bottom = Math.ceil(sy);
    const wy = sy - top;
    const rowT = base + top * stride;
    const rowB = base + bottom * stride;
    for (let x = 0; x < size; x++, o += 3) {
      const left = cols[x];
      if (left < 0) {
        out[o] = out[o + 1] = out[o + 2] = -1;
        continue;
      }
      const right = Math.min(left + 1, width - 1);
      const wx = colW[x];
      for (let c = 0; c < 3; c++) {
        const tl = data[rowT + left * 3 + c];
        const tr = data[rowT + right * 3 + c];
        const bl = data[rowB + left * 3 + c];
        const br = data[rowB + right * 3 + c];
        const t = tl + (tr - tl) * wx;
        const b = bl + (br - bl) * wx;
        out[o + c] = (t + (b - t) * wy) / 127.5 - 1;
      }
    }
  }
}

/** The mean of k x k source pixels over each output pixel's square. */
function averagedInto({ data, width, height, side, base, stride }: Source, size: number, step: number, out: Float32Array, offset: number): void {
  const k = Math.min(MAX_AVERAGED, Math.ceil(step));
  // Per output column (row): the k source columns (rows) it averages, as offsets into `data`,
  // -1 for a point outside the photo. Point i of k sits at (i + 0.5) / k of the output pixel's
  // square, whose centre is where the bilinear sample would be.
  const points = (start: number, limit: number, stride: number): Int32Array => {
    const at = new Int32Array(size * k);
    for (let x = 0; x < size; x++) {
      for (let i = 0; i < k; i++) {
        const s = Math.round(start + (x + (i + 0.5) / k - 0.5) * step);
        at[x * k + i] = s < 0 || s > limit - 1 ? -1 : s * stride;
      }
    }
    return at;
  };
  const cols = points(-(side - width) / 2, width, 3);
  const rows = points(-(side - height) / 2, height, stride);
  const scale = 1 / (k * k * 127.5);
  let o = offset;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++, o += 3) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = y * k; j < (y + 1) * k; j++) {
        const row = rows[j];
        if (row < 0) continue;
        for (let i = x * k; i < (x + 1) * k; i++) {
          const col = cols[i];
          if (col < 0) continue;
          const p = base + row + col;
          r += data[p];
          g += data[p + 1];
          b += data[p + 2];
        }
      }
      out[o] = r * scale - 1;
      out[o + 1] = g * scale - 1;
      out[o + 2] = b * scale - 1;
    }
  }
}
