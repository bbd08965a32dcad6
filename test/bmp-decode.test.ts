// BMP photos (src/image/bmp.ts, decoded by bmp-ts): the kinds of BMP that photo libraries
// hold, written here at test time from an ORL face and a 5-celebrity-faces photo decoded by
// the project's own decoder, must come back as exactly those pixels through the decoder the
// CLI uses. A truncated BMP and one whose header claims too many pixels are refused in one
// line before bmp-ts sees them, and `facegpu embed` reads a BMP as it reads the same pixels
// from a PGM.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as bmpTsDecode } from 'bmp-ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeImageRaw, loadImageRaw, MAX_IMAGE_PIXELS } from '../src/image/decode.ts';
import type { RgbImage } from '../src/image/rgb.ts';
import { CELEB, ORL } from './helpers/faces.ts';
import { cosine } from './helpers/layout.ts';
import { facegpu } from './helpers/train-data.ts';
import { decodeRefusal } from './helpers/decode-refusal.ts';

// bmp-ts's decode, watched: a file refused from its header must never reach it.
vi.mock('bmp-ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('bmp-ts')>();
  return { ...real, decode: vi.fn(real.decode) };
});

const tmp = mkdtempSync(join(tmpdir(), 'facegpu-bmp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => {
  vi.mocked(bmpTsDecode).mockClear();
});

interface BmpOptions {
  bits: 1 | 4 | 8 | 24 | 32;
  /** Rows top first (negative height) instead of bottom first. */
  topDown?: boolean;
  /** 40 (BITMAPINFOHEADER) or 124 (BITMAPV5HEADER, its colour masks left zero). */
  headerSize?: 40 | 124;
  /** Bytes between the palette and the pixels (the header's pixel offset points past them). */
  gap?: number;
  /** For 1, 4 and 8 bits: the colours, and each pixel's index into them. */
  palette?: [number, number, number][];
  indices?: Uint8Array;
  /** For 32 bits: the fourth byte of every pixel. */
  alpha?: number;
}

