// The whole network on our shaders against TensorFlow.js (WASM backend, float32) running the
// *original* model files, on real face photos: the default face backbone (tfjs graph model,
// float16 weights) and the ImageNet MobileNet V1 alpha 0.75 (tfjs layers model).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackboneSource } from '../src/backbones.ts';
import type { Gpu } from '../src/gpu/device.ts';
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { loadImageRGB } from '../src/image/decode.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { convertTfjsModel } from '../src/weights/convert.ts';
import { loadBackbone, saveBackbone } from '../src/weights/store.ts';
import { faceImages, SHARED } from './helpers/faces.ts';
import { cosine, maxAbs, maxAbsDiff } from './helpers/layout.ts';
import { loadReference, referenceEmbed, useBackend } from './helpers/tfjs-reference.ts';

const IMAGES = faceImages(8); // 16 images: 8 ORL PGMs, 8 celebrity photos (one of them a PNG)
const MODELS = [
  // halfWeights: whether the engine reads the stem and pointwise weights as float16 (only where
  // that is lossless, and only with the subgroup kernels that CPU adapters get)
  { name: 'face (graph, float16)', file: defaultBackboneSource(), halfWeights: true },
  { name: 'ImageNet alpha 0.75 (layers)', file: join(SHARED, 'weights/mobilenet_v1_0.75_224/model.json'), halfWeights: false },
];

let gpu: Gpu;
let tmp: string;
beforeAll(async () => {
  await useBackend('wasm');
  gpu = await createNodeGpu();
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-parity-'));
});
afterAll(() => {
  gpu?.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.each(MODELS)('$name', ({ file, halfWeights }) => {
  it(`matches tfjs on ${IMAGES.length} real face images (cosine >= 0.9999, max error <= 1e-3 x largest value)`, async () => {
    const dir = join(tmp, 'backbone');
    await saveBackbone(await convertTfjsModel(file), dir);
    const backbone = await loadBackbone(dir);
    const m = backbone.manifest;
    const size = m.inputSize;
    const per = size * size * 3;
    const pixels = new Uint8Array(IMAGES.length * per);
    for (const [i, f] of IMAGES.entries()) pixels.set(await loadImageRGB(f, size), i * per);

    const ref = await referenceEmbed(await loadReference(file), pixels, IMAGES.length, size, m.preprocess, m.source.output);
    const dim = m.outputDim;
    // Both ways into the network: the preprocessing op then the stem, and the stem that reads
    // the 8-bit input itself (the hand-picked one on CPU adapters), each against tfjs.
    for (const stemRgb8 of [0, 8]) {
      // maxBatch 5: the 16 images run as several command buffers, so batch splitting is covered.
      const engine = new MobileNetEngine(gpu, backbone, loadShaders(), { maxBatch: 5, tuning: { stemRgb8, stemPixels: stemRgb8 ? 4 : 2 } });
      const ours = await engine.embed(pixels, IMAGES.length);
      const ops = engine.preparedOps(1);
      expect(ops[0].desc.kernel.shader).toBe(stemRgb8 ? 'conv3x3_rgb8' : 'preprocess');
      const dense = ops.filter((op) => /^(pointwise|conv3x3)/.test(op.desc.kernel.shader));
      expect(dense.length).toBe(14); // the stem and 13 pointwise layers
      const half = dense.filter((op) => op.desc.kernel.constants?.WH === 1).length;
      const reads = halfWeights && engine.tuning.halfWeights && engine.tuning.subgroup > 0;
      expect(half, `stemRgb8 ${stemRgb8}`).toBe(reads ? (stemRgb8 ? 13 : 14) : 0);
      engine.destroy();

      expect(ours.length).toBe(ref.length);
      for (let i = 0; i < IMAGES.length; i++) {
        const a = ours.subarray(i * dim, (i + 1) * dim);
        const b = ref.subarray(i * dim, (i + 1) * dim);
        expect(maxAbs(b), IMAGES[i]).toBeGreaterThan(0.1); // a real, non-degenerate descriptor
        expect(cosine(a, b), `${IMAGES[i]}, stemRgb8 ${stemRgb8}`).toBeGreaterThanOrEqual(0.9999);
        expect(maxAbsDiff(a, b), `${IMAGES[i]}, stemRgb8 ${stemRgb8}`).toBeLessThanOrEqual(1e-3 * maxAbs(b));
      }
    }
  });
});
