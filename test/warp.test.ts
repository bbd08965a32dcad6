// The face warp on the GPU (shaders/warp_affine.wgsl through src/detect/warp.ts) against a
// CPU reference of the same sampling written here (bilinear taps at continuous coordinates,
// a taps x taps grid per output pixel when shrinking, edge pixels repeated outside), and
// against sharp's resize on a downscale. Every GPU call runs inside a validation error scope.
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { squareTransform, type Affine } from '../src/detect/align.ts';
import { FaceWarper, MAX_TAPS, packMaps, tapsFor, WARP_OUTPUT_USAGE, warpOp } from '../src/detect/warp.ts';
import { footprint, packedBytes, sourceParts } from '../src/detect/warp-parts.ts';
import { readBuffer } from '../src/gpu/buffers.ts';
import { KernelRunner } from '../src/gpu/runner.ts';
import { loadImageRaw } from '../src/image/decode.ts';
import type { RgbImage } from '../src/image/rgb.ts';
import { CELEB, ORL } from './helpers/faces.ts';
import { testGpu, type TestGpu } from './helpers/gpu.ts';
import { noiseImage } from './helpers/images.ts';

let t: TestGpu;
let warper: FaceWarper;
let photo: RgbImage;
let orl: RgbImage;
beforeAll(async () => {
  t = await testGpu();
  warper = new FaceWarper(t.runner, t.gpu);
  photo = await loadImageRaw(join(CELEB, 'val/ben_afflek/httpafilesbiographycomimageuploadcfillcssrgbdprgfacehqwMTENDgMDUODczNDcNTcjpg.jpg'));
  orl = await loadImageRaw(join(ORL, 's1/1.pgm'));
});
afterAll(() => {
  warper?.destroy();
  t?.close();
});

/** Run `fn` inside a validation error scope: a WebGPU mistake fails the test loudly. */
async function scoped<T>(fn: () => Promise<T>): Promise<T> {
  t.gpu.device.pushErrorScope('validation');
  let result: T;
  try {
    result = await fn();
  } finally {
    const err = await t.gpu.device.popErrorScope();
    if (err) throw new Error(`WebGPU validation error: ${err.message}`);
  }
  return result;
}

const gpuWarp = (image: RgbImage, maps: Affine[], size: number, w = warper) => scoped(() => w.warpToBytes(image, maps, size));

/**
 * The CPU reference, float64: output pixel (x, y) of view v averages k x k bilinear samples
 * at source positions m(x + (i + 0.5) / k, y + (j + 0.5) / k); a sample at (u, v) lies between
 * the pixels whose centres (i + 0.5, j + 0.5) surround it; outside the photo the edge pixel
 * repeats. `swap` reads x and y the wrong way round (the test that must tell).
 */
function reference({ data, width, height }: RgbImage, maps: readonly Affine[], size: number, opts: { maxTaps?: number; swap?: boolean } = {}): Uint8Array {
  const out = new Uint8Array(maps.length * size * size * 3);
  const at = (x: number, y: number, c: number) => data[(Math.min(Math.max(y, 0), height - 1) * width + Math.min(Math.max(x, 0), width - 1)) * 3 + c];
  maps.forEach((m, v) => {
    const scale = Math.max(Math.hypot(m.a, m.d), Math.hypot(m.b, m.e));
    const k = Math.min(opts.maxTaps ?? 8, Math.max(1, Math.ceil(scale - 1e-6)));
    const acc = [0, 0, 0];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        acc.fill(0);
        for (let j = 0; j < k; j++) {
          for (let i = 0; i < k; i++) {
            const X = x + (i + 0.5) / k;
            const Y = y + (j + 0.5) / k;
            let u = m.a * X + m.b * Y + m.c;
            let w = m.d * X + m.e * Y + m.f;
            if (opts.swap) [u, w] = [w, u];
            const sx = u - 0.5;
            const sy = w - 0.5;
            const x0 = Math.floor(sx);
            const y0 = Math.floor(sy);
            const fx = sx - x0;
            const fy = sy - y0;
            for (let c = 0; c < 3; c++) {
              const top = at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx;
              const bottom = at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx;
              acc[c] += top * (1 - fy) + bottom * fy;
            }
          }
        }
        const o = ((v * size + y) * size + x) * 3;
        for (let c = 0; c < 3; c++) out[o + c] = Math.min(255, Math.max(0, Math.floor(acc[c] / (k * k) + 0.5)));
      }
    }
  });
  return out;
}

