// HEIC photos (src/image/heic.ts, decoded by heic-decode: libheif + libde265 as WebAssembly),
// written here at test time by Debian's `heif-enc` (package libheif-examples, x265 inside;
// scripts/install-system.sh installs it) from an ORL face and a 5-celebrity-faces photo
// decoded by the project's own decoder. They must come back as those pixels through the
// decoder the CLI uses: exactly for the grey face (lossless HEVC), within +-1 for the colour
// photo (heif-enc 1.15 codes "lossless" as 4:4:4 YCbCr, so RGB rounds), and close for a lossy
// one. The container's rotation (irot) is applied, the primary image of a two-image file is
// the one decoded, a truncated HEIC is a one-line error with nothing printed, one whose header
// claims too many pixels is refused before its pixels are decoded, and `facegpu embed` reads
// a HEIC as it reads the same photo as a PNG.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeImageRaw, loadImageRaw, MAX_IMAGE_PIXELS, setMaxImagePixels } from '../src/image/decode.ts';
import { decodeHeic, HEIC_IDLE_MS, heicDecoderCalls, heicDecoderThreads } from '../src/image/heic.ts';
import type { RgbImage } from '../src/image/rgb.ts';
import { CELEB, ORL } from './helpers/faces.ts';
import { cosine } from './helpers/layout.ts';
import { facegpu } from './helpers/train-data.ts';
import { decodeRefusal } from './helpers/decode-refusal.ts';

// heic-decode watched (heicDecoderCalls: what its threads were asked): a file refused from its
// header must never have its pixels decoded, and one whose container sharp's libheif cannot
// parse never reaches heic-decode at all (which would keep its parse of such a file in
// WebAssembly memory). The decoder thread parses with `all()`, which decodes nothing, then
// decodes one image of it.
let calls0 = heicDecoderCalls();
const parsedCalls = () => heicDecoderCalls().parsed - calls0.parsed;
const decodedCalls = () => heicDecoderCalls().decoded - calls0.decoded;

