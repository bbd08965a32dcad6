// The detector's input, made on the CPU: each photo scaled so that its longer side fits the
// model's square input, centred, the rest black, then mapped to [-1, 1] as BlazeFace wants.
//
// Why not on the GPU: the photos are small (training photos average ~0.07 MP here) and
// tfjs-webgpu spent ~15 ms per photo on it on lavapipe (a CropAndResize per photo, a Concat,
// the normalisation), against 1.3 ms for this loop (the 93 training photos of
// 5-celebrity-faces, 256x256). The sampling is CropAndResize's
// bilinear with the crop box that letterboxes: normalised coordinates put 0 and 1 on the
// first and last pixel centres, and samples outside the photo are black.
import type { RgbImage } from '../image/rgb.ts';

/**
 * Write `image` letterboxed to size x size RGB, values in [-1, 1], into `out` at `offset`
 * (size * size * 3 floats).
 */
export function letterboxInto({ data, width, height }: RgbImage, size: number, out: Float32Array, offset: number): void {
  const side = Math.max(width, height);
  // Source coordinate of output pixel i along an axis: a linear map sending output 0 to the
  // letterbox's first pixel centre and output size-1 to its last.
  const step = size > 1 ? (side - 1) / (size - 1) : 0;
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
    const rowT = top * width * 3;
    const rowB = bottom * width * 3;
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
