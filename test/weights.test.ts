// Converters, our format and the model download: real models convert to the expected
// architecture, and every kind of bad input fails with an error naming the node or file.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackboneSource, resolveBackboneDir } from '../src/backbones.ts';
import { convertTfjsModel } from '../src/weights/convert.ts';
import { downloadTfjsModel } from '../src/weights/download.ts';
import { float16ToFloat32, float32ToFloat16Exact, packFloat16PairsExact } from '../src/weights/half.ts';
import { loadBackbone, saveBackbone } from '../src/weights/store.ts';
import { SHARED } from './helpers/faces.ts';

const FACE = defaultBackboneSource();
const IMAGENET_DIR = join(SHARED, 'weights/mobilenet_v1_0.75_224');
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-weights-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the face graph model whose model.json was changed by `edit`. */
function editedFaceModel(name: string, edit: (json: any) => void, bin: 'copy' | 'missing' | 'truncated' = 'copy'): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const json = JSON.parse(readFileSync(FACE, 'utf8'));
  edit(json);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  const src = join(FACE, '..', 'faceres.bin');
  if (bin === 'copy') copyFileSync(src, join(dir, 'faceres.bin'));
  if (bin === 'truncated') writeFileSync(join(dir, 'faceres.bin'), readFileSync(src).subarray(0, 1_000_000));
  return join(dir, 'model.json');
}
const node = (json: any, name: string) => json.modelTopology.node.find((n: any) => n.name === name);

