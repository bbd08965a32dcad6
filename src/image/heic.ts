// HEIC photos (HEVC-coded HEIF, what iPhones write): the pixels are decoded by `heic-decode`
// (libheif and libde265 compiled to WebAssembly, through `libheif-js`), because sharp's
// prebuilt libheif has no HEVC decoder. This file recognises a HEIC file by its ftyp brands,
// keeps the decoder's rules before any pixel is decoded, and turns what the library prints
// and throws into one-line errors.
//
// - The container is read first by sharp's libheif (`metadata()`, no pixels decoded; it has
//   no HEVC decoder, but parses the file): the pixel limit is checked against the primary
//   image's size as the container declares it (`ispe`, after rotation) before heic-decode
//   sees the file, and a container it cannot parse is refused there (heic-decode 2.1.0 does
//   not free its parse of a file in which it finds no image: about the file's size of
//   WebAssembly memory, never given back, per damaged file).
// - The image decoded is the file's primary image (its `pitm` box): heic-decode's default
//   decodes the first top-level image, which in a file of several (bursts, collections) need
//   not be the primary one. Which of heic-decode's images is primary is sharp's
//   `metadata().pagePrimary` (libheif lists the same top-level images in the same order).
// - Orientation is libheif's: the container's `irot`/`imir`/`clap` transforms are applied, as
//   every HEIF reader does. An EXIF Orientation tag inside a HEIC is not applied again (the
//   HEIF rule; libvips and Apple's readers do the same; iPhones write both, the same way).
// - Alpha is dropped; 10-bit images come out as 8 bits (libheif's interleaved RGBA).
// - libheif-js reports a file it cannot parse or decode by printing to the console (stdout,
//   where `facegpu embed --json` writes its answer) and returning nothing; those lines are
//   kept off the console while a HEIC decodes and become the error's reason. HEIC decodes run
//   one at a time for that (libheif-js runs on the one JavaScript thread anyway).
// - WebAssembly memory grows to the largest image decoded and is not given back: about 170 MB
//   more resident memory after a 12-megapixel photo (src/image/README.md).
//
// Files with a HEVC brand that heic-decode 2.1.0 refuses to open (its brand check takes the
// major brands mif1, msf1, heic, heix, hevc and hevx; multi-layer and scalable HEVC, heim,
// heis, hevm and hevs, are not read) stay refused by decode.ts's `refusedFormat`.
// @ts-expect-error -- untyped CommonJS module (heic-decode ships no type declarations)
import heicDecode from 'heic-decode';
import sharp, { type Metadata } from 'sharp';
import { headerLimitError } from './header-limit.ts';
import type { RgbImage } from './rgb.ts';

/** The part of heic-decode 2.1.0 used here. */
interface HeicImage {
  width: number;
  height: number;
  decode(): Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
}
interface HeicDecode {
  all(options: { buffer: Uint8Array }): Promise<HeicImage[] & { dispose(): void }>;
}
const heic = heicDecode as HeicDecode;

/** ftyp brands of HEVC-coded HEIF (HEIC) files. */
const HEVC_BRANDS = ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs'];
/** The major brands heic-decode 2.1.0 opens (its own check, before libheif sees the file). */
const READ_MAJOR = ['mif1', 'msf1', 'heic', 'heix', 'hevc', 'hevx'];

/**
 * What `buf` is as HEIC, from its ftyp box: 'heic' (HEVC-coded, decoded here), 'unread' (HEVC-
 * coded, with a major brand heic-decode refuses: multi-layer or scalable HEVC), or null (not
 * HEIC; an AVIF, also a HEIF, is sharp's).
 */
export function heicKind(buf: Uint8Array): 'heic' | 'unread' | null {
  if (buf.length < 12) return null;
  const head = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.byteLength, 4096)).toString('latin1');
  if (head.slice(4, 8) !== 'ftyp') return null;
  const size = Math.min(head.length, Buffer.from(buf.buffer, buf.byteOffset, 4).readUInt32BE(0) || 0);
  const brands = [head.slice(8, 12)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(head.slice(at, at + 4));
  if (!(HEVC_BRANDS.includes(brands[0]) || (!brands.includes('avif') && brands.some((b) => HEVC_BRANDS.includes(b))))) return null;
  return READ_MAJOR.includes(brands[0]) ? 'heic' : 'unread';
}

