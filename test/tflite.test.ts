// TensorFlow Lite backbones: the flatbuffer reader and converter on Coral's uint8-quantized
// ImageNet MobileNet V1 1.0 (../shared/weights/tflite-coral), and our engine on the converted
// weights against two references on real photos:
//   1. the TFLite runtime itself running the quantized file (@tensorflow/tfjs-tflite: TFLite's
//      interpreter with XNNPACK's uint8 kernels, in WASM; test/helpers/tflite-runtime.cjs);
//   2. an independent float32 run of the same file's graph: TensorFlow.js (WASM backend) ops
//      built here, operator by operator, from the file's own tensors (uint8 filters and int32
//      biases dequantized with their scales and zero points, TFLite's OHWI filters transposed
//      by tf.transpose, fused ReLU6 clamped, the 7x7 average pool), sharing none of our
//      converter's layout, padding or packing code.
// The difference between them is the quantization: the runtime rounds every activation to
// uint8 (step 6/255 = 0.0235 after each ReLU6, including the 1024 outputs) and requantizes
// with fixed-point multipliers; our engine runs the same dequantized weights in float32
// throughout. Figures are printed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/device.ts';
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { loadImageRGB } from '../src/image/decode.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { loadBackbone, saveBackbone } from '../src/weights/store.ts';
import { BuiltinOperator, Conv2DOptions, DepthwiseConv2DOptions, Pool2DOptions, type Tensor } from '../src/weights/tflite-schema.ts';
import { convertTflite, convertTfliteModel, dequantize, parseTflite, readTfliteFile, type TfliteSource } from '../src/weights/tflite.ts';
import { faceImages, SHARED } from './helpers/faces.ts';
import { shapePicture } from './helpers/images.ts';
import { cosine, maxAbs } from './helpers/layout.ts';
import { tf, useBackend } from './helpers/tfjs-reference.ts';
import { facegpu } from './helpers/train-data.ts';

const CORAL = join(SHARED, 'weights/tflite-coral/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite');
const RUNTIME = join(import.meta.dirname, 'helpers', 'tflite-runtime.cjs');
const IMAGES = faceImages(4); // 4 ORL PGMs, 4 celebrity web photos (one a PNG named .jpg)

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-tflite-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A stand-in for a schema Tensor, for dequantization cases the Coral file lacks. */
function fakeTensor(shape: number[], type: number, scale: number[], zeroPoint: number[], dim = 0): Tensor {
  const q = { scale: () => scale, zeroPoint: () => zeroPoint, quantizedDimension: () => dim, detailsType: () => 0, min: () => [], max: () => [] };
  return { shape: () => shape, type: () => type, name: () => 'fake', quantization: () => (scale.length ? q : null) } as unknown as Tensor;
}

