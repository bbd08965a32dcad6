// Plain pixel types shared by the decoders (Node: decode.ts, page: src/browser/image.ts), the
// face detector and the croppers. Types only: no platform code.

/** Decoded pixels: packed 8-bit RGB, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** An integer pixel rectangle inside an image, as image libraries' "extract" takes it. */
export interface PixelRect {
  left: number;
  top: number;
  width: number;
  height: number;
}
