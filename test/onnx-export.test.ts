// `facegpu weights export <backbone> --onnx <file>`: the face backbone as an ONNX model, run by
// onnxruntime-node on real faces, gives our engine's descriptors.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBackboneDir } from '../src/backbones.ts';
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { loadImageRGB } from '../src/image/decode.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { ONNX_INPUT, ONNX_OUTPUT } from '../src/weights/onnx.ts';
import { loadBackbone } from '../src/weights/store.ts';
import { faceImages } from './helpers/faces.ts';
import { cosine, maxAbs, maxAbsDiff } from './helpers/layout.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');
const IMAGES = faceImages(3); // 3 ORL PGMs, 3 celebrity photos (one a PNG)

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-onnx-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('weights export --onnx', () => {
  it(`the face backbone in onnxruntime-node gives our descriptors on ${IMAGES.length} real faces (cosine >= 0.9999)`, async () => {
    const file = join(tmp, 'face.onnx');
    const { stdout } = await run(process.execPath, [CLI, 'weights', 'export', 'face', '--onnx', file]);
    expect(stdout).toMatch(/face\.onnx: ONNX opset 13, face .* input "pixels" float32 \[batch, 224, 224, 3\] NHWC RGB 0\.\.255/);

    const bytes = readFileSync(file);
    const backbone = await loadBackbone(resolveBackboneDir('face'));
    const m = backbone.manifest;
    // What the file says about itself, read back with the same schema.
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    const convs = (model.graph?.node ?? []).filter((n) => n.opType === 'Conv');
    expect(convs).toHaveLength(m.layers.length);
    expect(convs.filter((n) => (n.attribute ?? []).some((a) => a.name === 'group' && Number(a.i) > 1))).toHaveLength(13);
    expect(model.metadataProps.find((p) => p.key === 'facegpu.weightsSha256')?.value).toBe(m.weightsSha256);

    const size = m.inputSize;
    const per = size * size * 3;
    const pixels = new Uint8Array(IMAGES.length * per);
    for (const [i, f] of IMAGES.entries()) pixels.set(await loadImageRGB(f, size), i * per);

    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    expect(session.inputNames).toEqual([ONNX_INPUT]);
    expect(session.outputNames).toEqual([ONNX_OUTPUT]);
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', Float32Array.from(pixels), [IMAGES.length, size, size, 3]) });
    const theirs = out[ONNX_OUTPUT];
    expect(theirs.dims).toEqual([IMAGES.length, m.outputDim]);
    await session.release();

    const gpu = await createNodeGpu();
    let ours: Float32Array;
    try {
      const engine = new MobileNetEngine(gpu, backbone, loadShaders());
      ours = await engine.embed(pixels, IMAGES.length);
      engine.destroy();
    } finally {
      gpu.destroy();
    }
    const data = theirs.data as Float32Array;
    const d = m.outputDim;
    for (let i = 0; i < IMAGES.length; i++) {
      const a = ours.subarray(i * d, (i + 1) * d);
      const b = data.subarray(i * d, (i + 1) * d);
      expect(cosine(a, b), IMAGES[i]).toBeGreaterThanOrEqual(0.9999);
    }
    expect(maxAbsDiff(ours, data)).toBeLessThanOrEqual(1e-3 * maxAbs(ours));
  });

  it('refuses a folder as the output file and an unknown backbone', async () => {
    await expect(run(process.execPath, [CLI, 'weights', 'export', 'face', '--onnx', tmp])).rejects.toMatchObject({ stderr: expect.stringMatching(/--onnx .*: is a folder/) });
    await expect(run(process.execPath, [CLI, 'weights', 'export', join(tmp, 'nothing-here'), '--onnx', join(tmp, 'x.onnx')])).rejects.toMatchObject({
      stderr: expect.stringMatching(/no converted backbone here/),
    });
  });
});
