// Images in a page -> packed 8-bit RGB at the backbone's input size, through a canvas:
// drawn stretched to size x size (aspect ratio not kept, as the Node decoder and Keras'
// flow_from_directory do), read back with getImageData, alpha dropped. An image that is
// already size x size is drawn 1:1, so a lossless file (PNG) gives exactly the pixels the
// Node decoder gives. Face crops: the whole photo decoded at its own size (imageToRgbImage)
// for the detector, then the face's square cut and scaled the same way (cutRGB).
import type { PixelRect, RgbImage } from '../image/rgb.ts';

/** Everything a page usually holds a picture in. Blobs/Files are decoded first. */
export type ImageInput =
  | HTMLImageElement
  | HTMLVideoElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | ImageBitmap
  | VideoFrame
  | ImageData
  | Blob;

/** An image input that cannot be read (its message names it). */
export class ImageInputError extends Error {
  constructor(readonly source: string, message: string) {
    super(`${source}: ${message}`);
  }
}

/** A short name for error messages: the file name, the image URL, or the kind of object. */
export function describeImage(src: ImageInput): string {
  if (typeof File !== 'undefined' && src instanceof File) return src.name || 'file';
  if (typeof Blob !== 'undefined' && src instanceof Blob) return `blob (${src.type || 'unknown type'})`;
  if (typeof HTMLImageElement !== 'undefined' && src instanceof HTMLImageElement) return src.currentSrc || src.src || 'image element';
  if (typeof HTMLVideoElement !== 'undefined' && src instanceof HTMLVideoElement) return 'video element';
  return src.constructor?.name ?? 'image';
}

function sourceSize(src: Exclude<ImageInput, Blob>): [number, number] {
  if (typeof HTMLImageElement !== 'undefined' && src instanceof HTMLImageElement) return [src.naturalWidth, src.naturalHeight];
  if (typeof HTMLVideoElement !== 'undefined' && src instanceof HTMLVideoElement) return [src.videoWidth, src.videoHeight];
  if (typeof VideoFrame !== 'undefined' && src instanceof VideoFrame) return [src.displayWidth, src.displayHeight];
  return [(src as { width: number }).width, (src as { height: number }).height];
}

/** Decode a Blob/File without colour management or premultiplication (closest to the raw file). */
async function decodeBlob(blob: Blob, name: string): Promise<ImageBitmap> {
  if (blob.size === 0) throw new ImageInputError(name, 'empty file (0 bytes)');
  try {
    return await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch {
    throw new ImageInputError(name, `not an image this browser can decode${blob.type ? ` (${blob.type})` : ''}`);
  }
}

let scratch: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null = null;

function context(width: number, height: number): OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D {
  if (!scratch || scratch.canvas.width !== width || scratch.canvas.height !== height) {
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
    const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' }) as OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
    if (!ctx) throw new Error('this browser gave no 2D canvas context');
    scratch = ctx;
  }
  return scratch;
}

/**
 * Packed RGB of one image drawn into width x height (stretched), or at its own size when
 * `to` is 'natural'. ImageData already at the target size is taken as is.
 */
async function drawRGB(src: ImageInput, to: { width: number; height: number } | 'natural'): Promise<{ data: Uint8Array; width: number; height: number }> {
  const name = describeImage(src);
  let drawable: Exclude<ImageInput, Blob | ImageData>;
  let owned: ImageBitmap | null = null;
  let rgba: Uint8ClampedArray;
  let width: number;
  let height: number;
  if (src instanceof Blob) {
    owned = await decodeBlob(src, name);
    drawable = owned;
  } else if (typeof ImageData !== 'undefined' && src instanceof ImageData) {
    if (to === 'natural' || (src.width === to.width && src.height === to.height)) return { data: dropAlpha(src.data), width: src.width, height: src.height };
    owned = await createImageBitmap(src);
    drawable = owned;
  } else {
    if (typeof HTMLImageElement !== 'undefined' && src instanceof HTMLImageElement && !src.complete) await src.decode();
    if (typeof HTMLVideoElement !== 'undefined' && src instanceof HTMLVideoElement && src.readyState < 2) {
      throw new ImageInputError(name, 'the video has no frame yet (wait for "loadeddata")');
    }
    drawable = src as Exclude<ImageInput, Blob | ImageData>;
  }
  try {
    const [w, h] = sourceSize(drawable);
    if (!w || !h) throw new ImageInputError(name, 'the image is empty or not loaded');
    [width, height] = to === 'natural' ? [w, h] : [to.width, to.height];
    const ctx = context(width, height);
    ctx.clearRect(0, 0, width, height);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(drawable, 0, 0, w, h, 0, 0, width, height);
    rgba = ctx.getImageData(0, 0, width, height).data;
  } finally {
    owned?.close();
  }
  return { data: dropAlpha(rgba), width, height };
}

/** Packed RGB (size*size*3 bytes) of one image. */
export async function imageToRGB(src: ImageInput, size: number): Promise<Uint8Array> {
  return (await drawRGB(src, { width: size, height: size })).data;
}

/** The whole image at its own size, packed RGB (what the face detector looks at). */
export async function imageToRgbImage(src: ImageInput): Promise<RgbImage> {
  return drawRGB(src, 'natural');
}

/**
 * `rect` of a decoded image (the whole image when null) stretched to size x size packed RGB,
 * drawn by the canvas as imageToRGB draws whole photos.
 */
export async function cutRGB(image: RgbImage, rect: PixelRect | null, size: number): Promise<Uint8Array> {
  const r = rect ?? { left: 0, top: 0, width: image.width, height: image.height };
  if (r.left < 0 || r.top < 0 || r.width < 1 || r.height < 1 || r.left + r.width > image.width || r.top + r.height > image.height) {
    throw new Error(`cut: rectangle ${JSON.stringify(r)} is not inside the ${image.width}x${image.height} image`);
  }
  const rgba = new Uint8ClampedArray(r.width * r.height * 4);
  for (let y = 0; y < r.height; y++) {
    let from = ((r.top + y) * image.width + r.left) * 3;
    let to = y * r.width * 4;
    for (let x = 0; x < r.width; x++, from += 3, to += 4) {
      rgba[to] = image.data[from];
      rgba[to + 1] = image.data[from + 1];
      rgba[to + 2] = image.data[from + 2];
      rgba[to + 3] = 255;
    }
  }
  return imageToRGB(new ImageData(rgba, r.width, r.height), size);
}

/** Packed RGB of several images, one after another (what engine.embed takes). */
export async function imagesToRGB(srcs: readonly ImageInput[], size: number): Promise<Uint8Array> {
  const out = new Uint8Array(srcs.length * size * size * 3);
  for (let i = 0; i < srcs.length; i++) out.set(await imageToRGB(srcs[i], size), i * size * size * 3);
  return out;
}

function dropAlpha(rgba: Uint8ClampedArray): Uint8Array {
  const n = rgba.length / 4;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = rgba[4 * i];
    rgb[3 * i + 1] = rgba[4 * i + 1];
    rgb[3 * i + 2] = rgba[4 * i + 2];
  }
  return rgb;
}
