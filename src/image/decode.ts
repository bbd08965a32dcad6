// Image files -> packed 8-bit RGB at the backbone's input size (Node, via sharp; PGM/PPM via
// pnm.ts). Formats are recognised by content, not by file extension; EXIF orientation is
// applied; greyscale is expanded to RGB and alpha dropped (as PIL's convert('RGB'), which
// Keras' load_img uses).
import { readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { decodePnm, isPnm } from './pnm.ts';

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
    if (width === size && height === size) return new Uint8Array(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength);
    const data = await sharp(rgb.data, { raw: { width, height, channels } })
      .resize(size, size, { fit: 'fill', kernel: 'cubic' })
      .raw()
      .toBuffer();
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    const msg = (err as Error).message.replace(/^.*?: /, '');
    throw new ImageDecodeError(where, /unsupported image format/i.test(msg) ? 'not an image in a supported format (JPEG, PNG, WebP, GIF, TIFF, PGM/PPM)' : `cannot decode image (${msg})`);
  }
}
