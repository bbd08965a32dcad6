// Images in a page -> packed 8-bit RGB at the backbone's input size, through a canvas:
// drawn stretched to size x size (aspect ratio not kept, as the Node decoder and Keras'
// flow_from_directory do), read back with getImageData, alpha dropped. An image that is
// already size x size is drawn 1:1, so a lossless file (PNG) gives exactly the pixels the
// Node decoder gives.

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
  try {
    return await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch {
    throw new ImageInputError(name, `not an image this browser can decode${blob.type ? ` (${blob.type})` : ''}`);
  }
}

let scratch: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null = null;

function context(size: number): OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D {
  if (!scratch || scratch.canvas.width !== size) {
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(size, size) : Object.assign(document.createElement('canvas'), { width: size, height: size });
    const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' }) as OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
    if (!ctx) throw new Error('this browser gave no 2D canvas context');
    scratch = ctx;
  }
  return scratch;
}

/** Packed RGB (size*size*3 bytes) of one image. */
export async function imageToRGB(src: ImageInput, size: number): Promise<Uint8Array> {
  const name = describeImage(src);
  let drawable: Exclude<ImageInput, Blob | ImageData>;
  let owned: ImageBitmap | null = null;
  let rgba: Uint8ClampedArray;
  if (src instanceof Blob) {
    owned = await decodeBlob(src, name);
    drawable = owned;
  } else if (typeof ImageData !== 'undefined' && src instanceof ImageData) {
    if (src.width === size && src.height === size) return dropAlpha(src.data);
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
    const ctx = context(size);
    ctx.clearRect(0, 0, size, size);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(drawable, 0, 0, w, h, 0, 0, size, size);
    rgba = ctx.getImageData(0, 0, size, size).data;
  } finally {
    owned?.close();
  }
  return dropAlpha(rgba);
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
