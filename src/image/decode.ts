// Image files -> packed 8-bit RGB at the backbone's input size (Node, via sharp; PBM/PGM/PPM
// via pnm.ts; BMP via bmp.ts, which decodes with bmp-ts; HEIC via heic.ts, which decodes with
// heic-decode, libheif + libde265 as WebAssembly, because sharp's libheif has no HEVC decoder).
// Formats are recognised by content, not by file extension; EXIF orientation is applied (in a
// HEIC, the container's irot/imir instead, as libheif does); greyscale and palettes are
// expanded to RGB and alpha dropped (as PIL's convert('RGB'), which Keras' load_img uses).
//
// Photos only, and of bounded size: vector formats (SVG, PDF, PostScript) are refused with a
// clear message (a 123-byte SVG may declare 15000x15000 pixels), as are compressed wrappers and
// the multi-layer and scalable HEVC brands that heic-decode does not open. Every accepted format is
// checked against a pixel limit from its header before it is decoded: MAX_IMAGE_PIXELS by
// default (8192 x 8192, ~200 MB as RGB), raised with setMaxImagePixels or FACEGPU_MAX_PIXELS
// (read when a decode first needs it, so a bad value is an error of that decode, not of
// importing this module).
import { lstat, readFile, stat } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { decodeBmp, isBmp } from './bmp.ts';
import { HeaderLimitError } from './header-limit.ts';
import { decodeHeic, heicKind } from './heic.ts';
import { decodePnm, isPnm } from './pnm.ts';
import type { PixelRect, RgbImage } from './rgb.ts';
import { ownFailure } from './vips-errors.ts';
import { fsReason } from '../fs-reason.ts';

/** The default bound on width x height of a decoded image: 8192 x 8192. */
export const MAX_IMAGE_PIXELS = 8192 * 8192;
/** The limit given to setMaxImagePixels; null: FACEGPU_MAX_PIXELS, else MAX_IMAGE_PIXELS. */
let givenLimit: number | null = null;
/** What messages about too big an image tell the reader to raise (setMaxImagePixelsName). */
let limitName = 'setMaxImagePixels()';

/**
 * Parse a pixel limit as a person writes it: a positive integer, or W x H. `name` is what
 * the value was given as (an option, an environment variable), for the message.
 */