function diff(a: Uint8Array, b: Uint8Array): { max: number; mean: number; differing: number } {
  expect(a.length).toBe(b.length);
  let max = 0;
  let sum = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
    if (d) differing++;
  }
  return { max, mean: sum / a.length, differing: differing / a.length };
}

/** GPU and reference agree to one grey level (float32 against float64 rounding), rarely differing at all. */
function expectSame(gpu: Uint8Array, ref: Uint8Array): void {
  const d = diff(gpu, ref);
  expect(d.max).toBeLessThanOrEqual(1);
  expect(d.differing).toBeLessThan(0.01);
}

/** A similarity map: output centre -> source point (cx, cy), rotated by `deg`, `scale` source pixels per output pixel. */
function around(cx: number, cy: number, deg: number, scale: number, size: number): Affine {
  const r = (deg * Math.PI) / 180;
  const a = scale * Math.cos(r);
  const d = scale * Math.sin(r);
  return { a, b: -d, c: cx - a * (size / 2) + d * (size / 2), d, e: a, f: cy - d * (size / 2) - a * (size / 2) };
}

const IDENTITY: Affine = { a: 1, b: 0, c: 0, d: 0, e: 1, f: 0 };

describe('warp_affine', () => {
  it('identity reproduces the photo exactly; an integer shift is an exact crop (the square crop transform)', async () => {
    const img = noiseImage(64, 64, 7);
    expect(Buffer.from(await gpuWarp(img, [IDENTITY], 64)).equals(Buffer.from(img.data))).toBe(true);
    // squareTransform of a rect at its own size: the rect's pixels, as sharp's extract gives them.
    const rect = { left: 60, top: 35, width: 150, height: 150 };
    const cut = await sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } }).extract(rect).raw().toBuffer();
    expect(Buffer.from(await gpuWarp(photo, [squareTransform(rect, 150)], 150)).equals(cut)).toBe(true);
  });

  it('a pure shrink matches the reference, filters like sharp resize, and does not alias like point sampling', async () => {
    // A 1200-pixel photo (sharp's upscale of a 300-pixel one) shrunk to 224: 5.4 source pixels per output pixel.
    const big = await sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } }).resize(1200, 1200).raw().toBuffer();
    const image: RgbImage = { data: new Uint8Array(big), width: 1200, height: 1200 };
    const map = squareTransform({ left: 0, top: 0, width: 1200, height: 1200 }, 224);
    expect(tapsFor(map)).toBe(6);
    const gpu = await gpuWarp(image, [map], 224);
    expectSame(gpu, reference(image, [map], 224));
    const sharpResized = new Uint8Array(await sharp(big, { raw: { width: 1200, height: 1200, channels: 3 } }).resize(224, 224).raw().toBuffer());
    const vsSharp = diff(gpu, sharpResized);
    // Fine stripes (period 2 pixels) shrunk by 4.46: the filtered result is a flat grey, point sampling is not.
    const stripes = new Uint8Array(1000 * 1000 * 3);
    for (let i = 0; i < 1000 * 1000; i++) stripes.fill((i % 1000) % 2 ? 255 : 0, i * 3, i * 3 + 3);
    const striped: RgbImage = { data: stripes, width: 1000, height: 1000 };
    const shrink = squareTransform({ left: 0, top: 0, width: 1000, height: 1000 }, 224);
    const spread = (px: Uint8Array) => Math.sqrt(px.reduce((s, v) => s + (v - 127.5) ** 2, 0) / px.length);
    const filtered = await gpuWarp(striped, [shrink], 224);
    expectSame(filtered, reference(striped, [shrink], 224));
    const point = new FaceWarper(t.runner, t.gpu, { maxTaps: 1 });
    const pointSampled = await gpuWarp(striped, [shrink], 224, point);
    // Noise (all detail, nothing smooth) shrunk 1200 -> 224: sharp's Lanczos filter and ours agree far better than point sampling does.
    const grain = noiseImage(1200, 1200, 5);
    const grainSharp = new Uint8Array(await sharp(grain.data, { raw: { width: 1200, height: 1200, channels: 3 } }).resize(224, 224).raw().toBuffer());
    const grainOurs = diff(await gpuWarp(grain, [map], 224), grainSharp).mean;
    const grainPoint = diff(await gpuWarp(grain, [map], 224, point), grainSharp).mean;
    point.destroy();
    console.log(
      `shrink 1200 -> 224: mean |ours - sharp| ${vsSharp.mean.toFixed(2)} on a photo, ${grainOurs.toFixed(1)} on noise (point sampled ${grainPoint.toFixed(1)}); ` +
        `stripes' spread around grey: ours ${spread(filtered).toFixed(1)}, point sampled ${spread(pointSampled).toFixed(1)}`,
    );
    expect(vsSharp.mean).toBeLessThan(1.5);
    expect(grainOurs).toBeLessThan(grainPoint / 3);
    expect(spread(filtered)).toBeLessThan(20);
    expect(spread(pointSampled)).toBeGreaterThan(60);
  });

  it('rotations and scales, enlarging and shrinking, match the reference', async () => {
    const maps = [around(150, 140, 30, 0.7, 96), around(150, 160, -17, 1.6, 96), around(140, 150, 90, 2.5, 96)];
    for (const m of maps) expectSame(await gpuWarp(photo, [m], 96), reference(photo, [m], 96));
  });

  it('outside the photo, the edge pixels repeat', async () => {
    // Shrunk 3x around a point near the top-left corner: most of the output is outside.
    const m = around(10, 5, 20, 3, 64);
    const out = await gpuWarp(photo, [m], 64);
    expectSame(out, reference(photo, [m], 64));
    // Far up and to the left of the photo: every sample is its top-left pixel.
    const far = await gpuWarp(photo, [{ a: 1, b: 0, c: -500, d: 0, e: 1, f: -900 }], 8);
    for (let i = 0; i < 8 * 8; i++) expect([...far.subarray(i * 3, i * 3 + 3)]).toEqual([...photo.data.subarray(0, 3)]);
  });

  it('odd sizes: the 92x112 ORL photo, outputs whose bytes are not a multiple of 4, a photo of 91x37', async () => {
    const m = around(46, 56, 10, 112 / 57, 57);
    expectSame(await gpuWarp(orl, [m], 57), reference(orl, [m], 57));
    const odd = noiseImage(91, 37, 3); // 10101 bytes
    const maps = [around(45, 18, 0, 0.5, 33), around(40, 20, 45, 1.3, 33)];
    expectSame(await gpuWarp(odd, maps, 33), reference(odd, maps, 33));
  });

  it('three maps in one call: the views one after another, each as if warped alone', async () => {
    const maps = [around(150, 140, 0, 1, 40), around(120, 160, 25, 2.2, 40), squareTransform({ left: 20, top: 30, width: 200, height: 200 }, 40)];
    const together = await gpuWarp(photo, maps, 40);
    expect(together.length).toBe(3 * 40 * 40 * 3);
    expectSame(together, reference(photo, maps, 40));
    for (let i = 0; i < 3; i++) {
      expect(Buffer.from(together.subarray(i * 4800, (i + 1) * 4800)).equals(Buffer.from(await gpuWarp(photo, [maps[i]], 40)))).toBe(true);
    }
  });

  it('would tell x from y: the reference with x and y swapped is far off, on a photo and on a gradient', async () => {
    const m = around(46, 60, 12, 1.2, 64);
    const gpu = await gpuWarp(orl, [m], 64);
    expectSame(gpu, reference(orl, [m], 64));
    expect(diff(gpu, reference(orl, [m], 64, { swap: true })).mean).toBeGreaterThan(10);
    // Red = column, green = row: a shift by (+5, +9) shows in the right channels.
    const ramp = new Uint8Array(100 * 60 * 3);
    for (let y = 0; y < 60; y++) for (let x = 0; x < 100; x++) ramp.set([x, y, 0], (y * 100 + x) * 3);
    const out = await gpuWarp({ data: ramp, width: 100, height: 60 }, [{ a: 1, b: 0, c: 5, d: 0, e: 1, f: 9 }], 20);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) expect([...out.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3)]).toEqual([x + 5, y + 9, 0]);
  });

  it('writes into a caller\'s buffer from a byte offset, leaving the rest alone, and leaves the views on the GPU for the backbone', async () => {
    const maps = [around(150, 140, 5, 1.1, 24), around(150, 140, -5, 0.9, 24)];
    const bytes = 2 * 24 * 24 * 3;
    const buffer = t.upload(new Uint8Array(bytes + 64).fill(77));
    const out = await scoped(() => warper.warp(photo, maps, 24, { buffer, offset: 32 }));
    expect(out).toEqual({ buffer, offset: 32, count: 2, bytes });
    const back = new Uint8Array(await readBuffer(t.gpu.device, buffer, bytes + 64));
    expect(back.subarray(0, 32).every((v) => v === 77)).toBe(true);
    expect(back.subarray(32 + bytes).every((v) => v === 77)).toBe(true);
    expect(Buffer.from(back.subarray(32, 32 + bytes)).equals(Buffer.from(await gpuWarp(photo, maps, 24)))).toBe(true);
    // Its own output: STORAGE | COPY_SRC | COPY_DST (what engine.embedGpuInto copies from).
    const own = await scoped(() => warper.warp(photo, maps, 24));
    expect(own.offset).toBe(0);
    expect(own.buffer.usage & WARP_OUTPUT_USAGE).toBe(WARP_OUTPUT_USAGE);
    expect(Buffer.from(new Uint8Array(await readBuffer(t.gpu.device, own.buffer, bytes))).equals(Buffer.from(back.subarray(32, 32 + bytes)))).toBe(true);
    // 33 x 33 pixels: 3267 bytes, its last word padded, the last invocation's 4 pixels only 1 of
    // the view's: the words after the view's last stay the caller's.
    const odd = t.upload(new Uint8Array(3267 + 65).fill(77));
    await scoped(() => warper.warp(photo, [maps[0]], 33, { buffer: odd, offset: 16 }));
    const oddBack = new Uint8Array(await readBuffer(t.gpu.device, odd, 3267 + 65));
    expect(oddBack.subarray(0, 16).every((v) => v === 77)).toBe(true);
    expect(oddBack[16 + 3267]).toBe(0);
    expect(oddBack.subarray(16 + 3268).every((v) => v === 77)).toBe(true);
    expectSame(oddBack.subarray(16, 16 + 3267), reference(photo, [maps[0]], 33));
    await expect(warper.warp(photo, maps, 24, { buffer, offset: 6 })).rejects.toThrow(/offset must be a non-negative multiple of 4/);
    await expect(warper.warp(photo, maps, 24, { buffer, offset: 128 })).rejects.toThrow(/need 3456 bytes from byte 128/);
  });

  it('a grid folded into two dimensions past the per-dimension limit covers every word', async () => {
    const img = noiseImage(50, 40, 11);
    const maps = [around(25, 20, 33, 0.8, 40)];
    const out = t.empty(40 * 40 * 3);
    const mapBuffer = t.upload(packMaps(maps));
    const src = t.upload(img.data);
    const op = warpOp(src, mapBuffer, out, { count: 1, size: 40, width: 50, height: 40 }, 8, 7); // 400 invocations (4 pixels each): 50 groups of 8 as 8 x 7
    expect(op.workgroups[1]).toBeGreaterThan(1);
    const bytes = new Uint8Array((await t.run(op, out, 40 * 40 * 3)).buffer);
    expectSame(bytes, reference(img, maps, 40));
  });

  it('supersamples with at most MAX_TAPS x MAX_TAPS taps, one when enlarging', () => {
    expect(tapsFor(IDENTITY)).toBe(1);
    expect(tapsFor(around(0, 0, 33, 0.4, 10))).toBe(1);
    expect(tapsFor(around(0, 0, 33, 1.01, 10))).toBe(2);
    expect(tapsFor(around(0, 0, 0, 4, 10))).toBe(4);
    expect(tapsFor(around(0, 0, 0, 40, 10))).toBe(MAX_TAPS);
  });

  it('refuses what it cannot do, saying why', async () => {
    await expect(warper.warp(photo, [], 24)).rejects.toThrow(/no transforms/);
    await expect(warper.warp({ data: new Uint8Array(10), width: 3, height: 3 }, [IDENTITY], 24)).rejects.toThrow(/10 bytes for a 3x3 RGB image/);
    await expect(warper.warp(photo, [{ ...IDENTITY, c: NaN }], 24)).rejects.toThrow(/not finite/);
    await expect(warper.warp(photo, [IDENTITY], 0)).rejects.toThrow(/positive integer/);
    // A device that binds 1 MiB at most: more views than that is refused before any GPU work.
    const limits = { maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 1 << 28, maxComputeWorkgroupsPerDimension: 65535 };
    const small = new FaceWarper(new KernelRunner({ limits } as unknown as GPUDevice, {}));
    await expect(small.warp(orl, Array(8).fill(IDENTITY), 224)).rejects.toThrow(/8 views of 224x224 take 1204224 bytes, more than this WebGPU device binds in one storage buffer \(1048576\); warp fewer at a time/);
    expect(() => new FaceWarper(t.runner, { limits } as unknown as GPUDevice)).toThrow(/not the kernel runner's/);
  });

  it('reuses its buffers between calls, growing them when needed', async () => {
    const w = new FaceWarper(t.runner, t.gpu);
    const a = await scoped(() => w.warp(photo, [IDENTITY], 32));
    const b = await scoped(() => w.warp(orl, [IDENTITY, IDENTITY], 16));
    expect(b.buffer).toBe(a.buffer); // 2 x 16 x 16 x 3 fits in 32 x 32 x 3
    const c = await scoped(() => w.warp(photo, [IDENTITY, IDENTITY], 32));
    expect(c.buffer).not.toBe(a.buffer);
    expect(c.buffer.size).toBeGreaterThanOrEqual(c.bytes);
    w.destroy();
    await expect(w.warp(photo, [IDENTITY], 8)).rejects.toThrow(/destroyed/);
  });
});

