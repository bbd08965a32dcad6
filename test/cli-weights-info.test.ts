// `facegpu weights info`: text for people by default, and with --json one line of JSON with
// the manifest's fields (each layer as one string), as every other command prints its answer.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveBackboneDir } from '../src/backbones.ts';
import { facegpu } from './helpers/train-data.ts';
import { SHARED } from './helpers/faces.ts';

const dir = resolveBackboneDir('face');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

describe('weights info', () => {
  it('--json: one line, the manifest with each layer as "name kind sN in->out activation"', async () => {
    const r = await facegpu(['weights', 'info', 'face', '--json']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const info = JSON.parse(r.stdout);
    expect(Object.keys(info).sort()).toEqual(Object.keys(manifest).sort());
    expect({ ...info, layers: undefined }).toEqual({ ...manifest, layers: undefined });
    expect(info.layers).toHaveLength(manifest.layers.length);
    expect(info.layers[0]).toBe('conv1 stem s2 3->32 relu6');
  });

  it('prints text by default: what the backbone is, where it came from, its weights and layers', async () => {
    const r = await facegpu(['weights', 'info', 'face']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(() => JSON.parse(r.stdout)).toThrow();
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`face (${dir}): MobileNet V1 alpha 1 at 224, 27 conv layers, 1024-d descriptor from global_pooling/Mean, input 0..255 (raw RGB)`);
    expect(r.stdout).toContain(`source: tfjs-graph ${manifest.source.file}, sha256 ${manifest.source.sha256}`);
    expect(r.stdout).toContain(`weights: ${join(dir, 'weights.bin')}, 12.8 MB, sha256 ${manifest.weightsSha256}`);
    expect(lines.filter((l) => /^ {2}conv/.test(l))).toHaveLength(27);
    expect(lines.at(-1)).toMatch(/^ {2}conv_pw_13 +pointwise +s1 +1024->1024 +relu6$/);
  });
});

describe('weights info of what is not a backbone', () => {
  it("a trained model's folder is named as one, with its backbone (a remedy to convert into it was given)", async () => {
    const model = join(mkdtempSync(join(tmpdir(), 'facegpu-info-model-')), 'friends');
    mkdirSync(model);
    writeFileSync(join(model, 'facegpu.json'), JSON.stringify({ format: 'facegpu-model', version: 1, labels: ['a', 'b'], backbone: { id: 'face', weightsSha256: 'f'.repeat(64), outputDim: 1024, inputSize: 224, path: dir } }));
    try {
      const r = await facegpu(['weights', 'info', model]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`facegpu: ${model}: a trained model (facegpu.json), not a backbone; it was trained on backbone "face" (${dir}): facegpu weights info ${dir}`);
    } finally {
      rmSync(join(model, '..'), { recursive: true, force: true });
    }
  });
});

describe('weights convert over a backbone', () => {
  it('another backbone put in its folder is said (models and galleries made on the old one no longer find it)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'facegpu-convert-over-')), 'mn');
    const model = join(SHARED, 'weights', 'mobilenet_v1_0.75_224', 'model.json');
    try {
      const first = await facegpu(['weights', 'convert', model, '--out', out]);
      expect(first.code, first.stderr).toBe(0);
      const same = await facegpu(['weights', 'convert', model, '--out', out]);
      expect(same.stderr).not.toContain('held another backbone');
      const raw = await facegpu(['weights', 'convert', model, '--out', out, '--input', 'raw']);
      expect(raw.code).toBe(0);
      expect(raw.stderr).toMatch(new RegExp(`facegpu: warning: ${out} held another backbone \\(weights sha256 [0-9a-f]{12}…, `));
      expect(raw.stderr).toContain('input -1..1 (x / 127.5 - 1)), now replaced: models and galleries made on it no longer find it here');
    } finally {
      rmSync(join(out, '..'), { recursive: true, force: true });
    }
  });
});