describe('TFLite reader and converter', () => {
  it('reads the Coral file: a uint8 MobileNet V1 1.0 with per-tensor quantization, converted to 27 ReLU6 layers', async () => {
    const m = await readTfliteFile(CORAL);
    expect(m.sha256).toBe(createHash('sha256').update(readFileSync(CORAL)).digest('hex'));
    const sg = m.model.subgraphs()[0];
    expect(m.model.version()).toBe(3);
    expect(sg.operators()).toHaveLength(28);
    const input = sg.tensors()[sg.inputs()[0]];
    expect(input.shape()).toEqual([1, 224, 224, 3]);
    expect(input.quantization()!.scale()).toEqual([0.0078125]);
    expect(input.quantization()!.zeroPoint()).toEqual([128]);

    const spec = convertTflite(m);
    expect(spec.alpha).toBe(1);
    expect(spec.inputSize).toBe(224);
    expect(spec.outputDim).toBe(1024);
    expect(spec.layers).toHaveLength(27);
    expect(spec.layers.every((l) => l.activation === 'relu6')).toBe(true);
    expect(spec.layers.filter((l) => l.stride === 2).map((l) => l.name)).toEqual(['Conv2d_0', 'Conv2d_2_depthwise', 'Conv2d_4_depthwise', 'Conv2d_6_depthwise', 'Conv2d_12_depthwise']);
    // The file's own input quantization: byte q means (q - 128) / 128.
    expect(spec.preprocess).toMatchObject({ scale: 0.0078125, offset: -1 });
    const src = spec.source as TfliteSource;
    expect(src).toMatchObject({ format: 'tflite', file: CORAL, sha256: m.sha256, output: 'MobilenetV1/Logits/AvgPool_1a/AvgPool' });
    expect(src.quantization.summary).toBe('uint8 weights (per-tensor), uint8 activations; dequantized to float32');
    expect(src.quantization.layers.Conv2d_13_pointwise.weights).toEqual({ type: 'uint8', scale: [expect.closeTo(0.018048, 5)], zeroPoint: [95] });
    expect(src.quantization.layers.Conv2d_13_pointwise.bias?.type).toBe('int32');

    // Dequantization and layout: the stem's filter [32, 3, 3, 3] (OHWI, uint8) became HWIO floats
    // scale * (q - zero point), its int32 bias scale * q.
    const op = sg.operators()[0];
    const w = sg.tensors()[op.inputs()[1]];
    const raw = m.model.buffers()[w.buffer()].data()!;
    const [ws, wz] = [w.quantization()!.scale()[0], w.quantization()!.zeroPoint()[0]];
    const stem = spec.layers[0];
    for (const [o, t, i] of [[0, 0, 0], [31, 8, 2], [7, 4, 1]]) expect(stem.kernel[(t * 3 + i) * 32 + o]).toBeCloseTo(ws * (raw[(o * 9 + t) * 3 + i] - wz), 6);
    const b = sg.tensors()[op.inputs()[2]];
    const braw = new DataView(m.model.buffers()[b.buffer()].data()!.slice().buffer);
    expect(stem.bias[5]).toBeCloseTo(b.quantization()!.scale()[0] * braw.getInt32(20, true), 6);
  });

  it('dequantizes per tensor and per channel (uint8, int8, int32), along the quantized dimension', () => {
    // [2, 1, 1, 3] uint8, per channel along dimension 0 (output channels of a CONV_2D filter).
    const u8 = fakeTensor([2, 1, 1, 3], 3, [0.5, 2], [10, 0], 0);
    expect(Array.from(dequantize(u8, Uint8Array.from([10, 12, 8, 1, 2, 3]), 'u8'))).toEqual([0, 1, -1, 2, 4, 6]);
    // [1, 1, 2, 2] int8, per channel along dimension 3 (a depthwise filter's channels).
    const i8 = fakeTensor([1, 1, 2, 2], 9, [1, 0.25], [0, 0], 3);
    expect(Array.from(dequantize(i8, Uint8Array.from([0xff, 4, 2, 0xf8]), 'i8'))).toEqual([-1, 1, 2, -2]);
    // int32 bias, per tensor.
    const i32 = fakeTensor([2], 2, [0.5], [0]);
    expect(Array.from(dequantize(i32, new Uint8Array(Int32Array.from([-4, 6]).buffer), 'b'))).toEqual([-2, 3]);
    expect(() => dequantize(fakeTensor([2, 1, 1, 3], 3, [1, 2, 3], [0, 0, 0], 0), new Uint8Array(6), 'bad')).toThrow(/bad: 3 per-channel scales along dimension 0 of shape \[2,1,1,3\]/);
    expect(() => dequantize(u8, new Uint8Array(5), 'short')).toThrow(/short: buffer holds 5 bytes/);
  });

  it('refuses what is not a TFLite MobileNet, naming the file', async () => {
    const json = join(tmp, 'model.tflite');
    writeFileSync(json, '{"not": "tflite"}');
    await expect(convertTfliteModel(json)).rejects.toThrow(/model\.tflite: not a TensorFlow Lite model \(no "TFL3"/);
    await expect(convertTfliteModel(join(tmp, 'missing.tflite'))).rejects.toThrow(/missing\.tflite: cannot read the model file \(no such file or folder\)/);
    const cut = join(tmp, 'cut.tflite');
    writeFileSync(cut, readFileSync(CORAL).subarray(0, 4096));
    await expect(convertTfliteModel(cut)).rejects.toThrow(/cut\.tflite: truncated or corrupt TensorFlow Lite flatbuffer \(a table at byte \d+ lies past the end of the 4096-byte file\)/);
  });

  it('facegpu weights convert <file.tflite> and weights install imagenet --from write our format with provenance', async () => {
    const out = join(tmp, 'cli-imagenet');
    const r = await facegpu(['weights', 'convert', CORAL, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/alpha 1 at 224, 27 conv layers, 1024-d .*uint8 weights \(per-tensor\), uint8 activations; dequantized to float32/);
    const { manifest } = await loadBackbone(out);
    expect(manifest.source).toMatchObject({ format: 'tflite', sha256: createHash('sha256').update(readFileSync(CORAL)).digest('hex') });
    expect((manifest.source as TfliteSource).quantization.input).toEqual({ type: 'uint8', scale: [0.0078125], zeroPoint: [128] });

    const home = join(tmp, 'home');
    const env = { ...process.env, FACEGPU_WEIGHTS: join(home, 'weights') };
    const i = await promisify(execFile)(process.execPath, [join(import.meta.dirname, '..', 'bin', 'facegpu.js'), 'weights', 'install', 'imagenet', '--from', CORAL], { env });
    expect(i.stdout).toMatch(/weights\/imagenet: MobileNet V1 alpha 1/);
    const again = await promisify(execFile)(process.execPath, [join(import.meta.dirname, '..', 'bin', 'facegpu.js'), 'weights', 'install', 'imagenet', '--from', CORAL], { env });
    expect(again.stdout).toMatch(/already converted/);
    expect((await loadBackbone(join(home, 'weights', 'imagenet'))).manifest.weightsSha256).toBe(manifest.weightsSha256);
  });
});

/** The float reference: the TFLite graph run op by op with tfjs, from the file's tensors. */
async function floatReference(file: string, pixels: Uint8Array, n: number): Promise<Float32Array> {
  const m = parseTflite(new Uint8Array(readFileSync(file)), file);
  const sg = m.model.subgraphs()[0];
  const tensors = sg.tensors();
  const codes = m.model.operatorCodes();
  const constant = (i: number) => tf.tensor(dequantize(tensors[i], m.model.buffers()[tensors[i].buffer()].data()!, file), tensors[i].shape());
  const inQ = tensors[sg.inputs()[0]].quantization()!;
  const [s, z] = [inQ.scale()[0], inQ.zeroPoint()[0]];
  const out = tf.tidy(() => {
    let x: tf.Tensor4D = tf.mul(tf.sub(tf.tensor4d(Float32Array.from(pixels), [n, 224, 224, 3]), z), s);
    for (const op of sg.operators()) {
      const code = codes[op.opcodeIndex()].builtinCode();
      const act = (y: tf.Tensor4D, a: number) => (a === 3 ? tf.clipByValue(y, 0, 6) : a === 1 ? tf.relu(y) : y);
      if (code === BuiltinOperator.CONV_2D) {
        const o = op.options(Conv2DOptions)!;
        const filter = tf.transpose(constant(op.inputs()[1]), [1, 2, 3, 0]) as tf.Tensor4D; // OHWI -> HWIO
        x = act(tf.add(tf.conv2d(x, filter, [o.strideH(), o.strideW()], o.padding() === 0 ? 'same' : 'valid'), constant(op.inputs()[2])), o.activation());
      } else if (code === BuiltinOperator.DEPTHWISE_CONV_2D) {
        const o = op.options(DepthwiseConv2DOptions)!;
        const f = constant(op.inputs()[1]); // [1, 3, 3, C] -> [3, 3, C, 1]
        const [, kh, kw, ch] = f.shape as number[];
        const filter = tf.reshape(f, [kh, kw, ch, 1]) as tf.Tensor4D;
        x = act(tf.add(tf.depthwiseConv2d(x, filter, [o.strideH(), o.strideW()], o.padding() === 0 ? 'same' : 'valid'), constant(op.inputs()[2])), o.activation());
      } else if (code === BuiltinOperator.AVERAGE_POOL_2D) {
        const o = op.options(Pool2DOptions)!;
        x = tf.avgPool(x, [o.filterHeight(), o.filterWidth()], [o.strideH(), o.strideW()], 'valid');
      } else throw new Error(`reference: operator ${code} not expected in this file`);
    }
    return tf.reshape(x, [n, -1]);
  });
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

/** The quantized model in the TFLite runtime (a child process: its loader needs browser-like globals). */
async function tfliteRuntime(file: string, pixels: Uint8Array, n: number): Promise<{ q: number[][]; output: string }> {
  const px = join(tmp, 'pixels.bin');
  writeFileSync(px, pixels);
  const { stdout } = await promisify(execFile)(process.execPath, [RUNTIME, file, px, String(n)], { maxBuffer: 64 << 20 });
  const r = JSON.parse(stdout);
  return { q: r.outputs, output: r.output };
}

describe('parity on real photos', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    await useBackend('wasm');
    gpu = await createNodeGpu();
  });
  afterAll(() => gpu?.destroy());

  it(`our engine on the converted Coral file vs the TFLite runtime (quantized) and a float32 tfjs run of the same graph, ${IMAGES.length} photos`, { timeout: 120_000 }, async () => {
    const dir = join(tmp, 'imagenet');
    await saveBackbone(await convertTfliteModel(CORAL), dir);
    const backbone = await loadBackbone(dir);
    const per = 224 * 224 * 3;
    const pixels = new Uint8Array(IMAGES.length * per);
    for (const [i, f] of IMAGES.entries()) pixels.set(await loadImageRGB(f, 224), i * per);
    const engine = new MobileNetEngine(gpu, backbone, loadShaders(), { maxBatch: 4 });
    const ours = await engine.embed(pixels, IMAGES.length);
    engine.destroy();

    const float = await floatReference(CORAL, pixels, IMAGES.length);
    const runtime = await tfliteRuntime(CORAL, pixels, IMAGES.length);
    expect(runtime.output).toBe(backbone.manifest.source.output);
    const outQ = (backbone.manifest.source as TfliteSource).quantization.output!;
    const rows: string[] = [];
    const figures = { floatCos: 1, quantCos: 1, floatQuantCos: 1, relErr: 0 };
    for (let i = 0; i < IMAGES.length; i++) {
      const a = ours.subarray(i * 1024, (i + 1) * 1024);
      const f = float.subarray(i * 1024, (i + 1) * 1024);
      const q = Float32Array.from(runtime.q[i], (v) => outQ.scale[0] * (v - outQ.zeroPoint[0]));
      expect(maxAbs(f), IMAGES[i]).toBeGreaterThan(0.5); // a real descriptor
      const c = { float: cosine(a, f), quant: cosine(a, q), floatQuant: cosine(f, q) };
      let err = 0;
      for (let k = 0; k < 1024; k++) err = Math.max(err, Math.abs(a[k] - f[k]));
      figures.floatCos = Math.min(figures.floatCos, c.float);
      figures.quantCos = Math.min(figures.quantCos, c.quant);
      figures.floatQuantCos = Math.min(figures.floatQuantCos, c.floatQuant);
      figures.relErr = Math.max(figures.relErr, err / maxAbs(f));
      rows.push(`${IMAGES[i].split('/').slice(-2).join('/')}: ours~float 1 - ${(1 - c.float).toExponential(1)}, ours~TFLite ${c.quant.toFixed(4)}, float~TFLite ${c.floatQuant.toFixed(4)}`);
    }
    console.log(`TFLite parity (cosine, per photo):\n${rows.join('\n')}\nmin: ours~float32 reference 1 - ${(1 - figures.floatCos).toExponential(1)} (max error ${(figures.relErr * 100).toFixed(4)}% of the largest value), ours~TFLite runtime ${figures.quantCos.toFixed(4)}, float32 reference~TFLite runtime ${figures.floatQuantCos.toFixed(4)}`);
    // The same float network: only summation order differs.
    expect(figures.floatCos).toBeGreaterThanOrEqual(0.9999);
    expect(figures.relErr).toBeLessThanOrEqual(1e-3);
    // The quantized runtime: the float network's error against it is the quantization's.
    expect(figures.quantCos).toBeGreaterThanOrEqual(QUANT_MIN);
    expect(Math.abs(figures.quantCos - figures.floatQuantCos)).toBeLessThan(1e-3);
  });
});

