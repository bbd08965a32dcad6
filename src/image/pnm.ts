// Netpbm PBM/PGM/PPM (P1, P2, P3 ASCII; P4, P5, P6 binary) reader. sharp's prebuilt libvips
// does not read them, and the ORL faces data set is PGM, so this small format is decoded here.
// PBM is 1 bit per pixel, 1 = black: it comes out as greyscale 0 (black) and 255 (white).
import { headerLimitError } from './header-limit.ts';

export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export function isPnm(buf: Uint8Array): boolean {
  return buf.length > 2 && buf[0] === 0x50 /* P */ && [0x31, 0x32, 0x33, 0x34, 0x35, 0x36].includes(buf[1]) && /\s/.test(String.fromCharCode(buf[2]));
}

export function decodePnm(buf: Uint8Array, where: string, maxPixels = Infinity): RawImage {
  const kind = String.fromCharCode(buf[0], buf[1]);
  let at = 2;
  /** Past whitespace and comments. */
  const skip = () => {
    for (;;) {
      while (at < buf.length && /\s/.test(String.fromCharCode(buf[at]))) at++;
      if (buf[at] === 0x23 /* # */) {
        while (at < buf.length && buf[at] !== 0x0a) at++;
        continue;
      }
      break;
    }
  };
  const token = (): string => {
    skip();
    const start = at;
    while (at < buf.length && !/\s/.test(String.fromCharCode(buf[at]))) at++;
    if (start === at) throw new Error(`${where}: truncated ${kind} header`);
    return String.fromCharCode(...buf.subarray(start, at));
  };
  const int = (what: string) => {
    const t = token();
    const v = Number(t);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${where}: bad ${what} "${t}" in ${kind} header`);
    return v;
  };
  const width = int('width');
  const height = int('height');
  const bitmap = kind === 'P1' || kind === 'P4'; // PBM: no maxval, 1 bit per pixel
  const maxval = bitmap ? 1 : int('maxval');
  if (width < 1 || height < 1 || maxval < 1 || maxval > 65535) throw new Error(`${where}: bad ${kind} size ${width}x${height} or maxval ${maxval}`);
  if (width * height > maxPixels) throw headerLimitError(where, kind, width, height, maxPixels);
  const channels = kind === 'P3' || kind === 'P6' ? 3 : 1;
  const count = width * height * channels;
  // The pixels must be there before any memory is taken for them.
  const binary = kind === 'P4' || kind === 'P5' || kind === 'P6';
  // Binary: 2 or 1 bytes a value, or P4's rows of 8 pixels a byte. ASCII: a digit and a space
  // at least, or P1's digits, which need no space between them.
  const least = kind === 'P4' ? Math.ceil(width / 8) * height : binary ? count * (maxval > 255 ? 2 : 1) : kind === 'P1' ? count : count * 2 - 1;
  if (buf.length - at < least) {
    throw new Error(`${where}: truncated ${kind} image: the header claims ${width}x${height} pixels, the file has ${buf.length - at} bytes after it`);
  }
  const data = new Uint8Array(count);
  const scale = 255 / maxval;
  if (kind === 'P4') {
    at++; // the single whitespace after the height
    const rowBytes = Math.ceil(width / 8);
    const need = rowBytes * height;
    if (buf.length - at < need) throw new Error(`${where}: truncated P4 image: ${buf.length - at} of ${need} pixel bytes`);
    for (let y = 0, i = 0; y < height; y++) {
      for (let x = 0, row = at + y * rowBytes; x < width; x++) data[i++] = (buf[row + (x >> 3)] >> (7 - (x & 7))) & 1 ? 0 : 255;
    }
  } else if (kind === 'P1') {
    for (let i = 0; i < count; i++) {
      skip();
      const c = buf[at++];
      if (c === undefined) throw new Error(`${where}: truncated P1 image: ${i} of ${count} pixels`);
      if (c !== 0x30 && c !== 0x31) throw new Error(`${where}: bad pixel "${String.fromCharCode(c)}" in P1 image (0 or 1)`);
      data[i] = c === 0x31 ? 0 : 255;
    }
  } else if (kind === 'P5' || kind === 'P6') {
    at++; // the single whitespace after maxval
    const wide = maxval > 255;
    const need = count * (wide ? 2 : 1);
    if (buf.length - at < need) throw new Error(`${where}: truncated ${kind} image: ${buf.length - at} of ${need} pixel bytes`);
    for (let i = 0; i < count; i++) {
      const v = wide ? (buf[at + 2 * i] << 8) | buf[at + 2 * i + 1] : buf[at + i];
      data[i] = Math.round(v * scale);
    }
  } else {
    for (let i = 0; i < count; i++) {
      const v = int('pixel value');
      if (v > maxval) throw new Error(`${where}: pixel value ${v} above maxval ${maxval}`);
      data[i] = Math.round(v * scale);
    }
  }
  return { width, height, channels, data };
}
