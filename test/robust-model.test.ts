// Model files and data as users leave them: a model trained on a backbone given by path is
// found again by its sha256; a backbone id that is a path is refused; impossible sizes in
// facegpu.json or model.json are refused in one line naming the file; duplicate labels are
// refused; a model left by an unfinished training is named on stderr; questionable data (one
// photo with a validation split, the same photo under two people) is warned about; predict
// --json lists an unreadable file in its place.
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEIGHTS_DIR } from '../src/backbones.ts';
import { openTrainingSet } from '../src/train/dataset-node.ts';
import { readModelMeta } from '../src/train/model-dir-node.ts';
import { headFromFiles } from '../src/train/model-format.ts';
import { CLI, facegpu } from './helpers/train-data.ts';

const tmp = mkdtempSync(join(tmpdir(), 'facegpu-model-'));
let data: string;
let model: string;
let backbone: string;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function photo(file: string, colour: string, i: number): Promise<void> {
  await sharp({ create: { width: 32, height: 32, channels: 3, background: colour } })
    .composite([{ input: { create: { width: 4 + 4 * i, height: 4, channels: 3, background: 'white' } }, left: 2, top: 2 }])
    .png()
    .toFile(file);
}

beforeAll(async () => {
  data = join(tmp, 'data');
  for (const [p, colour] of [['ann', 'red'], ['bob', 'blue']] as const) {
    mkdirSync(join(data, p), { recursive: true });
    for (let i = 0; i < 3; i++) await photo(join(data, p, `${i}.png`), colour, i);
  }
  // The face backbone under another name, in a folder of its own (not under weights/).
  backbone = join(tmp, 'backbones', 'mine');
  // Copied as real files (weights/face may be a link): the edit below must never reach weights/face.
  cpSync(join(WEIGHTS_DIR, 'face'), backbone, { recursive: true, dereference: true });
  expect(lstatSync(backbone).isSymbolicLink() || lstatSync(join(backbone, 'manifest.json')).isSymbolicLink()).toBe(false);
  const m = JSON.parse(readFileSync(join(backbone, 'manifest.json'), 'utf8'));
  writeFileSync(join(backbone, 'manifest.json'), JSON.stringify({ ...m, id: 'mine' }));
  model = join(tmp, 'model');
  const r = await facegpu(['train', data, '--out', model, '--epochs', '1', '--crop', 'none', '--validation-split', '0.34', '--backbone', backbone]);
  expect(r.code, r.stderr).toBe(0);
}, 300_000);

const metaFile = () => join(model, 'facegpu.json');
function editMeta(dir: string, edit: (m: any) => void): string {
  const copy = join(tmp, `edited-${Math.random().toString(36).slice(2)}`);
  cpSync(dir, copy, { recursive: true });
  const m = JSON.parse(readFileSync(join(copy, 'facegpu.json'), 'utf8'));
  edit(m);
  writeFileSync(join(copy, 'facegpu.json'), JSON.stringify(m));
  return copy;
}

describe('backbones by path', () => {
  it('the model records the backbone folder and predict finds it by sha256 without --backbone', async () => {
    const meta = JSON.parse(readFileSync(metaFile(), 'utf8'));
    expect(meta.backbone.id).toBe('mine');
    expect(meta.backbone.path).toBe(backbone);
    // No backbone under weights/ at all: only the recorded path can be it.
    const empty = join(tmp, 'no-weights');
    mkdirSync(empty);
    const r = await promisify(execFile)(process.execPath, [CLI, 'predict', model, join(data, 'ann', '0.png'), '--json'], { env: { ...process.env, FACEGPU_WEIGHTS: empty } }).catch((e) => e);
    expect(r.stderr).not.toContain('no converted backbone');
    expect(JSON.parse(r.stdout)[0].file).toBe(join(data, 'ann', '0.png'));
  });

  it('a backbone id that is a path is refused before anything is read from it', async () => {
    const bad = editMeta(model, (m) => (m.backbone.id = '../../../../etc'));
    await expect(readModelMeta(bad)).rejects.toThrow(`${join(bad, 'facegpu.json')}: backbone id "../../../../etc" must be a plain name (a folder under weights/), not a path`);
  });
});

