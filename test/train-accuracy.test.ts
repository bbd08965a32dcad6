// The acceptance numbers, measured through the CLI as a user would get them: train on each
// shared data set with the default face backbone, then `facegpu eval --json`.
//   ORL faces (40 people x 10 PGM), --validation-split 0.3 --seed 1: accuracy >= 97%.
//   5-celebrity-faces, train/ then val/ (the original notebook reached 65%): >= 80%.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CELEB, ORL } from './helpers/faces.ts';
import { facegpu } from './helpers/train-data.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-acc-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function trainAndEval(data: string, name: string, trainArgs: string[]): Promise<{ accuracy: number; meta: any; eval: any; log: string }> {
  const out = join(tmp, name);
  const t = await facegpu(['train', data, '--out', out, ...trainArgs]);
  expect(t.code, t.stderr).toBe(0);
  const e = await facegpu(['eval', out, data, '--json']);
  expect(e.code, e.stderr).toBe(0);
  const result = JSON.parse(e.stdout);
  const meta = JSON.parse(readFileSync(join(out, 'facegpu.json'), 'utf8'));
  console.log(`${name}: eval accuracy ${(result.accuracy * 100).toFixed(2)}% on ${result.images} images\n${t.stdout}`);
  return { accuracy: result.accuracy, meta, eval: result, log: t.stdout };
}

describe('accuracy with the default face backbone', () => {
  it('ORL faces, --validation-split 0.3 --seed 1: >= 97% on the held-back files', async () => {
    const r = await trainAndEval(ORL, 'orl', ['--validation-split', '0.3', '--seed', '1']);
    expect(r.meta.split.validation).toHaveLength(120); // 3 of each person's 10
    expect(r.eval.images).toBe(120);
    expect(r.eval.classes).toHaveLength(40);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.97);
    // eval scores the final model as training's own validation did.
    expect(r.accuracy).toBeCloseTo(r.meta.metrics.valAccuracy, 6);
  });

  it('5-celebrity-faces, train/ then val/: >= 80%', async () => {
    const r = await trainAndEval(CELEB, 'celeb', []);
    expect(r.meta.split.layout).toBe('train/validation');
    expect(r.meta.split.train).toHaveLength(93);
    expect(r.eval.images).toBe(25);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.8);
  });
});