const tmp = mkdtempSync(join(tmpdir(), 'facegpu-heic-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** heif-enc missing: every test fails with what to run (a beforeAll failure alone reads as skipped tests). */
let noHeifEnc: Error | undefined;
beforeEach(() => {
  if (noHeifEnc) throw noHeifEnc;
  calls0 = heicDecoderCalls();
});

/** `heif-enc args...` in tmp. */
function heifEnc(...args: string[]): void {
  execFileSync('heif-enc', args, { cwd: tmp, stdio: 'pipe' });
}

/** `img` as a PNG file in tmp. */
async function png(img: RgbImage, name: string): Promise<string> {
  await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png().toFile(join(tmp, name));
  return join(tmp, name);
}

/** HEVC lossless, 4:4:4, as heif-enc's help says (exact for grey; RGB rounds to +-1 in 1.15). */
const LOSSLESS = ['-L', '-p', 'chroma=444', '--matrix_coefficients=0'];

/** The offset of the first box `type` in `buf` (its size field), found by name. */
function box(buf: Buffer, type: string): number {
  const at = buf.indexOf(type, 0, 'latin1');
  if (at < 4) throw new Error(`no ${type} box in heif-enc's file: its layout changed, and this test's edit of it with it`);
  return at - 4;
}

function diff(got: RgbImage, want: RgbImage): { mean: number; max: number } {
  expect([got.width, got.height]).toEqual([want.width, want.height]);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < want.data.length; i++) {
    const d = Math.abs(got.data[i] - want.data[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / want.data.length, max };
}

let face: RgbImage; // ORL s1/1.pgm: 92x112, grey
let photo: RgbImage; // a 5-celebrity-faces JPEG: colour, of odd width
let gridPhoto: RgbImage; // that photo stretched to 728x488, stored as a grid of tiles
const file: Record<string, string> = {};
beforeAll(async () => {
  face = await loadImageRaw(join(ORL, 's1', '1.pgm'));
  const dir = join(CELEB, 'train', 'ben_afflek');
  const jpeg = readdirSync(dir)
    .sort()
    .map((f) => join(dir, f))
    .find((f) => readFileSync(f).subarray(0, 2).equals(Buffer.from([0xff, 0xd8])));
  photo = await loadImageRaw(jpeg!);
  file.facePng = await png(face, 'face.png');
  file.photoPng = await png(photo, 'photo.png');
  let encoders = '';
  try {
    encoders = execFileSync('heif-enc', ['--list-encoders'], { encoding: 'utf8', stdio: 'pipe' });
  } catch {}
  if (!/x265/i.test(encoders)) {
    noHeifEnc = new Error('heif-enc with its HEVC encoder (x265) not found: it makes the HEIC files of this test (Debian package libheif-examples); run scripts/install-system.sh');
    return;
  }
  const help = spawnSync('heif-enc', ['--help'], { encoding: 'utf8' });
  if (!/--tiled-input/.test(`${help.stdout}${help.stderr}`)) {
    noHeifEnc = new Error('heif-enc cannot write a grid of tiles (--tiled-input, libheif >= 1.18; bookworm-backports has it); run scripts/install-system.sh');
    return;
  }
  heifEnc(...LOSSLESS, 'face.png', '-o', 'face.heic');
  heifEnc(...LOSSLESS, 'photo.png', '-o', 'photo-lossless.heic');
  heifEnc('-q', '90', 'photo.png', '-o', 'photo.heic');
  heifEnc(...LOSSLESS, 'face.png', 'photo.png', '-o', 'two.heic');
  // A grid of 3x2 tiles of 256x256, cropped to 728x488: how iPhones store a photo (theirs are
  // 512x512 tiles, 48 for 12 megapixels).
  const [gw, gh] = [728, 488];
  gridPhoto = { width: gw, height: gh, data: new Uint8Array(await sharp(file.photoPng).resize(gw, gh, { fit: 'fill' }).raw().toBuffer()) };
  mkdirSync(join(tmp, 'tiles'));
  for (let y = 0; y < 2; y++) {
    for (let x = 0; x < 3; x++) {
      const [w, h] = [Math.min(256, gw - x * 256), Math.min(256, gh - y * 256)];
      await sharp(gridPhoto.data, { raw: { width: gw, height: gh, channels: 3 } })
        .extract({ left: x * 256, top: y * 256, width: w, height: h })
        .extend({ right: 256 - w, bottom: 256 - h, background: 'black' })
        .png()
        .toFile(join(tmp, 'tiles', `tile-0${y + 1}-0${x + 1}.png`));
    }
  }
  heifEnc('-q', '90', '-T', join('tiles', 'tile-01-01.png'), '--tiled-image-width', String(gw), '--tiled-image-height', String(gh), '-o', 'grid.heic');
  for (const name of ['face', 'photo-lossless', 'photo', 'two', 'grid']) file[name] = join(tmp, `${name}.heic`);
}, 120_000);

describe('HEIC decoding', () => {
  it('a grey face, lossless: exactly its pixels, read by content whatever its name', async () => {
    expect(readFileSync(file.face).toString('latin1', 4, 12)).toBe('ftypheic');
    const named = join(tmp, 'face.jpg');
    writeFileSync(named, readFileSync(file.face));
    expect(diff(await loadImageRaw(named), face)).toEqual({ mean: 0, max: 0 });
    expect(decodedCalls()).toBe(1);
  });

  it('a colour photo: lossless within +-1 (YCbCr rounding), lossy (quality 90) within a mean of 3', async () => {
    const lossless = diff(await loadImageRaw(file['photo-lossless']), photo);
    expect(lossless.max).toBeLessThanOrEqual(1);
    expect(lossless.mean).toBeLessThan(0.1);
    // Measured: mean 0.85, max 11 (heif-enc 1.15.1, x265 3.5).
    expect(diff(await loadImageRaw(file.photo), photo).mean).toBeLessThan(3);
  });

  it('a grid of tiles (how iPhones store a photo): the whole picture, each tile in its place', async () => {
    const buf = readFileSync(file.grid);
    expect(buf.includes('grid', 0, 'latin1')).toBe(true); // its primary image is a grid item
    const got = await decodeImageRaw(buf, 'grid.heic');
    expect(diff(got, gridPhoto).mean).toBeLessThan(3); // a tile out of place would be tens
  });

  it("the container's rotation (irot) is applied, as libheif and phones do", async () => {
    // heif-enc writes no irot: the face's `pixi` property (16 bytes, associated with the image
    // and essential) becomes an irot of the same size, angle 1 (90 degrees anticlockwise).
    const rotated = Buffer.from(readFileSync(file.face));
    const at = box(rotated, 'pixi');
    rotated.write('irot', at + 4, 'latin1');
    rotated.fill(0, at + 8, at + rotated.readUInt32BE(at));
    rotated[at + 8] = 1;
    const want = await sharp(face.data, { raw: { width: 92, height: 112, channels: 3 } }).rotate(-90).raw().toBuffer();
    expect(diff(await decodeImageRaw(rotated, 'rotated.heic'), { width: 112, height: 92, data: want })).toEqual({ mean: 0, max: 0 });
  });

  it('an EXIF Orientation inside a HEIC is not applied again (the HEIF rule: irot is the rotation)', async () => {
    await sharp(file.photoPng).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(join(tmp, 'exif6.jpg'));
    heifEnc('-q', '90', 'exif6.jpg', '-o', 'exif6.heic');
    const heic = readFileSync(join(tmp, 'exif6.heic'));
    // heif-enc (libheif >= 1.18) keeps the EXIF block, Orientation 6 in it, and writes the same
    // turn as an irot, as iPhones do: the picture comes out turned once, not twice.
    expect(heic.includes('Exif')).toBe(true);
    expect(heic.includes('irot')).toBe(true);
    const got = await decodeImageRaw(heic, 'exif6.heic');
    const { data, info } = await sharp(file.photoPng).rotate(90).raw().toBuffer({ resolveWithObject: true });
    expect(diff(got, { width: info.width, height: info.height, data: new Uint8Array(data) }).mean).toBeLessThan(3);
  });

  it('10 bits a channel, and with alpha: 8-bit RGB, alpha dropped', async () => {
    await sharp(file.photoPng).toColourspace('rgb16').png().toFile(join(tmp, 'photo16.png'));
    heifEnc('-b', '10', '-q', '90', 'photo16.png', '-o', 'photo10.heic');
    expect((await sharp(join(tmp, 'photo10.heic')).metadata()).bitsPerSample).toBe(10);
    expect(diff(await loadImageRaw(join(tmp, 'photo10.heic')), photo).mean).toBeLessThan(3); // measured 1.05
    await sharp(file.photoPng).ensureAlpha(0.5).png().toFile(join(tmp, 'alpha.png'));
    heifEnc('-q', '90', 'alpha.png', '-o', 'alpha.heic');
    expect((await sharp(join(tmp, 'alpha.heic')).metadata()).hasAlpha).toBe(true);
    expect(diff(await loadImageRaw(join(tmp, 'alpha.heic')), photo).mean).toBeLessThan(3); // measured 0.85
  });

  it('of two images, the primary one (pitm) is decoded, wherever it is listed', async () => {
    const two = readFileSync(file.two);
    expect(diff(await decodeImageRaw(two, 'two.heic'), face)).toEqual({ mean: 0, max: 0 }); // heif-enc: the first is primary
    const second = Buffer.from(two);
    const pitm = box(second, 'pitm');
    expect(second.readUInt16BE(pitm + 12)).toBe(1);
    const photoId = heifItemIds(second).at(-1)!; // the photo: the last image item heif-enc wrote
    second.writeUInt16BE(photoId, pitm + 12);
    expect(diff(await decodeImageRaw(second, 'two.heic'), photo).max).toBeLessThanOrEqual(1);
    expect(decodedCalls()).toBe(2); // one image each time, not both
  });
});

/** The item IDs of a HEIF file's `infe` entries of type hvc1 or grid (version 2 infe boxes). */
function heifItemIds(buf: Buffer): number[] {
  const ids: number[] = [];
  for (let at = buf.indexOf('infe', 0, 'latin1'); at >= 0; at = buf.indexOf('infe', at + 4, 'latin1')) {
    const type = buf.toString('latin1', at + 12, at + 16);
    if (buf[at + 4] === 2 && (type === 'hvc1' || type === 'grid')) ids.push(buf.readUInt16BE(at + 8));
  }
  return ids;
}

describe('HEIC decoder threads', () => {
  it('decode side by side, each file its own pixels', async () => {
    const names = ['face', 'photo-lossless', 'photo', 'face', 'photo-lossless', 'photo'];
    const one = await Promise.all(names.map((n) => decodeHeic(readFileSync(file[n]), `${n}.heic`)));
    expect(decodedCalls()).toBe(names.length);
    expect(diff(one[0], face).max).toBe(0);
    expect(diff(one[3], face).max).toBe(0);
    expect(diff(one[1], photo).max).toBeLessThanOrEqual(1);
    expect(diff(one[4], photo).max).toBeLessThanOrEqual(1);
    expect(diff(one[2], one[5]).max).toBe(0);
  });

  it('threads idle for HEIC_IDLE_MS are let go (their memory with them); the next file starts one again', async () => {
    await decodeHeic(readFileSync(file.face), 'face.heic');
    expect(heicDecoderThreads()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, HEIC_IDLE_MS + 500));
    expect(heicDecoderThreads()).toBe(0);
    expect(diff(await decodeHeic(readFileSync(file.face), 'face.heic'), face).max).toBe(0);
    expect(heicDecoderThreads()).toBe(1);
  }, HEIC_IDLE_MS + 30_000);

  it('a decode past its time limit is stopped, one line; the next file decodes on a fresh thread', async () => {
    const buf = readFileSync(file.photo);
    await expect(decodeHeic(buf, 'slow.heic', Infinity, 1)).rejects.toThrow(/^slow\.heic: cannot decode image \(HEIC decoding took over 1 ms and was stopped; a damaged file\?\)$/);
    const again = await decodeHeic(buf, 'photo.heic');
    expect(diff(again, photo).mean).toBeLessThan(3);
  });
});

describe('HEIC files refused in one line', () => {
  it('a truncated HEIC names the problem, with nothing printed', async () => {
    const log = vi.spyOn(console, 'log'); // libheif-js prints its reasons with console.log
    try {
      const full = readFileSync(file.photo);
      // The container whole, the picture cut: heic-decode's libde265 says so.
      expect(await decodeRefusal(full.subarray(0, full.length >> 1), 'cut.heic')).toMatch(/^cut\.heic: cannot decode image \(a damaged or truncated HEIC: .+\)$/);
      expect(parsedCalls()).toBe(1);
      // The container cut: refused before heic-decode.
      expect(await decodeRefusal(full.subarray(0, 300), 'cut.heic')).toMatch(/^cut\.heic: cannot decode image \(a damaged or truncated HEIC: .*meta.*\)$/);
      expect(await decodeRefusal(full.subarray(0, 40), 'cut.heic')).toMatch(/^cut\.heic: cannot decode image \(a damaged or truncated HEIC: .+\)$/);
      expect(parsedCalls()).toBe(1);
      expect(log).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
    }
  });

  it('a header claiming 20000x20000 pixels is refused from its header, nothing decoded', async () => {
    const huge = Buffer.from(readFileSync(file.face));
    const ispe = box(huge, 'ispe');
    huge.writeUInt32BE(20000, ispe + 12);
    huge.writeUInt32BE(20000, ispe + 16);
    const start = performance.now();
    expect(await decodeRefusal(huge, 'huge.heic')).toBe(
      `huge.heic: the HEIC header claims 20000x20000 pixels (400000000), above the limit of ${MAX_IMAGE_PIXELS}; raise it with setMaxImagePixels() (or FACEGPU_MAX_PIXELS) if the image is real`,
    );
    expect(performance.now() - start).toBeLessThan(1000);
    expect(decodedCalls()).toBe(0);
    expect(parsedCalls()).toBe(0);
  });

  it('a real HEIC above a lowered limit is refused before decoding; the limit raised, it decodes', async () => {
    try {
      setMaxImagePixels(92 * 112 - 1);
      expect(await decodeRefusal(readFileSync(file.face), 'face.heic')).toBe(
        'face.heic: the HEIC header claims 92x112 pixels (10304), above the limit of 10303; raise it with setMaxImagePixels() (or FACEGPU_MAX_PIXELS) if the image is real',
      );
      expect(decodedCalls()).toBe(0);
      setMaxImagePixels(92 * 112);
      expect((await decodeImageRaw(readFileSync(file.face), 'face.heic')).width).toBe(92);
    } finally {
      setMaxImagePixels(null);
    }
  });
});

describe('facegpu embed reads a HEIC', () => {
  it('as the same photo from a PNG (cosine > 0.999), and a truncated one is a one-line warning', async () => {
    const cut = join(tmp, 'cut.heic');
    writeFileSync(cut, readFileSync(file.photo).subarray(0, 5000));
    const r = await facegpu(['embed', file.photo, file.photoPng, cut, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`facegpu: warning: skipped ${cut}: cannot decode image \\(a damaged or truncated HEIC: [^\\n]+\\)\\n`));
    const out = JSON.parse(r.stdout); // nothing but the answer on stdout
    expect(out.map((x: { file: string }) => x.file)).toEqual([file.photo, file.photoPng, cut]);
    expect(out[0].embedding).toHaveLength(1024);
    expect(cosine(out[0].embedding, out[1].embedding)).toBeGreaterThan(0.999);
    expect(out[2].error).toMatch(/^cannot decode image \(a damaged or truncated HEIC: /);
  });
});
