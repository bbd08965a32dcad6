// The `facegpu embed` command and image decoding, run as a user would.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageRGB, loadImageRGB } from '../src/image/decode.ts';
import { faceImages, ORL } from './helpers/faces.ts';
import { cosine, randomArray } from './helpers/layout.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('image decoding', () => {
  it('a 224x224 image goes in exactly as it is', async () => {
    const raw = Uint8Array.from(randomArray(224 * 224 * 3, 5, 0, 256), Math.floor);
    const file = join(tmp, 'exact.png');
    await sharp(raw, { raw: { width: 224, height: 224, channels: 3 } }).png().toFile(file);
    expect(Buffer.from(await loadImageRGB(file, 224)).equals(Buffer.from(raw))).toBe(true);
  });

  it('other sizes are resized; greyscale PGM becomes RGB; alpha is dropped', async () => {
    const grey = await loadImageRGB(join(ORL, 's1/1.pgm'), 224);
    expect(grey.length).toBe(224 * 224 * 3);
    for (let i = 0; i < grey.length; i += 3 * 997) expect(grey[i]).toBe(grey[i + 1]);
    const rgba = await sharp({ create: { width: 31, height: 17, channels: 4, background: { r: 200, g: 10, b: 30, alpha: 0.5 } } }).png().toBuffer();
    const out = await decodeImageRGB(rgba, 224, 'rgba.png');
    expect([out[0], out[1], out[2]]).toEqual([200, 10, 30]);
  });

  it('ASCII PGM/PPM are read; the extension does not matter', async () => {
    const p3 = 'P3\n# a comment\n2 1\n255\n255 0 0   0 0 255\n';
    writeFileSync(join(tmp, 'tiny.jpg'), p3);
    const out = await loadImageRGB(join(tmp, 'tiny.jpg'), 2);
    expect(Array.from(out.subarray(0, 3))).toEqual([255, 0, 0]);
  });
});

describe('facegpu embed', () => {
  it('prints JSON descriptors and exits cleanly', async () => {
    const files = faceImages(1);
    const { stdout } = await run('node', [CLI, 'embed', ...files, '--json'], { timeout: 120_000 });
    const out = JSON.parse(stdout);
    expect(out.map((r: any) => r.file)).toEqual(files);
    expect(out[0].embedding).toHaveLength(1024);
    expect(out[0].embedding.every(Number.isFinite)).toBe(true);
    // Two different faces give different descriptors.
    expect(cosine(out[0].embedding, out[1].embedding)).toBeLessThan(0.99);
  });

  it('runs on the SwiftShader adapter too (other limits), with the same descriptors', async () => {
    const file = faceImages(1)[0];
    const on = async (adapter: string) => {
      const { stdout, stderr } = await run('node', [CLI, '--adapter', adapter, 'embed', file, '--json'], { timeout: 180_000 });
      expect(stderr).toContain(`backbone on ${adapter === 'lavapipe' ? 'llvmpipe' : adapter}`);
      return JSON.parse(stdout)[0].embedding;
    };
    const [lavapipe, swiftshader] = [await on('lavapipe'), await on('swiftshader')];
    expect(cosine(lavapipe, swiftshader)).toBeGreaterThanOrEqual(0.9999);
  });

  it('a folder gives the images under it, beside files named directly', async () => {
    const dir = join(tmp, 'folder');
    mkdirSync(join(dir, 'inner'), { recursive: true });
    const [a, b] = faceImages(1);
    copyFileSync(a, join(dir, 'a.pgm'));
    copyFileSync(b, join(dir, 'inner', 'b.pgm'));
    const { stdout } = await run('node', [CLI, 'embed', dir, a, '--json'], { timeout: 120_000 });
    const out = JSON.parse(stdout);
    expect(out.map((r: { file: string }) => r.file)).toEqual([join(dir, 'a.pgm'), join(dir, 'inner', 'b.pgm'), a]);
    expect(cosine(out[0].embedding, out[2].embedding)).toBeGreaterThan(0.99999);
  });

  it('an unreadable image is named, exit status 2 (some files could not be read)', async () => {
    writeFileSync(join(tmp, 'text.jpg'), 'this is not an image');
    const err = await run('node', [CLI, 'embed', join(tmp, 'text.jpg')], { timeout: 120_000 }).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stdout).toBe('');
    expect(err.stderr).toMatch(/text\.jpg: not an image in a supported format/);
    const missing = await run('node', [CLI, 'embed', join(tmp, 'nope.png')], { timeout: 120_000 }).catch((e) => e);
    expect(missing.stderr).toMatch(/nope\.png: cannot read \(no such file or folder\)/);
  });
});
