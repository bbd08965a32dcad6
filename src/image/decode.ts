// Image files -> packed 8-bit RGB at the backbone's input size (Node, via sharp; PGM/PPM via
// pnm.ts). Formats are recognised by content, not by file extension; EXIF orientation is
// applied; greyscale is expanded to RGB and alpha dropped (as PIL's convert('RGB'), which
// Keras' load_img uses).
import { readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { decodePnm, isPnm } from './pnm.ts';
import type { PixelRect, RgbImage } from './rgb.ts';

export class ImageDecodeError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

/**
 * Decode `file` to size x size packed RGB. An image already size x size goes in exactly as
 * it is; others are resized to size x size (aspect ratio not kept, as Keras' flow_from_directory).
 */
export async function loadImageRGB(file: string, size: number): Promise<Uint8Array> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new ImageDecodeError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodeImageRGB(buf, size, file);
}

export async function decodeImageRGB(buf: Uint8Array, size: number, where: string): Promise<Uint8Array> {
  const rgb = await decodeImageRaw(buf, where);
  if (rgb.width === size && rgb.height === size) return rgb.data;
  return resizeRGB(rgb, size, where);
}

/** Decode `file` to packed RGB at its own size (for steps that look at the whole photo, as face detection). */
export async function loadImageRaw(file: string): Promise<RgbImage> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new ImageDecodeError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodeImageRaw(buf, file);
}

export async function decodeImageRaw(buf: Uint8Array, where: string): Promise<RgbImage> {
  if (buf.length === 0) throw new ImageDecodeError(where, 'empty file');
  try {
    let img: Sharp;
    if (isPnm(buf)) {
      const raw = decodePnm(buf, where);
      img = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
    } else {
      img = sharp(buf, { failOn: 'error' }).rotate(); // EXIF orientation
    }
    const rgb = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const { width, height, channels } = rgb.info;
    if (channels !== 3) throw new Error(`decoded to ${channels} channels, expected RGB`);
    return { data: new Uint8Array(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength), width, height };
  } catch (err) {
    throw decodeError(err, where);
  }
}

/**
 * `rect` of `image` (the whole image when omitted) stretched to size x size, bicubic (aspect
 * ratio not kept, as Keras' flow_from_directory).
 */
export async function resizeRGB(image: RgbImage, size: number, where: string, rect?: PixelRect): Promise<Uint8Array> {
  try {
    let img = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
    if (rect) img = img.extract(rect);
    const data = await img.resize(size, size, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    throw decodeError(err, where);
  }
}

function decodeError(err: unknown, where: string): ImageDecodeError {
  if (err instanceof ImageDecodeError) return err;
  const msg = (err as Error).message.replace(/^.*?: /, '');
  return new ImageDecodeError(where, /unsupported image format/i.test(msg) ? 'not an image in a supported format (JPEG, PNG, WebP, GIF, TIFF, PGM/PPM)' : `cannot decode image (${msg})`);
}