export function parseMaxPixels(value: string, name: string): number {
  const m = /^\s*(\d+)\s*(?:[x*]\s*(\d+))?\s*$/i.exec(value);
  const n = m ? Number(m[1]) * (m[2] ? Number(m[2]) : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive number of pixels (e.g. 100000000 or 10000x10000), got "${value}"`);
  return n;
}

/**
 * Set the largest width x height any image may decode to (all later decodes); null goes back
 * to FACEGPU_MAX_PIXELS, else MAX_IMAGE_PIXELS.
 */
export function setMaxImagePixels(n: number | null): void {
  if (n !== null && (!Number.isSafeInteger(n) || n < 1)) throw new Error(`the pixel limit must be a positive integer, got ${n}`);
  givenLimit = n;
}

/**
 * Name the setting that raises the limit in messages about too big an image (default
 * `setMaxImagePixels()`). A front end that takes the limit under another name gives it here.
 */
export function setMaxImagePixelsName(name: string): void {
  limitName = name;
}

/**
 * The limit in force: setMaxImagePixels's, else FACEGPU_MAX_PIXELS (a bad value throws a
 * one-line message naming the variable and the value), else MAX_IMAGE_PIXELS.
 */
export function maxImagePixels(): number {
  if (givenLimit !== null) return givenLimit;
  const env = process.env.FACEGPU_MAX_PIXELS;
  return env ? parseMaxPixels(env, 'FACEGPU_MAX_PIXELS') : MAX_IMAGE_PIXELS;
}

function raiseIt(): string {
  return `raise it with ${limitName} (or FACEGPU_MAX_PIXELS) if the image is real`;
}

/** A file that is not an image facegpu reads, or too big (its message names the file). */
export class ImageDecodeError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

/**
 * Decode `file` to size x size packed RGB. An image already size x size goes in exactly as
 * it is; others are resized to size x size (aspect ratio not kept, as Keras' flow_from_directory).
 * `file` is a path: bytes already in memory (a Buffer) are refused with a TypeError, at once,
 * not read as a path (decodeImageRGB decodes bytes); a size that is not a positive integer is
 * refused naming the size, before the file is read.
 */
export async function loadImageRGB(file: string, size: number): Promise<Uint8Array> {
  checkPath(file, 'loadImageRGB');
  checkSize(size, 'loadImageRGB');
  return decodeImageRGB(await readImageFile(file), size, file);
}

/** A TypeError unless `file` is a string (a path): one line, never the bytes of a Buffer given instead. */
function checkPath(file: unknown, fn: string): asserts file is string {
  if (typeof file === 'string') return;
  throw new TypeError(`${fn}: expected a file path (string), got ${describeValue(file)}`);
}

/** A RangeError unless `size` (the side of the square output) is a positive integer. */
function checkSize(size: unknown, fn: string): asserts size is number {
  if (typeof size === 'number' && Number.isSafeInteger(size) && size > 0) return;
  throw new RangeError(`${fn}: size must be a positive integer (the output's side in pixels), got ${typeof size === 'number' ? size : describeValue(size)}`);
}

/** What a value is, in a few words (never its contents, which may be a whole file). */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (ArrayBuffer.isView(value)) return `a ${value.constructor?.name ?? 'typed array'} of ${value.byteLength} bytes`;
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `a ${typeof value}`;
}

/**
 * The largest file read as a photo: far above any photo within the pixel limit (an
 * uncompressed 16-bit TIFF of 8192x8192 is 512 MiB), and below what Node reads into one
 * buffer (2 GiB, ERR_FS_FILE_TOO_LARGE).
 */
export const MAX_IMAGE_FILE_BYTES = 2 ** 30;

/**
 * A file's bytes; what keeps them from being read is an ImageDecodeError naming the file: a
 * broken symbolic link or a link loop said as such, else the system's code. Only a regular
 * file of MAX_IMAGE_FILE_BYTES at most is read (/dev/zero given as a photo was read until
 * the memory ran out).
 */
export async function readImageFile(file: string): Promise<Buffer> {
  let size: number;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new ImageDecodeError(file, 'a folder, not a photo');
    if (!st.isFile()) throw new ImageDecodeError(file, 'not a regular file (a device, a pipe or a socket): not read');
    size = st.size;
  } catch (err) {
    throw err instanceof ImageDecodeError ? err : await readError(file, err);
  }
  if (size > MAX_IMAGE_FILE_BYTES) throw new ImageDecodeError(file, `${(size / 2 ** 30).toFixed(1)} GiB: larger than any photo read (${MAX_IMAGE_FILE_BYTES / 2 ** 30} GiB at most)`);
  try {
    return await readFile(file);
  } catch (err) {
    throw await readError(file, err);
  }
}

/** Why `file` could not be read, as an ImageDecodeError (see readImageFile). */
export async function readError(file: string, err: unknown): Promise<ImageDecodeError> {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return new ImageDecodeError(file, 'symbolic link loop');
  if (code === 'ENOENT' && (await lstat(file).then((st) => st.isSymbolicLink(), () => false))) return new ImageDecodeError(file, 'broken symbolic link');
  return new ImageDecodeError(file, `cannot read (${fsReason(err)})`);
}

export async function decodeImageRGB(buf: Uint8Array, size: number, where: string): Promise<Uint8Array> {
  checkSize(size, 'decodeImageRGB');
  const rgb = await decodeImageRaw(buf, where);
  if (rgb.width === size && rgb.height === size) return rgb.data;
  return resizeRGB(rgb, size, where);
}

/**
 * Decode `file` to packed RGB at its own size (for steps that look at the whole photo, as face
 * detection). `file` is a path (bytes: decodeImageRaw), else a TypeError at once.
 */
export async function loadImageRaw(file: string): Promise<RgbImage> {
  checkPath(file, 'loadImageRaw');
  return decodeImageRaw(await readImageFile(file), file);
}

/**
 * Why `buf` is refused before any decoder sees it (vector drawings, compressed files, HEIC of
 * the multi-layer or scalable HEVC brands), or null.
 */
export function refusedFormat(buf: Uint8Array): string | null {
  const head = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.byteLength, 4096)).toString('latin1');
  const text = head.replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (text.startsWith('<') && /<svg[\s>]/i.test(head)) return 'an SVG drawing (a vector format), not a photo; convert it to PNG or JPEG';
  if (head.startsWith('%PDF')) return 'a PDF document (a vector format), not a photo; convert it to PNG or JPEG';
  if (head.startsWith('%!PS') || head.startsWith('\xC5\xD0\xD3\xC6')) return 'a PostScript drawing (a vector format), not a photo; convert it to PNG or JPEG';
  if (head.startsWith('\x1F\x8B')) return 'a gzip-compressed file, not a photo';
  if (heicKind(buf) === 'unread') {
    return 'a HEIC photo (HEVC-coded), which this build cannot decode; convert it to JPEG (e.g. heif-convert, or export as "Most Compatible" on the phone)';
  }
  return null;
}

