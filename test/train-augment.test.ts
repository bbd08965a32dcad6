// The augmentation shader against a CPU reference of the same Keras-style transform, plus the
// properties that pin the transform itself (identity, flip, shift direction, seeding), and the
// engine's GPU-input path that feeds augmented views to the backbone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawView, KERAS_RECIPE, packViews, viewAffine, type AugmentRecipe } from '../src/train/augment.ts';
import { augmentOp } from '../src/kernels/augment.ts';
import { Prng } from '../src/train/prng.ts';
import { testGpu, type TestGpu } from './helpers/gpu.ts';
import { openEngine } from '../src/node.ts';
import { readBuffer } from '../src/gpu/buffers.ts';
import { extractDescriptors } from '../src/train/extract.ts';

type Affine = readonly number[];

/** Straightforward CPU version of shaders/augment.wgsl (float64). */
function augmentCpu(src: Uint8Array, views: { affine: Affine; source: number }[], w: number, h: number, interp: AugmentRecipe['interpolation']): Uint8Array {
  const out = new Uint8Array(views.length * w * h * 3);
  const at = (img: number, x: number, y: number, c: number) => {
    const cx = Math.min(Math.max(x, 0), w - 1);
    const cy = Math.min(Math.max(y, 0), h - 1);
    return src[((img * h + cy) * w + cx) * 3 + c];
  };
  views.forEach((v, i) => {
    const [a, b, c, d, e, f] = v.affine.map(Math.fround);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const sx = a * x + b * y + c;
        const sy = d * x + e * y + f;
        for (let ch = 0; ch < 3; ch++) {
          let value: number;
          if (interp === 'nearest') value = at(v.source, Math.floor(sx + 0.5), Math.floor(sy + 0.5), ch);
          else {
            const x0 = Math.floor(sx);
            const y0 = Math.floor(sy);
            const fx = sx - x0;
            const fy = sy - y0;
            const top = at(v.source, x0, y0, ch) * (1 - fx) + at(v.source, x0 + 1, y0, ch) * fx;
            const bottom = at(v.source, x0, y0 + 1, ch) * (1 - fx) + at(v.source, x0 + 1, y0 + 1, ch) * fx;
            value = top * (1 - fy) + bottom * fy;
          }
          out[((i * h + y) * w + x) * 3 + ch] = Math.min(255, Math.max(0, Math.floor(value + 0.5)));
        }
      }
    }
  });
  return out;
}

let t: TestGpu;
beforeAll(async () => {
  t = await testGpu();
});
afterAll(() => t?.close());

async function augmentGpu(src: Uint8Array, views: { affine: Affine; source: number }[], w: number, h: number, interp: AugmentRecipe['interpolation']): Promise<Uint8Array> {
  const bytes = views.length * w * h * 3;
  const out = t.empty(Math.ceil(bytes / 4) * 4);
  const got = await t.run(augmentOp({ src: t.upload(src), views: t.upload(packViews(views)), dst: out, count: views.length, width: w, height: h, interpolation: interp }), out, Math.ceil(bytes / 4) * 4);
  return new Uint8Array(got.buffer, 0, bytes).slice();
}

function randomImages(n: number, w: number, h: number, seed: number): Uint8Array {
  const rng = new Prng(seed);
  // Smooth-ish content (gradients plus noise) so that interpolation matters.
  const img = new Uint8Array(n * w * h * 3);
  for (let i = 0; i < img.length; i++) {
    const px = Math.floor(i / 3) % (w * h);
    img[i] = (((px % w) * 7 + Math.floor(px / w) * 3 + (i % 3) * 50) % 200) + rng.int(56);
  }
  return img;
}

const W = 37; // odd sizes: views straddle u32 words and images
const H = 29;