/** Measured minimum over these photos 0.9958 (ORL's grey faces lowest; web photos 0.998-0.9998): src/weights/README.md. */
const QUANT_MIN = 0.995;

describe('any kind of picture: the ImageNet backbone through the CLI', () => {
  it('two classes of synthetic shapes train with --backbone <imagenet> --crop none at the recipe\'s rate, eval and predict', { timeout: 120_000 }, async () => {
    const sharp = (await import('sharp')).default;
    const backbone = join(tmp, 'imagenet-cli');
    await saveBackbone(await convertTfliteModel(CORAL), backbone);
    const data = join(tmp, 'shapes');
    const fresh = join(tmp, 'fresh');
    const kinds = ['circle', 'square'] as const;
    for (const kind of kinds) {
      mkdirSync(join(data, kind), { recursive: true });
      for (let i = 0; i < 12; i++) await sharp(shapePicture(kind, i * 2 + (kind === 'circle' ? 0 : 1)), { raw: { width: 160, height: 160, channels: 3 } }).png().toFile(join(data, kind, `${i}.png`));
      mkdirSync(fresh, { recursive: true });
      for (let i = 0; i < 3; i++) await sharp(shapePicture(kind, 1000 + i * 2 + (kind === 'circle' ? 0 : 1)), { raw: { width: 160, height: 160, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(fresh, `${kind}-${i}.jpg`));
    }
    const model = join(tmp, 'shapes-model');
    // The recipe's own rate (1e-3, no --lr): ImageNet descriptors are 2-5x larger than the face
    // backbone's (mean L2 norm 26-31 against 6-14), and before the descriptor scale RMSprop threw
    // the head into a saturated softmax on these pictures at this rate (every one "circle",
    // loss stuck at 12.8; src/train/README.md). The scale brings them to the face backbone's size.
    const t = await facegpu(['train', data, '--out', model, '--backbone', backbone, '--crop', 'none', '--validation-split', '0.25', '--seed', '1', '--epochs', '15']);
    expect(t.code, t.stderr).toBe(0);
    const meta = JSON.parse(readFileSync(join(model, 'facegpu.json'), 'utf8'));
    expect(meta.config.learningRate).toBe(0.001);
    expect(meta.head.inputScale.meanNorm).toBeGreaterThan(15);
    expect(meta.head.inputScale.scale).toBeCloseTo(meta.head.inputScale.targetNorm / meta.head.inputScale.meanNorm, 6);
    expect(meta.preprocessing.crop.method).toBe('none');
    const e = await facegpu(['eval', model, data, '--json']);
    expect(e.code, e.stderr).toBe(0);
    const ev = JSON.parse(e.stdout);
    const p = await facegpu(['predict', model, fresh, '--json', '--threshold', '0']);
    expect(p.code, p.stderr).toBe(0);
    const predictions = JSON.parse(p.stdout) as { file: string; label: string; probability: number }[];
    const right = predictions.filter((r) => r.file.split('/').pop()!.startsWith(r.label)).length;
    console.log(`synthetic shapes, ImageNet backbone: validation accuracy ${(ev.accuracy * 100).toFixed(0)}% on ${ev.images}; new pictures ${right}/${predictions.length} (${predictions.map((r) => `${r.file.split('/').pop()}: ${r.label} ${r.probability.toFixed(2)}`).join(', ')})`);
    expect(ev.images).toBe(6);
    expect(ev.accuracy).toBeGreaterThanOrEqual(5 / 6);
    expect(predictions).toHaveLength(6);
    expect(right).toBeGreaterThanOrEqual(5);
  });
});