function checkPixels(width: number, height: number, where: string, what: string, maxPixels: number): void {
  const n = width * height;
  if (n > maxPixels) {
    throw new ImageDecodeError(where, `${what} is ${width}x${height} pixels (${n}), above the limit of ${maxPixels}; ${raiseIt()}`);
  }
}

export async function decodeImageRaw(buf: Uint8Array, where: string): Promise<RgbImage> {
  if (buf.length === 0) throw new ImageDecodeError(where, 'empty file');
  const refused = refusedFormat(buf);
  if (refused) throw new ImageDecodeError(where, refused);
  const maxPixels = maxImagePixels();
  try {
    // The formats read here, each checking its header's size first: PNM by hand, BMP through
    // bmp-ts, HEIC through heic-decode.
    const own = isPnm(buf)
      ? decodePnm(buf, where, maxPixels)
      : isBmp(buf)
        ? { ...decodeBmp(buf, where, maxPixels), channels: 3 as const }
        : heicKind(buf) === 'heic'
          ? { ...(await decodeHeic(buf, where, maxPixels)), channels: 3 as const }
          : null;
    // Packed RGB already: returned as it is (through sharp it came back the same bytes, 33-48
    // ms later for 12 megapixels). Greyscale is expanded to RGB by sharp.
    if (own?.channels === 3) return { data: own.data, width: own.width, height: own.height };
    // Our own refusals (a drawing, too many pixels) are this file's; libvips' message may not be.
    return await ownFailure(() => decodeWithSharp(buf, own, where, maxPixels), (err) => !(err instanceof ImageDecodeError));
  } catch (err) {
    throw decodeError(err, where, maxPixels);
  }
}

/** The sharp part of decodeImageRaw: `own` pixels expanded to RGB, else `buf` decoded by libvips. */
async function decodeWithSharp(buf: Uint8Array, own: { data: Uint8Array; width: number; height: number; channels: 1 | 3 } | null, where: string, maxPixels: number): Promise<RgbImage> {
  let img: Sharp;
  if (own) {
    img = sharp(own.data, { raw: { width: own.width, height: own.height, channels: own.channels } });
  } else {
    // The header's size first (no pixels decoded), then a decoder bounded to it.
    const meta = await sharp(buf, { limitInputPixels: false }).metadata();
    if (meta.format === 'svg' || meta.format === 'pdf') throw new ImageDecodeError(where, `a ${meta.format.toUpperCase()} drawing (a vector format), not a photo; convert it to PNG or JPEG`);
    if (meta.width && meta.height) checkPixels(meta.width, meta.height, where, `the ${meta.format ?? 'image'}`, maxPixels);
    img = sharp(buf, { failOn: 'error', limitInputPixels: maxPixels }).rotate(); // EXIF orientation
  }
  const rgb = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = rgb.info;
  if (channels !== 3) throw new Error(`decoded to ${channels} channels, expected RGB`);
  return { data: new Uint8Array(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength), width, height };
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

function decodeError(err: unknown, where: string, maxPixels?: number): ImageDecodeError {
  if (err instanceof ImageDecodeError) return err;
  const full = (err as Error).message;
  // libvips' messages start with its loader's name ("VipsJpeg: "), after sharp's own words when
  // the header was bad; the reason is what follows.
  const msg = full.startsWith(`${where}: `) ? full.slice(where.length + 2) : full.replace(/^Input (?:buffer|file) has corrupt header: /, '').replace(/^.*?: /, '');
  if (err instanceof HeaderLimitError) return new ImageDecodeError(where, `${msg}; ${raiseIt()}`);
  if (/exceeds pixel limit/i.test(msg)) return new ImageDecodeError(where, `the image is larger than the limit of ${maxPixels ?? maxImagePixels()} pixels; ${raiseIt()}`);
  return new ImageDecodeError(where, /unsupported image format/i.test(msg) ? 'not an image in a supported format (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIC, BMP, PGM/PPM/PBM)' : `cannot decode image (${msg.split('\n')[0]})`);
}