describe('augment shader', () => {
  const src = randomImages(3, W, H, 7);
  const views = Array.from({ length: 7 }, (_, i) => ({
    affine: viewAffine(drawView(KERAS_RECIPE, 11, `img${i % 3}`, i, W, H), W, H),
    source: i % 3,
  }));

  for (const interp of ['bilinear', 'nearest'] as const) {
    it(`matches the CPU reference (${interp}, random Keras views)`, async () => {
      const want = augmentCpu(src, views, W, H, interp);
      const got = await augmentGpu(src, views, W, H, interp);
      let off = 0;
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs(want[i] - got[i]);
        if (d) off++;
        maxDiff = Math.max(maxDiff, d);
      }
      // float32 on the GPU vs float64 here: only values on a rounding edge may differ.
      expect(maxDiff).toBeLessThanOrEqual(interp === 'bilinear' ? 1 : 255);
      expect(off / want.length).toBeLessThan(interp === 'bilinear' ? 0.002 : 0.001);
    });
  }

  it("writes the views' words and nothing after them", async () => {
    // 5 views of 37x29: 5365 pixels, 16095 bytes; the last word has 1 byte of padding, and
    // of the last invocation's 4 pixels only 1 is the views': its other 2 words lie past them.
    const five = views.slice(0, 5);
    const bytes = five.length * W * H * 3;
    const words = Math.ceil(bytes / 4) * 4;
    const out = t.upload(new Uint8Array(words + 64).fill(77));
    const got = new Uint8Array((await t.run(augmentOp({ src: t.upload(src), views: t.upload(packViews(five)), dst: out, count: five.length, width: W, height: H, interpolation: 'bilinear' }), out, words + 64)).buffer);
    expect(Buffer.from(got.subarray(0, bytes)).equals(Buffer.from(await augmentGpu(src, five, W, H, 'bilinear')))).toBe(true);
    expect(got.subarray(bytes, words).every((v) => v === 0)).toBe(true);
    expect(got.subarray(words).every((v) => v === 77)).toBe(true);
  });

  it('identity, flip and shift move pixels as Keras does', async () => {
    const id = viewAffine({ theta: 0, tx: 0, ty: 0, flip: false }, W, H);
    const flip = viewAffine({ theta: 0, tx: 0, ty: 0, flip: true }, W, H);
    const shift = viewAffine({ theta: 0, tx: 5, ty: -3, flip: false }, W, H);
    const [a, b, c] = [0, 1, 2].map(async (i) => augmentGpu(src, [[id, flip, shift][i]].map((affine) => ({ affine, source: 1 })), W, H, 'bilinear'));
    const px = (img: Uint8Array, image: number, x: number, y: number) => Array.from(img.subarray(((image * H + y) * W + x) * 3, ((image * H + y) * W + x) * 3 + 3));
    const [idOut, flipOut, shiftOut] = await Promise.all([a, b, c]);
    for (const [x, y] of [[0, 0], [5, 9], [W - 1, H - 1], [20, 3]]) {
      expect(px(idOut, 0, x, y)).toEqual(px(src, 1, x, y));
      expect(px(flipOut, 0, x, y)).toEqual(px(src, 1, W - 1 - x, y));
      // tx shifts rows, ty columns: the output reads (row + tx, col + ty), edge-clamped.
      const sx = Math.min(Math.max(x - 3, 0), W - 1);
      const sy = Math.min(Math.max(y + 5, 0), H - 1);
      expect(px(shiftOut, 0, x, y)).toEqual(px(src, 1, sx, sy));
    }
  });

  it('a 180-degree rotation turns the image about its centre', async () => {
    const rot = viewAffine({ theta: 180, tx: 0, ty: 0, flip: false }, W, H);
    const out = await augmentGpu(src, [{ affine: rot, source: 2 }], W, H, 'nearest');
    for (const [x, y] of [[0, 0], [4, 7], [W - 1, 0]]) {
      const o = (y * W + x) * 3;
      const s = ((2 * H + (H - 1 - y)) * W + (W - 1 - x)) * 3;
      expect(Array.from(out.subarray(o, o + 3))).toEqual(Array.from(src.subarray(s, s + 3)));
    }
  });

  it('draws views from the seed: same seed same views, ranges as the recipe', () => {
    const a = drawView(KERAS_RECIPE, 3, 'x.jpg', 0, 224, 224);
    expect(drawView(KERAS_RECIPE, 3, 'x.jpg', 0, 224, 224)).toEqual(a);
    expect(drawView(KERAS_RECIPE, 4, 'x.jpg', 0, 224, 224)).not.toEqual(a);
    expect(drawView(KERAS_RECIPE, 3, 'x.jpg', 1, 224, 224)).not.toEqual(a);
    let flips = 0;
    for (let v = 0; v < 400; v++) {
      const p = drawView(KERAS_RECIPE, 1, 'y', v, 224, 200);
      expect(Math.abs(p.theta)).toBeLessThanOrEqual(45);
      expect(Math.abs(p.tx)).toBeLessThanOrEqual(0.3 * 200);
      expect(Math.abs(p.ty)).toBeLessThanOrEqual(0.3 * 224);
      flips += p.flip ? 1 : 0;
    }
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
  });
});