describe('float16', () => {
  it('decodes normal, subnormal and special values', () => {
    expect(float16ToFloat32(0x3c00)).toBe(1);
    expect(float16ToFloat32(0xc000)).toBe(-2);
    expect(float16ToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(float16ToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16ToFloat32(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(float16ToFloat32(0x7e00))).toBe(true);
  });

  it('encodes exactly representable values, and nothing that would round', () => {
    expect(float32ToFloat16Exact(1)).toBe(0x3c00);
    expect(float32ToFloat16Exact(-2)).toBe(0xc000);
    expect(float32ToFloat16Exact(-0)).toBe(0x8000);
    expect(float32ToFloat16Exact(65504)).toBe(0x7bff);
    expect(float32ToFloat16Exact(1 + 2 ** -10)).toBe(0x3c01);
    expect(float32ToFloat16Exact(2 ** -14)).toBe(0x0400); // smallest normal
    expect(float32ToFloat16Exact(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Exact(3 * 2 ** -20)).toBe(0x0030);
    for (const v of [0.1, 1 + 2 ** -11, 65536, 2 ** -25, 3 * 2 ** -25, Infinity, NaN]) expect(float32ToFloat16Exact(v), String(v)).toBeNull();
    // Every float16 bit pattern that is a finite number comes back unchanged.
    for (let h = 0; h < 0x10000; h++) {
      if (((h >> 10) & 0x1f) === 0x1f) continue;
      const back = float32ToFloat16Exact(float16ToFloat32(h));
      expect(back === h || (h === 0x8000 && back === 0x8000)).toBe(true);
    }
  });

  it('packs pairs low half first, or refuses the whole tensor', () => {
    expect(Array.from(packFloat16PairsExact(new Float32Array([1, -2, 0.5]))!)).toEqual([0xc0003c00, 0x3800]);
    expect(packFloat16PairsExact(new Float32Array([1, 0.1]))).toBeNull();
  });
});

describe('converters on the real models', () => {
  it('face graph model: alpha 1.0, 224, raw input, 1024-d from global_pooling/Mean, ReLU6 everywhere', async () => {
    const spec = await convertTfjsModel(FACE);
    expect(spec.alpha).toBe(1);
    expect(spec.inputSize).toBe(224);
    expect(spec.outputDim).toBe(1024);
    expect(spec.source.output).toBe('global_pooling/Mean');
    expect(spec.preprocess.scale).toBe(1);
    expect(spec.layers).toHaveLength(27);
    expect(spec.layers.map((l) => l.kind).slice(0, 3)).toEqual(['stem', 'depthwise', 'pointwise']);
    expect(spec.layers.filter((l) => l.stride === 2).map((l) => l.name)).toEqual(['conv1', 'conv_dw_2', 'conv_dw_4', 'conv_dw_6', 'conv_dw_12']);
    expect(spec.layers.every((l) => l.activation === 'relu6')).toBe(true);
  });

  it('ImageNet layers model: alpha 0.75, signed input, 768-d, BatchNorm folded', async () => {
    const spec = await convertTfjsModel(join(IMAGENET_DIR, 'model.json'));
    expect(spec.alpha).toBe(0.75);
    expect(spec.outputDim).toBe(768);
    expect(spec.preprocess.offset).toBe(-1);
    expect(spec.layers[0]).toMatchObject({ kind: 'stem', inChannels: 3, outChannels: 24, stride: 2 });
    expect(spec.layers.some((l) => l.bias.some((b) => b !== 0))).toBe(true);
  });
});

describe('converter errors name the node or file', () => {
  it('unsupported op', async () => {
    const file = editedFaceModel('unsupported', (j) => (node(j, 'conv_dw_3_relu/Relu').op = 'Tanh'));
    await expect(convertTfjsModel(file)).rejects.toThrow(/node conv_dw_3_relu\/Relu: unsupported op Tanh/);
  });
  it('shape mismatch', async () => {
    const file = editedFaceModel('mismatch', (j) => (node(j, 'conv_dw_1_bn/batchnorm_1/mul_1').input[1] = 'conv_dw_2_bn/batchnorm_1/mul'));
    await expect(convertTfjsModel(file)).rejects.toThrow(/node conv_dw_1_bn\/batchnorm_1\/mul_1: constant has 64 values for 32 channels/);
  });
  it('missing shard', async () => {
    const file = editedFaceModel('missing', () => {}, 'missing');
    await expect(convertTfjsModel(file)).rejects.toThrow(/faceres\.bin: weight shard listed in .* is missing/);
  });
  it('truncated shard', async () => {
    const file = editedFaceModel('truncated', () => {}, 'truncated');
    await expect(convertTfjsModel(file)).rejects.toThrow(/faceres\.bin: truncated shard/);
  });
  it('weights that are not numbers, or past any trained weight: refused when saved, naming the layer (they converted, and embedded wrong)', async () => {
    for (const [name, bytes, said] of [
      ['nan', new Float32Array(8).fill(NaN), /^layer "conv_dw_10": its weights hold NaN \(at \d+\), not a number, after its batch norm was folded in: the model's weights are damaged$/],
      ['huge', new Float32Array(8).fill(1.36e33), /^layer "conv_dw_10": its weights hold -?[\d.e+]+ \(at \d+\), past 1000000, after its batch norm was folded in: the model's weights are damaged$/],
    ] as const) {
      const dir = join(tmp, `damaged-${name}`);
      mkdirSync(dir);
      for (const f of readdirSync(IMAGENET_DIR)) copyFileSync(join(IMAGENET_DIR, f), join(dir, f));
      const shard = readFileSync(join(dir, 'group5-shard1of1'));
      shard.set(new Uint8Array(bytes.buffer), 0); // the first weights of conv_dw_10's batch norm
      writeFileSync(join(dir, 'group5-shard1of1'), shard);
      const spec = await convertTfjsModel(join(dir, 'model.json'));
      await expect(saveBackbone(spec, join(tmp, `out-${name}`))).rejects.toThrow(said);
    }
  });
  it('not a model', async () => {
    const file = join(tmp, 'notmodel.json');
    writeFileSync(file, '{"hello": 1}');
    await expect(convertTfjsModel(file)).rejects.toThrow(/notmodel\.json: not a TensorFlow\.js model\.json/);
    writeFileSync(file, '{oops');
    await expect(convertTfjsModel(file)).rejects.toThrow(/notmodel\.json: not valid JSON/);
  });
  it('unsupported layer in a layers model', async () => {
    const dir = join(tmp, 'layers-bad');
    mkdirSync(dir, { recursive: true });
    const json = JSON.parse(readFileSync(join(IMAGENET_DIR, 'model.json'), 'utf8'));
    json.modelTopology.model_config.config.layers[4].class_name = 'SeparableConv2D';
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    for (const g of json.weightsManifest) for (const p of g.paths) copyFileSync(join(IMAGENET_DIR, p), join(dir, p));
    await expect(convertTfjsModel(join(dir, 'model.json'))).rejects.toThrow(/layer conv_dw_1: unsupported layer type SeparableConv2D/);
  });
});

describe('our format on disk', () => {
  it("a backbone named: under weights/ first, else a folder of that name here (whose error then names it), else weights/<name>", () => {
    // The tester's case: `--backbone img`, ./img a plain folder, was told of <home>/weights/img/manifest.json.
    const weights = mkdtempSync(join(tmpdir(), 'facegpu-weights-'));
    const here = mkdtempSync(join(tmpdir(), 'facegpu-here-'));
    const cwd = process.cwd();
    try {
      mkdirSync(join(weights, 'face'));
      mkdirSync(join(here, 'face'));
      mkdirSync(join(here, 'img'));
      process.chdir(here);
      expect(resolveBackboneDir('face', weights)).toBe(join(weights, 'face'));
      expect(resolveBackboneDir('img', weights)).toBe(join(here, 'img'));
      expect(resolveBackboneDir('other', weights)).toBe(join(weights, 'other'));
      expect(resolveBackboneDir('./face', weights)).toBe(join(here, 'face'));
    } finally {
      process.chdir(cwd);
      rmSync(weights, { recursive: true });
      rmSync(here, { recursive: true });
    }
  });

  it('round-trips, and refuses corrupt or truncated weights and bad manifests', async () => {
    const dir = join(tmp, 'fmt');
    const m = await saveBackbone(await convertTfjsModel(join(IMAGENET_DIR, 'model.json')), dir, 'imagenet');
    const b = await loadBackbone(dir);
    expect(b.manifest.weightsSha256).toBe(m.weightsSha256);
    expect(b.data.byteLength).toBe(m.weightsBytes);
    expect(b.manifest.layers.every((l) => l.weights.offset % 256 === 0)).toBe(true);

    const bin = readFileSync(join(dir, 'weights.bin'));
    bin[1000] ^= 0xff;
    writeFileSync(join(dir, 'weights.bin'), bin);
    await expect(loadBackbone(dir)).rejects.toThrow(/weights\.bin: sha256 does not match/);
    writeFileSync(join(dir, 'weights.bin'), bin.subarray(0, 5000));
    await expect(loadBackbone(dir)).rejects.toThrow(/weights\.bin: 5000 bytes, the manifest says \d+ \(truncated/);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'other' }));
    await expect(loadBackbone(dir)).rejects.toThrow(/manifest\.json: not a facegpu backbone manifest/);
    await expect(loadBackbone(join(tmp, 'nowhere'))).rejects.toThrow(/nowhere\/manifest\.json: no converted backbone here/);
  });
});

describe('download with cache and checksum (local HTTP server)', () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];
  const broken = new Set<string>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '/').slice(1));
      hits.push(name);
      if (broken.has(name) || name.includes('..')) {
        res.writeHead(404).end();
        return;
      }
      try {
        res.writeHead(200).end(readFileSync(join(IMAGENET_DIR, name)));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  it('downloads model.json and every shard, then serves them from the cache', async () => {
    const cacheDir = join(tmp, 'cache');
    const file = await downloadTfjsModel(`${base}/model.json`, { cacheDir });
    const shards = JSON.parse(readFileSync(join(IMAGENET_DIR, 'model.json'), 'utf8')).weightsManifest.flatMap((g: any) => g.paths);
    expect(hits.length).toBe(1 + shards.length);
    expect(readFileSync(join(file, '..', shards[3])).equals(readFileSync(join(IMAGENET_DIR, shards[3])))).toBe(true);
    const spec = await convertTfjsModel(file);
    expect(spec.outputDim).toBe(768);

    hits.length = 0;
    expect(await downloadTfjsModel(`${base}/model.json`, { cacheDir })).toBe(file);
    expect(hits).toEqual([]);

    // A damaged cached shard is noticed and fetched again.
    writeFileSync(join(file, '..', shards[0]), 'garbage');
    await downloadTfjsModel(`${base}/model.json`, { cacheDir });
    expect(hits.length).toBe(1 + shards.length);
  });

  it('fails on a checksum mismatch and on a missing shard, naming the URL', async () => {
    await expect(downloadTfjsModel(`${base}/model.json`, { cacheDir: join(tmp, 'c2'), sha256: '0'.repeat(64) })).rejects.toThrow(/model\.json: sha256 .* does not match/);
    broken.add('group7-shard1of1');
    await expect(downloadTfjsModel(`${base}/model.json`, { cacheDir: join(tmp, 'c3') })).rejects.toThrow(/group7-shard1of1: download failed with HTTP 404/);
    broken.clear();
  });
});
