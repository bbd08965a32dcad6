// Anchor centres of BlazeFace's "back camera" model (256x256 input), in input pixels.
//
// The model predicts, for every anchor, a face score (a logit) and a box relative to the
// anchor's centre. Its two heads see the input at two strides: a 16x16 grid (stride 16) with
// 2 anchors per cell, then an 8x8 grid (stride 32) with 6 anchors per cell: 512 + 384 = 896
// anchors, in that order (row-major over the grid, the anchors of one cell adjacent). All
// anchors of a cell share its centre; they differ only in what the network learnt for them,
// so no anchor sizes are needed: the box size is regressed directly in input pixels.

export interface AnchorLayer {
  stride: number;
  perCell: number;
}

export const BLAZEFACE_INPUT = 256;
export const BLAZEFACE_LAYERS: readonly AnchorLayer[] = [
  { stride: 16, perCell: 2 },
  { stride: 32, perCell: 6 },
];

/** Interleaved [x0, y0, x1, y1, ...] anchor centres for an input of `size` x `size`. */
export function anchorCentres(size: number, layers: readonly AnchorLayer[] = BLAZEFACE_LAYERS): Float32Array {
  const count = layers.reduce((n, l) => n + Math.ceil(size / l.stride) ** 2 * l.perCell, 0);
  const out = new Float32Array(count * 2);
  let i = 0;
  for (const { stride, perCell } of layers) {
    const cells = Math.ceil(size / stride);
    for (let row = 0; row < cells; row++) {
      for (let col = 0; col < cells; col++) {
        for (let a = 0; a < perCell; a++) {
          out[i++] = (col + 0.5) * stride;
          out[i++] = (row + 0.5) * stride;
        }
      }
    }
  }
  return out;
}
