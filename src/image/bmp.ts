// Windows BMP reader: the pixels are decoded by bmp-ts (the TypeScript port of bmp-js that
// jimp uses); this file reads the few header fields it needs to keep the decoder's rules
// before bmp-ts sees the file, and works around what bmp-ts 1.0.9 gets wrong.
//
// Before decoding: the size the header claims is checked against the pixel limit, and the
// file must hold every row it claims (bmp-ts allocates width x height x 4 bytes first, then
// reads; a truncated file would cost that memory and fail with a bare RangeError).
//
// Read: BITMAPINFOHEADER (40 bytes) and its V2..V5 successors (52, 56, 108, 124), 1, 4, 8
// (palette), 16, 24 and 32 bits per pixel, BI_RGB and BI_BITFIELDS, bottom-up and top-down
// (negative height). Refused with a message: OS/2 headers, RLE compression (bmp-ts 1.0.9
// decodes RLE to the wrong pixels), JPEG/PNG inside a BMP.
//
// bmp-ts 1.0.9's faults worked around, on a copy of the header only (each has a test in
// test/bmp-decode.test.ts):
// - it reads the pixels right after the palette, not at the header's pixel offset: a gap
//   between them (allowed, and written by some tools) is cut out;
// - a 4-bit image of odd width stops after its first row: it is decoded one pixel wider
//   (the same bytes per row) and that column dropped;
// - a V2..V5 header's colour masks are used even with BI_RGB, where they mean nothing (often
//   zero: a black image): BI_RGB's fixed masks are written in their place;
// - an index past a short palette throws a TypeError (1, 4 bits) or gives white (8 bits): the
//   palette is padded with black to its full size (black, as libnsbmp gives for such an index).
import { decode } from 'bmp-ts';
import { headerLimitError } from './header-limit.ts';
import type { RgbImage } from './rgb.ts';

/** The header sizes bmp-ts reads: BITMAPINFOHEADER and BITMAPV2/V3/V4/V5HEADER. */
const HEADER_SIZES = new Set([40, 52, 56, 108, 124]);
const FILE_HEADER = 14;
const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;
const COMPRESSION: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'JPEG', 5: 'PNG', 11: 'CMYK', 12: 'CMYK RLE8', 13: 'CMYK RLE4' };

/**
 * Whether `buf` is to be read as a BMP: "BM" and a header size this reader knows or refuses
 * by name (or too short a file to tell, which is then a truncated BMP).
 */