/** A BMP file, BI_RGB (uncompressed): a small writer, independent of the reader under test. */
function writeBmp(img: RgbImage, o: BmpOptions): Buffer {
  const { width, height, data } = img;
  const headerSize = o.headerSize ?? 40;
  const palette = o.palette ?? [];
  const stride = Math.ceil((width * o.bits) / 32) * 4;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const row = pixels.subarray((o.topDown ? y : height - 1 - y) * stride);
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (o.bits === 24 || o.bits === 32) {
        const at = x * (o.bits / 8);
        [row[at], row[at + 1], row[at + 2]] = [data[3 * i + 2], data[3 * i + 1], data[3 * i]];
        if (o.bits === 32) row[at + 3] = o.alpha ?? 0;
      } else {
        const bitAt = x * o.bits;
        row[bitAt >> 3] |= o.indices![i] << (8 - o.bits - (bitAt & 7));
      }
    }
  }
  const gap = o.gap ?? 0;
  const offset = 14 + headerSize + 4 * palette.length + gap;
  const file = Buffer.alloc(offset + pixels.length);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(offset, 10);
  file.writeUInt32LE(headerSize, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(o.topDown ? -height : height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(o.bits, 28);
  file.writeUInt32LE(0, 30); // BI_RGB
  file.writeUInt32LE(pixels.length, 34);
  file.writeUInt32LE(palette.length, 46);
  palette.forEach(([r, g, b], k) => file.set([b, g, r, 0], 14 + headerSize + 4 * k));
  pixels.copy(file, offset);
  return file;
}

/** `img` with each pixel replaced by its palette colour: what a palette BMP of it holds. */
function paletted(img: RgbImage, palette: [number, number, number][], indices: Uint8Array): RgbImage {
  const data = new Uint8Array(img.width * img.height * 3);
  indices.forEach((k, i) => data.set(palette[k], 3 * i));
  return { width: img.width, height: img.height, data };
}

/** Each pixel's grey level (R; the ORL faces are grey) mapped to an index by `f`. */
const greyIndices = (img: RgbImage, f: (v: number) => number) => Uint8Array.from({ length: img.width * img.height }, (_, i) => f(img.data[3 * i]));

function expectSame(got: RgbImage, want: RgbImage): void {
  expect([got.width, got.height]).toEqual([want.width, want.height]);
  expect(Buffer.from(got.data).equals(Buffer.from(want.data))).toBe(true);
}

let face: RgbImage; // ORL s1/1.pgm: 92x112, grey
let photo: RgbImage; // a 5-celebrity-faces JPEG: colour, of odd width (rows padded)
beforeAll(async () => {
  face = await loadImageRaw(join(ORL, 's1', '1.pgm'));
  const dir = join(CELEB, 'train', 'ben_afflek');
  const jpegs = readdirSync(dir)
    .sort()
    .map((f) => join(dir, f))
    .filter((f) => readFileSync(f).subarray(0, 2).equals(Buffer.from([0xff, 0xd8])));
  for (const f of jpegs) {
    photo = await loadImageRaw(f);
    if (photo.width % 4 !== 0) break;
  }
  expect(photo.width % 4).not.toBe(0);
});

describe('BMP decoding', () => {
  it('24-bit, bottom-up (the usual kind), read by content whatever its name', async () => {
    const file = join(tmp, 'photo.jpg');
    writeFileSync(file, writeBmp(photo, { bits: 24 }));
    expectSame(await loadImageRaw(file), photo);
    expect(bmpTsDecode).toHaveBeenCalledTimes(1);
  });

  it('24-bit, top-down (negative height)', async () => {
    expectSame(await decodeImageRaw(writeBmp(photo, { bits: 24, topDown: true }), 'top-down.bmp'), photo);
  });

  it('32-bit: the fourth byte (alpha, or nothing) is dropped', async () => {
    expectSame(await decodeImageRaw(writeBmp(photo, { bits: 32, alpha: 0x80 }), 'x.bmp'), photo);
  });

  it('32-bit with a V5 header whose colour masks are zero (BI_RGB: they mean nothing)', async () => {
    expectSame(await decodeImageRaw(writeBmp(photo, { bits: 32, headerSize: 124 }), 'v5.bmp'), photo);
    expectSame(await decodeImageRaw(writeBmp(face, { bits: 24, headerSize: 124, topDown: true }), 'v5.bmp'), face);
  });

  it('8-bit greyscale palette, expanded to RGB', async () => {
    const grey = Array.from({ length: 256 }, (_, v) => [v, v, v] as [number, number, number]);
    expectSame(await decodeImageRaw(writeBmp(face, { bits: 8, palette: grey, indices: greyIndices(face, (v) => v) }), 'grey.bmp'), face);
  });

  it('8-bit and 4-bit palettes of fewer colours than the depth allows, odd width included', async () => {
    const odd: RgbImage = { width: 91, height: 112, data: Uint8Array.from({ length: 91 * 112 * 3 }, (_, i) => face.data[(Math.floor(i / 273) * 92 + Math.floor((i % 273) / 3)) * 3]) };
    for (const img of [face, odd]) {
      const warm = Array.from({ length: 11 }, (_, k) => [25 * k, 20 * k, 10 + 12 * k] as [number, number, number]);
      const indices = greyIndices(img, (v) => Math.floor((v * 11) / 256));
      for (const bits of [4, 8] as const) {
        const got = await decodeImageRaw(writeBmp(img, { bits, palette: warm, indices }), `${bits}-bit.bmp`);
        expectSame(got, paletted(img, warm, indices));
      }
    }
    // A damaged file's index past the palette is black (as libnsbmp), not a crash (bmp-ts,
    // 1 and 4 bits) or white (bmp-ts, 8 bits).
    const two: [number, number, number][] = [
      [200, 0, 0],
      [0, 200, 0],
    ];
    const tiny: RgbImage = { width: 3, height: 1, data: new Uint8Array(9) };
    for (const bits of [4, 8] as const) {
      const got = await decodeImageRaw(writeBmp(tiny, { bits, palette: two, indices: Uint8Array.of(1, 9, 0) }), 'past.bmp');
      expect(Array.from(got.data)).toEqual([0, 200, 0, 0, 0, 0, 200, 0, 0]);
    }
  });

  it('1-bit, odd width', async () => {
    const palette: [number, number, number][] = [
      [0, 0, 0],
      [255, 255, 255],
    ];
    const indices = greyIndices(photo, (v) => (v >= 128 ? 1 : 0)); // the photo's red, thresholded
    expectSame(await decodeImageRaw(writeBmp(photo, { bits: 1, palette, indices }), '1-bit.bmp'), paletted(photo, palette, indices));
  });

  it("the pixels are read from the header's offset, past a gap after the palette", async () => {
    expectSame(await decodeImageRaw(writeBmp(photo, { bits: 24, gap: 6 }), 'gap.bmp'), photo);
    const grey = Array.from({ length: 256 }, (_, v) => [v, v, v] as [number, number, number]);
    expectSame(await decodeImageRaw(writeBmp(face, { bits: 8, palette: grey, indices: greyIndices(face, (v) => v), gap: 2 }), 'gap.bmp'), face);
  });
});

describe('BMP files refused in one line', () => {
  it('a truncated BMP names the problem, before bmp-ts allocates its pixels', async () => {
    const full = writeBmp(photo, { bits: 24 });
    const stride = Math.ceil((photo.width * 3) / 4) * 4;
    const need = stride * (photo.height - 1) + photo.width * 3;
    expect(await decodeRefusal(full.subarray(0, 54 + 1000), 'cut.bmp')).toBe(
      `cut.bmp: cannot decode image (truncated BMP image: the header claims ${photo.width}x${photo.height} pixels at 24 bits, ${need} bytes, the file has 1000 after its header)`,
    );
    expect(await decodeRefusal(full.subarray(0, 30), 'cut.bmp')).toBe('cut.bmp: cannot decode image (truncated BMP header (30 bytes, the header needs 54))');
    // A small file claiming a big image (within the limit) costs no memory for it either.
    const claim = Buffer.from(full.subarray(0, 100));
    claim.writeInt32LE(8000, 18);
    claim.writeInt32LE(8000, 22);
    expect(await decodeRefusal(claim, 'claim.bmp')).toBe(
      'claim.bmp: cannot decode image (truncated BMP image: the header claims 8000x8000 pixels at 24 bits, 192000000 bytes, the file has 46 after its header)',
    );
    expect(bmpTsDecode).not.toHaveBeenCalled();
  });

  it('a 100-byte BMP whose header claims 50000x50000 pixels is refused from its header', async () => {
    const huge = Buffer.from(writeBmp({ width: 2, height: 2, data: new Uint8Array(12) }, { bits: 24 }).subarray(0, 54));
    huge.writeInt32LE(50000, 18);
    huge.writeInt32LE(50000, 22);
    const file = Buffer.concat([huge, Buffer.alloc(46)]);
    expect(file.length).toBe(100);
    const start = performance.now();
    expect(await decodeRefusal(file, 'huge.bmp')).toBe(
      `huge.bmp: the BMP header claims 50000x50000 pixels (2500000000), above the limit of ${MAX_IMAGE_PIXELS}; raise it with setMaxImagePixels() (or FACEGPU_MAX_PIXELS) if the image is real`,
    );
    expect(performance.now() - start).toBeLessThan(1000);
    expect(bmpTsDecode).not.toHaveBeenCalled();
  });

  it('an RLE-compressed BMP (which bmp-ts decodes wrongly) says so', async () => {
    const rle = writeBmp(face, { bits: 24 });
    rle.writeUInt16LE(8, 28);
    rle.writeUInt32LE(1, 30); // BI_RLE8
    expect(await decodeRefusal(rle, 'rle.bmp')).toBe('rle.bmp: cannot decode image (an RLE8-compressed BMP, which is not read; convert it to PNG or JPEG)');
    expect(bmpTsDecode).not.toHaveBeenCalled();
  });
});

describe('facegpu embed reads a BMP', () => {
  it('as the same pixels from a PGM, and a truncated one is a one-line warning', async () => {
    const pgm = join(ORL, 's1', '1.pgm');
    const bmp = join(tmp, 'face.bmp');
    writeFileSync(bmp, writeBmp(face, { bits: 24 }));
    const cut = join(tmp, 'cut.bmp');
    writeFileSync(cut, readFileSync(bmp).subarray(0, 5000));
    const r = await facegpu(['embed', bmp, pgm, cut, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`facegpu: warning: skipped ${cut}: cannot decode image (truncated BMP image: the header claims 92x112 pixels at 24 bits, 30912 bytes, the file has 4946 after its header)\n`);
    const out = JSON.parse(r.stdout);
    expect(out.map((x: { file: string }) => x.file)).toEqual([bmp, pgm, cut]);
    expect(out[0].embedding).toHaveLength(1024);
    expect(cosine(out[0].embedding, out[1].embedding)).toBeGreaterThan(0.99999);
    expect(out[2]).toEqual({ file: cut, error: 'cannot decode image (truncated BMP image: the header claims 92x112 pixels at 24 bits, 30912 bytes, the file has 4946 after its header)' });
  });
});