describe('model files are checked', () => {
  it('facegpu.json with a string margin, a huge margin, a non-numeric inputSize or duplicate labels is refused', async () => {
    const cases: [(m: any) => void, string][] = [
      [(m) => (m.preprocessing.crop = { method: 'face', detector: 'blazeface', margin: '1.3', minScore: 0.5 }), 'crop margin "1.3" must be a number in (0, 10]'],
      [(m) => (m.preprocessing.crop = { method: 'face', detector: 'blazeface', margin: 1e9, minScore: 0.5 }), 'crop margin 1000000000 must be a number in (0, 10]'],
      [(m) => (m.preprocessing.inputSize = 'abc'), 'preprocessing.inputSize "abc" must be an integer in [1, 4096]'],
      [(m) => (m.labels = ['ann', 'ann']), '"labels" lists "ann" twice'],
    ];
    for (const [edit, message] of cases) {
      const dir = editMeta(model, edit);
      await expect(readModelMeta(dir)).rejects.toThrow(`${join(dir, 'facegpu.json')}: ${message}`);
    }
  });

  it('model.json with a negative shape or 1e8 units is refused naming the file and the layer', async () => {
    const json = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'));
    const weights = new Uint8Array(readFileSync(join(model, 'weights.bin')));
    const negative = structuredClone(json);
    negative.weightsManifest[0].weights[0].shape = [-1024, 1024];
    await expect(headFromFiles({ modelJson: negative, weights }, 'm/model.json')).rejects.toThrow(/^m\/model\.json: weight "[^"]+" has shape \[-1024,1024\]; every dimension must be a positive integer$/);
    const huge = structuredClone(json);
    const dense = (huge.modelTopology.model_config ?? huge.modelTopology).config.layers.find((l: any) => l.config.units !== undefined);
    dense.config.units = 1e8;
    await expect(headFromFiles({ modelJson: huge, weights }, 'm/model.json')).rejects.toThrow(`m/model.json: layer "${dense.config.name}" has units 100000000; must be an integer in [1, 65536]`);
  });

  it('a model left by an unfinished training is named once on stderr by predict', async () => {
    const unfinished = editMeta(model, (m) => (m.metrics.status = 'training'));
    const r = await facegpu(['predict', unfinished, join(data, 'ann', '0.png'), '--backbone', backbone]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.includes('did not finish'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^facegpu: warning: ${unfinished}: this model is a checkpoint of a training run that did not finish`));
  });

  it('predict --json lists an unreadable file in its place', async () => {
    const bad = join(tmp, 'bad.png');
    writeFileSync(bad, 'nope');
    const good = join(data, 'bob', '1.png');
    const r = await facegpu(['predict', model, bad, good, '--json', '--backbone', backbone]);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out[0]).toEqual({ file: bad, error: expect.stringContaining('not an image in a supported format') });
    expect(out[1].file).toBe(good);
  });
});

describe('questionable data is warned about', () => {
  it('one photo with a validation split, and the same photo under two people', async () => {
    const d = join(tmp, 'odd-data');
    mkdirSync(join(d, 'ann'), { recursive: true });
    mkdirSync(join(d, 'bob'), { recursive: true });
    await photo(join(d, 'ann', 'a.png'), 'red', 0);
    await photo(join(d, 'bob', 'b1.png'), 'blue', 0);
    await photo(join(d, 'bob', 'b2.png'), 'red', 0); // the very same image as ann's
    const warnings: string[] = [];
    await openTrainingSet(d, 0, { validationSplit: 0.2, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      `the same photo is under two people: ${join(d, 'ann', 'a.png')} ("ann") and ${join(d, 'bob', 'b2.png')} ("bob")`,
      `${join(d, 'ann')}: only 1 photo, so none is held back for validation (validation split 0.2); add photos or accept that "ann" is not validated`,
    ]);
  });
});