describe('engine.embedGpuInto', () => {
  it('gives the same descriptors as embedInto from CPU pixels', async () => {
    const { engine } = await openEngine({ gpu: t.gpu });
    try {
      const s = engine.inputSize;
      const pixels = randomImages(3, s, s, 5);
      const dim = engine.outputDim;
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const a = t.gpu.device.createBuffer({ size: 3 * dim * 4, usage });
      const b = t.gpu.device.createBuffer({ size: 3 * dim * 4, usage });
      const input = t.upload(pixels);
      await engine.embedInto(pixels.subarray(s * s * 3), 2, a);
      await engine.embedGpuInto(input, 2, b, 0, s * s * 3);
      const [ra, rb] = [new Float32Array(await readBuffer(t.gpu.device, a, 2 * dim * 4)), new Float32Array(await readBuffer(t.gpu.device, b, 2 * dim * 4))];
      expect(ra.some((v) => v !== 0)).toBe(true);
      expect(Array.from(rb)).toEqual(Array.from(ra));
      a.destroy();
      b.destroy();
    } finally {
      engine.destroy();
    }
  });
});

describe('extractDescriptors with augmented views', () => {
  it('makes and embeds the views a part at a time where one buffer would not hold them all: the same descriptors', async () => {
    const { engine } = await openEngine({ gpu: t.gpu });
    try {
      const s = engine.inputSize;
      const pixels = randomImages(3, s, s, 9);
      const items = [0, 1, 2].map((i) => ({ id: `p${i}`, label: i % 2 }));
      const load = async (id: string) => pixels.slice(Number(id.slice(1)) * s * s * 3, (Number(id.slice(1)) + 1) * s * s * 3);
      const augment = { views: 3, seed: 7, recipe: KERAS_RECIPE };
      const read = async (set: Awaited<ReturnType<typeof extractDescriptors>>) => new Float32Array(await readBuffer(t.gpu.device, set.buffer, set.rows * set.dim * 4));
      const whole = await extractDescriptors(engine, items, load, { batchSize: 3, augment });
      const parts = await extractDescriptors(engine, items, load, { batchSize: 3, augment, viewsAtOnce: 2 });
      expect(parts.rows).toBe(12);
      const [a, b] = [await read(whole), await read(parts)];
      expect(a.subarray(3 * engine.outputDim).some((v) => v !== 0)).toBe(true);
      expect(Array.from(b)).toEqual(Array.from(a));
      whole.destroy();
      parts.destroy();
    } finally {
      engine.destroy();
    }
  });

  it('refuses descriptors more than the device binds in one buffer, before reading any image', async () => {
    const { engine } = await openEngine({ gpu: t.gpu });
    try {
      const items = Array.from({ length: 2000 }, (_, i) => ({ id: `p${i}`, label: i % 2 }));
      let loaded = 0;
      const load = async () => (loaded++, new Uint8Array(engine.inputSize ** 2 * 3));
      await expect(extractDescriptors(engine, items, load, { augment: { views: 1000, seed: 1, recipe: KERAS_RECIPE } })).rejects.toThrow(
        /^2000 images and 1000 augmented views of each make \d+ bytes of descriptors, more than this device binds in one buffer \(\d+\): ask for fewer augmented views$/,
      );
      expect(loaded).toBe(0);
    } finally {
      engine.destroy();
    }
  });
});
