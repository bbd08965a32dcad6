// Images that would cost memory by design or say nothing useful when they fail: vector
// drawings are refused (a 123-byte SVG may declare 15000x15000 pixels), every format is
// bounded by a pixel limit read from its header before decoding, a HEIC of the kinds this
// build does not read (scalable or multi-layer HEVC) is refused in one line, and `embed`
// answers the good files when one is bad.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImageRaw, loadImageRGB, MAX_IMAGE_PIXELS, parseMaxPixels, setMaxImagePixels } from '../src/image/decode.ts';
import { CLI, facegpu } from './helpers/train-data.ts';
import { ORL } from './helpers/faces.ts';

const tmp = mkdtempSync(join(tmpdir(), 'facegpu-decode-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="15000" height="15000"><rect width="15000" height="15000" fill="red"/></svg>';

describe('decoding is bounded', () => {
  it('refuses an SVG that declares 15000x15000 pixels from its first bytes, naming the file', async () => {
    // "an SVG drawing" is the content check's wording, made before sharp sees the bytes (sharp's
    // own format check, a later line of defence, says "a SVG drawing"): nothing was rendered.
    await expect(decodeImageRaw(Buffer.from(SVG), 'big.svg')).rejects.toThrow('big.svg: an SVG drawing (a vector format), not a photo; convert it to PNG or JPEG');
    await expect(decodeImageRaw(Buffer.from(`<?xml version="1.0"?>\n${SVG}`), 'x.jpg')).rejects.toThrow('x.jpg: an SVG drawing');
  });

  it('a PGM header claiming 100000x100000 names the file, the claim and the limit', async () => {
    await expect(decodeImageRaw(Buffer.from('P5 100000 100000 255\n\x00'), 'huge.pgm')).rejects.toThrow(
      `huge.pgm: the P5 header claims 100000x100000 pixels (10000000000), above the limit of ${MAX_IMAGE_PIXELS}; raise it with setMaxImagePixels() (or FACEGPU_MAX_PIXELS) if the image is real`,
    );
    await expect(decodeImageRaw(Buffer.from('P6 3000 3000 255\n\x00\x00'), 't.ppm')).rejects.toThrow(/^t\.ppm: cannot decode image \(truncated P6 image: the header claims 3000x3000 pixels/);
  });

  it('bounds every format by its header, and the limit can be raised', async () => {
    const png = await sharp({ create: { width: 200, height: 100, channels: 3, background: 'white' } }).png().toBuffer();
    try {
      setMaxImagePixels(10_000);
      await expect(decodeImageRaw(png, 'wide.png')).rejects.toThrow('wide.png: the png is 200x100 pixels (20000), above the limit of 10000; raise it with setMaxImagePixels() (or FACEGPU_MAX_PIXELS)');
      setMaxImagePixels(parseMaxPixels('200x100', 'limit'));
      expect((await decodeImageRaw(png, 'wide.png')).width).toBe(200);
    } finally {
      setMaxImagePixels(MAX_IMAGE_PIXELS);
    }
    expect(() => parseMaxPixels('-3', 'maxPixels')).toThrow('maxPixels must be a positive number of pixels (e.g. 100000000 or 10000x10000), got "-3"');
  });

  it('the CLI names its flag where the library names its function', async () => {
    const file = join(tmp, 'wide.png');
    await sharp({ create: { width: 200, height: 100, channels: 3, background: 'white' } }).png().toFile(file);
    const r = await facegpu(['--max-pixels', '10000', 'embed', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`facegpu: warning: skipped ${file}: the png is 200x100 pixels (20000), above the limit of 10000; raise it with --max-pixels (or FACEGPU_MAX_PIXELS) if the image is real`);
    expect((await facegpu(['--max-pixels', '1x', 'embed', file])).stderr.trim()).toBe('facegpu: --max-pixels must be a positive number of pixels (e.g. 100000000 or 10000x10000), got "1x"');
  });
});

describe('FACEGPU_MAX_PIXELS', () => {
  const withEnv = (value: string, args: string[]) =>
    promisify(execFile)(process.execPath, args, { env: { ...process.env, FACEGPU_MAX_PIXELS: value } }).then(
      (x) => ({ code: 0, ...x }),
      (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
    );
  const bad = 'FACEGPU_MAX_PIXELS must be a positive number of pixels (e.g. 100000000 or 10000x10000), got "abc"';

  it('is read when a decode needs the limit, not when the library is imported', async () => {
    const lib = new URL('../src/node.ts', import.meta.url).href;
    const r = await withEnv('abc', ['--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(lib)}); console.log('imported')`]);
    expect(r).toMatchObject({ code: 0, stdout: 'imported\n', stderr: '' });
    const png = await sharp({ create: { width: 200, height: 100, channels: 3, background: 'white' } }).png().toBuffer();
    const saved = process.env.FACEGPU_MAX_PIXELS;
    try {
      setMaxImagePixels(null);
      process.env.FACEGPU_MAX_PIXELS = 'abc';
      await expect(decodeImageRaw(png, 'wide.png')).rejects.toThrow(bad);
      process.env.FACEGPU_MAX_PIXELS = '199x100';
      await expect(decodeImageRaw(png, 'wide.png')).rejects.toThrow('wide.png: the png is 200x100 pixels (20000), above the limit of 19900');
      process.env.FACEGPU_MAX_PIXELS = '200x100';
      expect((await decodeImageRaw(png, 'wide.png')).width).toBe(200);
    } finally {
      if (saved === undefined) delete process.env.FACEGPU_MAX_PIXELS;
      else process.env.FACEGPU_MAX_PIXELS = saved;
      setMaxImagePixels(MAX_IMAGE_PIXELS);
    }
  });

  it('a bad value: the CLI says so in one line and exits 1 before any work; --version is not affected', async () => {
    const version = await withEnv('abc', [CLI, '--version']);
    expect(version.code).toBe(0);
    expect(version.stderr).toBe('');
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    const r = await withEnv('abc', [CLI, 'embed', join(tmp, 'nothing.png')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`facegpu: ${bad}\n`);
    expect(r.stdout).toBe('');
    // Commander's own errors begin as every other line does, in subcommands too.
    for (const [args, line] of [[['embed', '--bogus'], "unknown option '--bogus'"], [['gallery', 'stats'], "missing required argument 'gallery'"]] as const) {
      const u = await withEnv('100000000', [CLI, ...args]);
      expect([u.code, u.stderr]).toEqual([1, `facegpu: error: ${line}\n`]);
    }
  });

  it('a HEIC that heic-decode does not open (scalable HEVC, brand heis) is refused in one line, without library noise', async () => {
    // Plain HEIC is read (test/heic-decode.test.ts); the multi-layer and scalable HEVC brands
    // (heim, heis, hevm, hevs) are refused by their first bytes, before any decoder.
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheis\0\0\0\0mif1heis'), Buffer.alloc(64)]);
    const file = join(tmp, 'phone.heic');
    writeFileSync(file, heic);
    await expect(loadImageRGB(file, 224)).rejects.toThrow(`${file}: a HEIC photo (HEVC-coded), which this build cannot decode; convert it to JPEG`);
    const r = await facegpu(['embed', file]);
    // Exit status 2, the rule for unreadable files, also when no file was left to answer.
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([`facegpu: warning: skipped ${file}: a HEIC photo (HEVC-coded), which this build cannot decode; convert it to JPEG (e.g. heif-convert, or export as "Most Compatible" on the phone)`, `facegpu: nothing embedded: ${file} was skipped`]);
  });

  it('embed on 4 copies of the SVG: refused, peak memory under 500 MB', async () => {
    const dir = join(tmp, 'svgs');
    mkdirSync(dir);
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, `${i}.svg`), SVG);
    // The child reports its own peak resident memory when it exits.
    const report = `data:text/javascript,process.on('exit',()=>process.stderr.write('MAXRSS '+process.resourceUsage().maxRSS+'\\n'))`;
    const t0 = performance.now();
    const r = await promisify(execFile)(process.execPath, ['--import', report, CLI, 'embed', ...readdirSync(dir).map((f) => join(dir, f))]).then(
      (x) => ({ code: 0, ...x }),
      (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const maxRssMb = Number(/MAXRSS (\d+)/.exec(r.stderr)![1]) / 1024;
    console.log(`4 SVGs: refused in ${seconds.toFixed(1)} s, peak RSS ${maxRssMb.toFixed(0)} MB`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`skipped ${join(dir, '0.svg')}: an SVG drawing (a vector format), not a photo`);
    expect(r.stderr).toContain('facegpu: nothing embedded: all 4 files were skipped');
    expect(maxRssMb).toBeLessThan(500);
  });
});

describe('broken files decoded at once', () => {
  it("each failure says its own file's reason, in one line (libvips' error buffer is shared)", async () => {
    // As a batch is decoded (Promise.all): several truncated JPEGs and PNGs failing together
    // got each other's messages, both, or none ("cannot decode image (Unknown error)").
    const image = (seed: number) => sharp(Buffer.from(Array.from({ length: 96 * 64 * 3 }, (_, i) => (i * seed) & 255)), { raw: { width: 96, height: 64, channels: 3 } });
    const cut = (buf: Buffer, keep: number) => buf.subarray(0, Math.floor(buf.length * keep));
    const jpeg = async (seed: number) => cut(await image(seed).jpeg().toBuffer(), 0.5);
    const png = async (seed: number) => cut(await image(seed).png().toBuffer(), 0.6);
    const good = await image(1).png().toBuffer();
    const inputs = [
      { name: 'a.jpg', buf: await jpeg(3), says: 'a.jpg: cannot decode image (premature end of JPEG image)' },
      { name: 'b.png', buf: await png(5), says: 'b.png: cannot decode image (libpng read error)' },
      { name: 'c.jpg', buf: await jpeg(7), says: 'c.jpg: cannot decode image (premature end of JPEG image)' },
      { name: 'ok.png', buf: good, says: null },
      { name: 'd.jpg', buf: await jpeg(11), says: 'd.jpg: cannot decode image (premature end of JPEG image)' },
      { name: 'e.png', buf: await png(13), says: 'e.png: cannot decode image (libpng read error)' },
      { name: 'f.jpg', buf: await jpeg(17), says: 'f.jpg: cannot decode image (premature end of JPEG image)' },
      // One colour, cut in its tables: sharp says "Input buffer has corrupt header: VipsJpeg: ..."
      // and libvips repeats its lines; the reason is said once, without the decoders' names.
      { name: 'g.jpg', buf: cut(await sharp({ create: { width: 200, height: 150, channels: 3, background: 'teal' } }).jpeg().toBuffer(), 0.5), says: 'g.jpg: cannot decode image (premature end of JPEG image)' },
    ];
    for (let round = 0; round < 3; round++) {
      const got = await Promise.allSettled(inputs.map((x) => decodeImageRaw(x.buf, x.name)));
      expect(got.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : null))).toEqual(inputs.map((x) => x.says));
    }
  });
});

describe('embed with one bad file', () => {
  it('with every file bad, --json still answers each in its place, exit 2 (before the GPU opens where it can)', async () => {
    const bad = join(tmp, 'bad-only.jpg');
    writeFileSync(bad, 'not a photo');
    const svg = join(tmp, 'drawing.png');
    writeFileSync(svg, SVG);
    const missing = join(tmp, 'missing.jpg');
    // A device and a (sparse) file past the largest read: refused unread (/dev/zero was read
    // until the memory ran out).
    const huge = join(tmp, 'huge.jpg');
    writeFileSync(huge, '');
    truncateSync(huge, 1.5 * 2 ** 30);
    const r = await facegpu(['embed', bad, svg, missing, '/dev/zero', huge, '--json']);
    expect(r.code, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual([
      { file: bad, error: expect.stringContaining('not an image in a supported format') },
      { file: svg, error: 'an SVG drawing (a vector format), not a photo; convert it to PNG or JPEG' },
      { file: missing, error: 'cannot read (no such file or folder)' },
      { file: '/dev/zero', error: 'not a regular file (a device, a pipe or a socket): not read' },
      { file: huge, error: '1.5 GiB: larger than any photo read (1 GiB at most)' },
    ]);
    expect(r.stderr).toContain('facegpu: nothing embedded: all 5 files were skipped');
    rmSync(huge);
    // Files refused by their first bytes or their absence: answered before the engine opens.
    const early = await facegpu(['embed', svg, missing, '--json']);
    expect(early.code, early.stderr).toBe(2);
    expect(JSON.parse(early.stdout)).toEqual(JSON.parse(r.stdout).slice(1, 3));
    expect(early.stderr).toContain('facegpu: nothing embedded: all 2 files were skipped');
    expect(early.stderr).not.toContain('backbone on');
    expect(r.stderr).toContain('backbone on');
  });

  it('answers the good files, names the bad one, lists it in place in --json, exits 2', async () => {
    const good = join(ORL, 's1', '1.pgm');
    const bad = join(tmp, 'bad.jpg');
    writeFileSync(bad, 'not a photo');
    const r = await facegpu(['embed', good, bad, good, '--json', '--batch-size', '2']);
    expect(r.stderr).toContain(`facegpu: warning: skipped ${bad}: not an image in a supported format`);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.map((x: { file: string }) => x.file)).toEqual([good, bad, good]);
    expect(out[0].embedding).toHaveLength(1024);
    expect(out[1]).toEqual({ file: bad, error: 'not an image in a supported format (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIC, BMP, PGM/PPM/PBM)' });
    expect(out[2].embedding).toEqual(out[0].embedding);
  });

  it('refuses --batch-size below 1 before the GPU starts', async () => {
    const r = await facegpu(['embed', join(ORL, 's1', '1.pgm'), '--batch-size', '-3']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('facegpu: --batch-size must be a positive integer, got -3');
  });
});