describe('a photo larger than one buffer binds', () => {
  // The warper reads parts of it (src/detect/warp-parts.ts). Here a 600x400 photo (720 000
  // bytes) with a 200 000-byte cap stands for a 48-megapixel photo on a 128 MiB device.
  const cap = 200_000;
  /** Smooth (low frequencies) plus a little noise: a shrunk part then differs from the photo only by its filter. */
  function smoothPhoto(width: number, height: number): RgbImage {
    const noise = noiseImage(width, height, 5).data;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < 3; c++) {
          const v = 128 + 60 * Math.sin(x / (23 + 7 * c)) + 50 * Math.cos(y / (31 - 5 * c)) + (noise[(y * width + x) * 3 + c] - 128) / 16;
          data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
    return { data, width, height };
  }
  const big = noiseImage(600, 400, 21);
  const smooth = smoothPhoto(600, 400);
  let capped: FaceWarper;
  beforeAll(() => {
    capped = new FaceWarper(t.runner, t.gpu, { maxSourceBytes: cap });
  });
  afterAll(() => capped?.destroy());

  it('views near each other: one exact part, the part they read', async () => {
    const maps = [around(100, 100, 10, 1.5, 32), around(180, 130, -5, 1.2, 32)];
    const parts = sourceParts(big, maps, 32, cap);
    expect(parts).toHaveLength(1);
    expect(packedBytes(parts[0].image.width, parts[0].image.height)).toBeLessThan(packedBytes(600, 400) / 10);
    expectSame(await gpuWarp(big, maps, 32, capped), reference(big, maps, 32));
  });

  it('views far apart: an exact part each, into their own places, also from an offset in a caller\'s buffer', async () => {
    const maps = [around(60, 60, 20, 1.5, 32), around(540, 340, -30, 2.5, 32), around(590, 10, 0, 1, 32)];
    const parts = sourceParts(big, maps, 32, cap);
    expect(parts.map((p) => p.first)).toEqual([0, 1, 2]);
    const want = reference(big, maps, 32);
    expectSame(await gpuWarp(big, maps, 32, capped), want);
    const per = 32 * 32 * 3;
    const into = t.empty(16 + 3 * per);
    await scoped(() => capped.warp(big, maps, 32, { buffer: into, offset: 16 }));
    expectSame(new Uint8Array(await readBuffer(t.gpu.device, into, 16 + 3 * per)).subarray(16), want);
  });

  it('a view that reads more than the cap alone: its part shrunk by a whole factor, close to the whole photo\'s view', async () => {
    const maps = [around(300, 200, 15, 10, 32)]; // about 450 x 450 pixels read
    const parts = sourceParts(smooth, maps, 32, cap);
    expect(parts).toHaveLength(1);
    expect(parts[0].image.width).toBeLessThan(300); // shrunk at least twice
    expect(packedBytes(parts[0].image.width, parts[0].image.height)).toBeLessThanOrEqual(cap);
    const d = diff(await gpuWarp(smooth, maps, 32, capped), reference(smooth, maps, 32));
    expect(d.mean).toBeLessThan(1.5);
    expect(d.max).toBeLessThanOrEqual(8);
  });

  it('views of an odd size (not whole words each) far apart: one part for all, shrunk, close to the whole photo\'s views', async () => {
    const maps = [around(60, 60, 0, 2, 33), around(540, 340, 0, 2, 33)];
    expect(sourceParts(smooth, maps, 33, cap)).toHaveLength(1);
    const d = diff(await gpuWarp(smooth, maps, 33, capped), reference(smooth, maps, 33));
    expect(d.mean).toBeLessThan(1.5);
    expect(d.max).toBeLessThanOrEqual(8);
  });

  it('a view outside the photo reads its edge', () => {
    expect(footprint(around(700, 200, 0, 1, 32), 32, 600, 400)).toEqual({ left: 599, top: 182, width: 1, height: 36 });
    expect(footprint(around(-100, -100, 0, 1, 32), 32, 600, 400)).toEqual({ left: 0, top: 0, width: 1, height: 1 });
  });
});