/** The lines libheif-js prints when it cannot parse or decode a file (libheif-js 1.23). */
const LIBHEIF_LINES = ['Could not create HEIF context', 'Could not parse HEIF file', 'Error loading image ids', 'No images found', 'Could not get image data for id', 'Decoding image failed'];
/** libheif-js's reasons, as it printed them during the decode in progress (last first). */
const reasons: string[] = [];
/** The decode in progress: one at a time (libheif-js runs on one thread anyway). */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Run `f` after the HEIC decodes before it, with libheif-js's lines kept off the console and
 * collected in `reasons` (other lines printed meanwhile go through).
 */
function quiet<T>(f: () => Promise<T>): Promise<T> {
  const run = queue.then(async () => {
    const log = console.log;
    reasons.length = 0;
    console.log = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && LIBHEIF_LINES.includes(args[0])) reasons.unshift(reasonOf(args));
      else log(...args);
    };
    try {
      return await f();
    } finally {
      console.log = log;
    }
  });
  queue = run.catch(() => undefined);
  return run;
}

/** "Could not parse HEIF file", "Invalid input: ..." -> the library's message, on one line. */
function reasonOf(args: unknown[]): string {
  const detail = args.slice(1).map((a) => (typeof a === 'string' ? a : (a as { message?: unknown } | null)?.message)).find((m): m is string => typeof m === 'string' && m.length > 0);
  return (detail ?? (args[0] as string)).replace(/\s+/g, ' ').trim();
}

/**
 * Decode a HEIC file's primary image to packed RGB (libheif's orientation applied, alpha
 * dropped). Its size is checked against `maxPixels` before its pixels are decoded. Errors are
 * one line and start with `where`.
 */
export async function decodeHeic(buf: Uint8Array, where: string, maxPixels = Infinity): Promise<RgbImage> {
  const fail = (message: string) => new Error(`${where}: ${message}`);
  const damaged = (why: string) => fail(`a damaged or truncated HEIC: ${why}`);
  const tooBig = (width: number, height: number) => headerLimitError(where, 'HEIC', width, height, maxPixels);
  // The container first, by sharp's libheif (no pixels decoded: it has no HEVC decoder): the
  // primary image's size, which of the top-level images it is, and a damaged container
  // refused before heic-decode, which leaks its parse of a file it finds no image in.
  let meta: Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw damaged(libheifReason((err as Error).message));
  }
  if (meta.width && meta.height && meta.width * meta.height > maxPixels) throw tooBig(meta.width, meta.height);
  return quiet(async () => {
    let images: HeicImage[] & { dispose(): void };
    try {
      images = await heic.all({ buffer: buf }); // the file parsed, no pixels decoded
    } catch (err) {
      throw damaged(reasons[0] ?? (err as Error).message);
    }
    try {
      // heic-decode does not say which image is the primary one; sharp's libheif lists the same
      // top-level images in the same order and names it. The first when they disagree.
      const k = meta.pagePrimary ?? 0;
      const image = meta.pages === images.length && k >= 0 && k < images.length ? images[k] : images[0];
      const { width, height } = image;
      if (width * height > maxPixels) throw tooBig(width, height);
      let rgba: Uint8ClampedArray;
      try {
        rgba = (await image.decode()).data;
      } catch (err) {
        throw damaged(reasons[0] ?? (err as Error).message);
      }
      if (rgba.length !== width * height * 4) throw fail(`cannot decode image (libheif gave ${rgba.length} bytes for ${width}x${height} pixels)`);
      const data = new Uint8Array(width * height * 3);
      for (let i = 0, o = 0; o < data.length; i += 4, o += 3) {
        data[o] = rgba[i];
        data[o + 1] = rgba[i + 1];
        data[o + 2] = rgba[i + 2];
      }
      return { data, width, height };
    } finally {
      images.dispose();
    }
  });
}

/**
 * libvips' message about a HEIF it cannot parse, on one line: its "heif: <reason> (code)"
 * line (the lines before it are its reader's seeks), else its first line.
 */
function libheifReason(message: string): string {
  const lines = message.split('\n');
  const heif = lines.map((l) => /^heif: (.*?)(?: \(\d+\.\d+\))?$/.exec(l.trim())).find((m) => m);
  return (heif ? heif[1] : lines[0]).trim();
}
