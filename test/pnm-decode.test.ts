// Netpbm bitmaps (PBM: P1 ASCII, P4 binary, 1 bit per pixel, 1 = black) through the decoder
// the CLI uses (src/image/pnm.ts), beside the PGM/PPM it read before: written here at test
// time from an ORL face thresholded to black and white, they must come back as exactly those
// pixels; a truncated or damaged PBM, or one whose header claims too many pixels, is a
// one-line error naming the problem.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageRaw, loadImageRaw, MAX_IMAGE_PIXELS } from '../src/image/decode.ts';
import type { RgbImage } from '../src/image/rgb.ts';
import { ORL } from './helpers/faces.ts';
import { decodeRefusal } from './helpers/decode-refusal.ts';

const tmp = mkdtempSync(join(tmpdir(), 'facegpu-pnm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Bits of an ORL face (92x112; 92 pixels a row leave 4 bits of padding in P4): 1 = black. */
let bits: Uint8Array;
let want: RgbImage;
const [W, H] = [92, 112];
beforeAll(async () => {
  const face = await loadImageRaw(join(ORL, 's1', '1.pgm'));
  expect([face.width, face.height]).toEqual([W, H]);
  bits = Uint8Array.from({ length: W * H }, (_, i) => (face.data[3 * i] < 100 ? 1 : 0));
  want = { width: W, height: H, data: new Uint8Array(W * H * 3) };
  bits.forEach((b, i) => want.data.fill(b ? 0 : 255, 3 * i, 3 * i + 3));
});

function p4(): Buffer {
  const rowBytes = Math.ceil(W / 8);
  const pixels = Buffer.alloc(rowBytes * H);
  bits.forEach((b, i) => {
    const [y, x] = [Math.floor(i / W), i % W];
    pixels[y * rowBytes + (x >> 3)] |= b << (7 - (x & 7));
  });
  return Buffer.concat([Buffer.from(`P4\n# an ORL face\n${W} ${H}\n`), pixels]);
}

function expectSame(got: RgbImage, w: RgbImage): void {
  expect([got.width, got.height]).toEqual([w.width, w.height]);
  expect(Buffer.from(got.data).equals(Buffer.from(w.data))).toBe(true);
}

describe('PBM decoding', () => {
  it('P4 (binary, rows padded to whole bytes), read by content whatever its name', async () => {
    const file = join(tmp, 'face.png');
    writeFileSync(file, p4());
    expectSame(await loadImageRaw(file), want);
  });

  it('P1 (ASCII), with or without spaces between the digits', async () => {
    const rows = Array.from({ length: H }, (_, y) => Array.from(bits.subarray(y * W, (y + 1) * W)));
    expectSame(await decodeImageRaw(Buffer.from(`P1\n${W} ${H}\n${rows.map((r) => r.join(' ')).join('\n')}\n`), 'spaced.pbm'), want);
    expectSame(await decodeImageRaw(Buffer.from(`P1 ${W} ${H} ${rows.map((r) => r.join('')).join('')}`), 'packed.pbm'), want);
    const tiny = await decodeImageRaw(Buffer.from('P1\n# comment\n3 2\n010\n1 1\n0'), 'tiny.pbm');
    expect(Array.from(tiny.data)).toEqual([255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0, 0, 0, 0, 255, 255, 255]);
  });
});

describe('PBM files refused in one line', () => {
  it('truncated P4 and P1 name what is missing', async () => {
    expect(await decodeRefusal(p4().subarray(0, 500), 'cut.pbm')).toMatch(/^cut\.pbm: cannot decode image \(truncated P4 image: the header claims 92x112 pixels, the file has \d+ bytes after it\)$/);
    const body = p4();
    expect(await decodeRefusal(body.subarray(0, body.length - 1), 'cut.pbm')).toBe(`cut.pbm: cannot decode image (truncated P4 image: ${12 * H - 1} of ${12 * H} pixel bytes)`);
    expect(await decodeRefusal(Buffer.from('P1 3 2 0 1 0 1 1'), 'cut.pbm')).toBe('cut.pbm: cannot decode image (truncated P1 image: 5 of 6 pixels)');
    expect(await decodeRefusal(Buffer.from('P1 300 200 0101'), 'cut.pbm')).toBe('cut.pbm: cannot decode image (truncated P1 image: the header claims 300x200 pixels, the file has 5 bytes after it)');
  });

  it('a P1 digit other than 0 or 1 is named', async () => {
    expect(await decodeRefusal(Buffer.from('P1 2 1 0 2'), 'bad.pbm')).toBe('bad.pbm: cannot decode image (bad pixel "2" in P1 image (0 or 1))');
  });

  it('a header claiming 100000x100000 pixels names the claim and the limit', async () => {
    expect(await decodeRefusal(Buffer.from('P4 100000 100000\n\x00'), 'huge.pbm')).toBe(
      `huge.pbm: the P4 header claims 100000x100000 pixels (10000000000), above the limit of ${MAX_IMAGE_PIXELS}; raise it with setMaxImagePixels() (or FACEGPU_MAX_PIXELS) if the image is real`,
    );
  });
});