export function isBmp(buf: Uint8Array): boolean {
  if (buf.length < 2 || buf[0] !== 0x42 /* B */ || buf[1] !== 0x4d /* M */) return false;
  if (buf.length < FILE_HEADER + 4) return true;
  const size = view(buf).getUint32(FILE_HEADER, true);
  return HEADER_SIZES.has(size) || size === 12 || size === 16 || size === 64;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Decode a BMP to packed RGB (alpha dropped, palettes expanded). Errors start with `where`. */
export function decodeBmp(buf: Uint8Array, where: string, maxPixels = Infinity): RgbImage {
  const fail = (message: string) => new Error(`${where}: ${message}`);
  if (buf.length < FILE_HEADER + 4) throw fail(`truncated BMP header (${buf.length} bytes)`);
  const v = view(buf);
  const headerSize = v.getUint32(FILE_HEADER, true);
  if (headerSize === 12 || headerSize === 16 || headerSize === 64) {
    throw fail(`an OS/2 BMP (${headerSize}-byte header), which is not read; convert it to PNG or JPEG`);
  }
  if (!HEADER_SIZES.has(headerSize)) throw fail(`not a BMP header this reader knows (${headerSize} bytes)`);
  if (buf.length < FILE_HEADER + headerSize) throw fail(`truncated BMP header (${buf.length} bytes, the header needs ${FILE_HEADER + headerSize})`);
  const width = v.getInt32(18, true);
  const rawHeight = v.getInt32(22, true);
  const height = Math.abs(rawHeight);
  const bits = v.getUint16(28, true);
  const compression = v.getUint32(30, true);
  const colorsUsed = v.getUint32(46, true);
  if (width < 1 || rawHeight === 0) throw fail(`bad BMP size ${width}x${rawHeight}`);
  if (![1, 4, 8, 16, 24, 32].includes(bits)) throw fail(`bad BMP depth of ${bits} bits per pixel`);
  if (compression in COMPRESSION) {
    const name = COMPRESSION[compression];
    throw fail(`${name.startsWith('RLE') ? 'an' : 'a'} ${name}-compressed BMP, which is not read; convert it to PNG or JPEG`);
  }
  const masked = compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS;
  if (!(compression === BI_RGB || (masked && (bits === 16 || bits === 32)))) throw fail(`bad BMP compression ${compression} for ${bits} bits per pixel`);
  if (bits <= 8 && colorsUsed > 1 << bits) throw fail(`bad BMP palette of ${colorsUsed} colours for ${bits} bits per pixel`);
  if (width * height > maxPixels) {
    throw headerLimitError(where, 'BMP', width, height, maxPixels);
  }

  // Where bmp-ts starts reading the palette, and the pixels after it.
  const paletteAt = FILE_HEADER + headerSize + (headerSize === 40 && masked ? (compression === BI_ALPHABITFIELDS ? 16 : 12) : 0);
  const paletteSize = bits <= 8 || colorsUsed > 0 ? colorsUsed || 1 << bits : 0;
  const pixelsAfterPalette = paletteAt + 4 * paletteSize;
  const offset = v.getUint32(10, true) || pixelsAfterPalette; // 0: not given
  if (offset < pixelsAfterPalette) throw fail(`damaged BMP header: its pixels start at byte ${offset}, inside its header and palette (bytes 0 to ${pixelsAfterPalette})`);
  // The pixels must be there before any memory is taken for them (the last row's padding may be left off).
  const stride = Math.ceil((width * bits) / 32) * 4;
  const need = stride * (height - 1) + Math.ceil((width * bits) / 8);
  const have = buf.length - offset;
  if (have < need) {
    throw fail(`truncated BMP image: the header claims ${width}x${height} pixels at ${bits} bits, ${need} bytes, the file has ${Math.max(have, 0)} after its header`);
  }

  // What bmp-ts reads: the header, fixed on a copy where bmp-ts would go wrong, then the pixels.
  const oddNibbles = bits === 4 && width % 2 === 1;
  const maskedByMistake = headerSize > 40 && compression === BI_RGB && (bits === 16 || bits === 32);
  const shortPalette = bits <= 8 && paletteSize < 1 << bits;
  let input: Buffer;
  if (offset === pixelsAfterPalette && !oddNibbles && !maskedByMistake && !shortPalette) {
    input = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  } else {
    const head = Buffer.alloc(paletteAt + 4 * (shortPalette ? 1 << bits : paletteSize));
    head.set(buf.subarray(0, pixelsAfterPalette));
    if (oddNibbles) head.writeInt32LE(width + 1, 18);
    if (maskedByMistake) {
      const [r, g, b] = bits === 32 ? [0xff0000, 0xff00, 0xff] : [0x7c00, 0x3e0, 0x1f];
      head.writeUInt32LE(r, 54);
      head.writeUInt32LE(g, 58);
      head.writeUInt32LE(b, 62);
      if (headerSize > 52) head.writeUInt32LE(0, 66);
    }
    if (shortPalette) head.writeUInt32LE(1 << bits, 46);
    head.writeUInt32LE(head.length, 10);
    input = Buffer.concat([head, buf.subarray(offset)]);
  }

  let abgr: Buffer;
  try {
    abgr = decode(input).data; // A, B, G, R per pixel, top row first
  } catch (err) {
    throw fail(`damaged BMP (${(err as Error).message.split('\n')[0]})`);
  }
  const decodedWidth = oddNibbles ? width + 1 : width;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0, from = y * decodedWidth * 4, to = y * width * 3; x < width; x++, from += 4, to += 3) {
      data[to] = abgr[from + 3];
      data[to + 1] = abgr[from + 2];
      data[to + 2] = abgr[from + 1];
    }
  }
  return { width, height, data };
}
