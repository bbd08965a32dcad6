// eval in the folder a model was trained on scores exactly the files the model records as
// held back, however the folder changed since (no GPU: the evaluation set alone). Split again,
// a deleted or added photo moved the split and training photos were scored.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEvaluationSet, openTrainingSet } from '../src/train/dataset-node.ts';
import type { SplitRecord } from '../src/train/model-format.ts';

const root = mkdtempSync(join(tmpdir(), 'facegpu-eval-split-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const classes = ['a', 'b', 'c'];
/** <root>/<name>/<person>/<i>.jpg, 10 a person (contents do not matter: nothing is decoded). */
function folder(name: string): string {
  const dir = join(root, name);
  for (const p of classes) {
    mkdirSync(join(dir, p), { recursive: true });
    for (let i = 1; i <= 10; i++) writeFileSync(join(dir, p, `${i}.jpg`), `${p}${i}`);
  }
  return dir;
}

/** What train records of `dir` (split 0.3, seed 3), as facegpu.json's `split`. */
async function trainedOn(dir: string, skipped: string[] = []): Promise<SplitRecord> {
  const set = await openTrainingSet(dir, 224, { validationSplit: 0.3, seed: 3 });
  const out = (ids: string[]) => ids.filter((id) => !skipped.includes(id));
  return {
    layout: 'split',
    validationSplit: 0.3,
    seed: 3,
    train: out(set.train.map((i) => i.id)),
    validation: out(set.validation.map((i) => i.id)),
    skipped: skipped.map((id) => ({ id, reason: 'not an image' })),
  };
}

async function evaluationOf(dir: string, recorded: SplitRecord, opts: { validationSplit?: number; seed?: number } = {}) {
  const warnings: string[] = [];
  const set = await openEvaluationSet(dir, 224, classes, { validationSplit: 0.3, seed: 3, ...opts, recorded, onWarning: (m) => warnings.push(m) });
  return { ids: set.items.map((i) => i.id), labels: set.items.map((i) => i.label), source: set.source, warnings };
}

describe('eval in the folder the model was trained on', () => {
  it('unchanged: the held-back files, labelled by the model', async () => {
    const dir = folder('same');
    const recorded = await trainedOn(dir);
    const e = await evaluationOf(dir, recorded);
    expect(e.ids).toEqual(recorded.validation);
    expect(e.labels).toEqual(recorded.validation.map((id) => classes.indexOf(id.split('/')[0])));
    expect(e.source).toBe('files held back by validation split 0.3, seed 3');
    expect(e.warnings).toEqual([]);
  });

  it('a held-back photo deleted: the others, never a training photo, and how many are missing', async () => {
    const dir = folder('deleted');
    const recorded = await trainedOn(dir);
    const gone = recorded.validation.find((id) => id.startsWith('a/'))!;
    rmSync(join(dir, gone));
    const e = await evaluationOf(dir, recorded);
    expect(e.ids).toEqual(recorded.validation.filter((id) => id !== gone));
    expect(e.ids.filter((id) => recorded.train.includes(id))).toEqual([]);
    expect(e.warnings).toEqual([`${dir}: 1 of the 9 photos this model held back is not there (${gone}); the other 8 are scored`]);
  });

  it('photos added: not scored, and said', async () => {
    const dir = folder('added');
    const recorded = await trainedOn(dir);
    for (const f of ['a/11.jpg', 'b/0.jpg', 'c/05.jpg']) writeFileSync(join(dir, f), f);
    const e = await evaluationOf(dir, recorded);
    expect(e.ids).toEqual(recorded.validation);
    expect(e.warnings).toEqual([`${dir}: 3 photos added since this model was trained (a/11.jpg, b/0.jpg, c/05.jpg) are not scored: neither trained on nor held back, they are not in the model's split`]);
  });

  it('an unreadable file training held back is scored again (eval names it), one it trained beside is not', async () => {
    const dir = folder('skipped');
    const first = await trainedOn(dir);
    const heldBad = first.validation[0];
    const trainBad = first.train[0];
    const recorded = await trainedOn(dir, [heldBad, trainBad]);
    const e = await evaluationOf(dir, recorded);
    expect(e.ids).toEqual(first.validation);
    expect(e.warnings).toEqual([]);
  });

  it('another split or seed that would score training photos is refused; one within the held-back files is scored, and said', async () => {
    const dir = folder('other-split');
    const recorded = await trainedOn(dir);
    await expect(evaluationOf(dir, recorded, { validationSplit: 0.5, seed: 7 })).rejects.toThrow(
      new RegExp(`^${dir}: validation split 0\\.5, seed 7 would score \\d+ of the files this model was trained on \\(.*\\); it was trained on this folder with validation split 0\\.3, seed 3: leave the split and seed as the model's to score the files it held back$`),
    );
    await expect(evaluationOf(dir, recorded, { seed: 7 })).rejects.toThrow(/seed 7 would score \d+ of the files this model was trained on/);
    // Same seed, a smaller fraction: the first files of the same shuffles, all held back.
    const e = await evaluationOf(dir, recorded, { validationSplit: 0.1 });
    expect(e.ids).toHaveLength(3);
    expect(e.ids.every((id) => recorded.validation.includes(id))).toBe(true);
    expect(e.source).toBe('files held back by validation split 0.1, seed 3');
    expect(e.warnings).toEqual([`${dir}: validation split 0.1, seed 3 is not the split this model was trained with (validation split 0.3, seed 3); the 3 photos it holds back, none of them one the model was trained on, are scored`]);
  });

  it('every held-back photo gone: an error, not an empty score', async () => {
    const dir = folder('all-gone');
    const recorded = await trainedOn(dir);
    for (const id of recorded.validation) rmSync(join(dir, id));
    await expect(evaluationOf(dir, recorded)).rejects.toThrow(`${dir}: none of the 9 photos this model held back (validation split 0.3, seed 3) are there`);
  });

  it('<data>/train/ without validation/: ids under train/, the same', async () => {
    const dir = join(root, 'under-train');
    mkdirSync(dir);
    folder(join('under-train', 'train'));
    const recorded = await trainedOn(dir);
    expect(recorded.validation[0]).toMatch(/^train\/a\//);
    rmSync(join(dir, recorded.validation[0]));
    const e = await evaluationOf(dir, recorded);
    expect(e.ids).toEqual(recorded.validation.slice(1));
  });

  it('another folder (none of the recorded files): split again with the model\'s split and seed', async () => {
    const recorded = await trainedOn(folder('trained'));
    const other = join(root, 'other');
    for (const p of classes) {
      mkdirSync(join(other, p), { recursive: true });
      for (let i = 1; i <= 4; i++) writeFileSync(join(other, p, `x${i}.jpg`), `${p}x${i}`);
    }
    const warnings: string[] = [];
    const set = await openEvaluationSet(other, 224, classes, { recorded, onWarning: (m) => warnings.push(m) });
    const again = await openTrainingSet(other, 224, { validationSplit: 0.3, seed: 3 });
    expect(set.items).toEqual(again.validation);
    expect(set.source).toBe('files held back by validation split 0.3, seed 3');
    expect(warnings).toEqual([]);
  });
});

describe("eval of a model trained on a train/ and validation/ layout (it held nothing back of any one folder)", () => {
  /** <root>/<name>/{train,validation}/<person>/<i>.jpg, and what train records of it. */
  async function layout(name: string): Promise<{ dir: string; recorded: SplitRecord }> {
    const dir = join(root, name);
    folder(join(name, 'train'));
    // The same names as train/'s (1.jpg ... 10.jpg in each person's folder), as numbered photos are.
    folder(join(name, 'validation'));
    const set = await openTrainingSet(dir, 224, {});
    expect(set.train[0].id).toMatch(/^train\//);
    return { dir, recorded: { layout: 'train/validation', validationSplit: null, seed: null, train: set.train.map((i) => i.id), validation: set.validation.map((i) => i.id), skipped: [] } };
  }
  const open = (dir: string, recorded: SplitRecord, opts: { validationSplit?: number; seed?: number } = {}) => openEvaluationSet(dir, 224, classes, { ...opts, recorded, onWarning: () => {} });

  it('its train folder, given itself or as a copy, is refused: every photo in it was trained on (a split was invented, and trained-on photos scored as held back)', async () => {
    const { dir, recorded } = await layout('layout-a');
    await expect(open(join(dir, 'train'), recorded)).rejects.toThrow(`${join(dir, 'train')}: holds 30 of the files this model was trained on (a/1.jpg, a/10.jpg, a/2.jpg, …); it was trained on a train/ and validation/ layout: score its validation folder, or photos it never saw`);
    // A copy under another name: told by names that only train/ has.
    const copy = join(root, 'copy-of-train');
    folder('copy-of-train');
    writeFileSync(join(dir, 'train', 'a', 'only-trained.jpg'), 'x');
    writeFileSync(join(copy, 'a', 'only-trained.jpg'), 'x');
    const again = await layout('layout-a2');
    const trainedMore = { ...again.recorded, train: [...again.recorded.train, 'train/a/only-trained.jpg'] };
    await expect(open(copy, trainedMore)).rejects.toThrow(/holds 31 of the files this model was trained on/);
  });

  it('its validation folder, or any folder new to it, is scored whole (5 of 25 were)', async () => {
    const { dir, recorded } = await layout('layout-b');
    const held = await open(join(dir, 'validation'), recorded);
    expect(held.items).toHaveLength(30);
    expect(held.source).toBe(`all of ${join(dir, 'validation')} (none of it trained on)`);
    // The layout's root: its validation folder, as before.
    expect((await open(dir, recorded)).items).toHaveLength(30);
    // A split asked for is made, as asked.
    expect((await open(join(dir, 'validation'), recorded, { validationSplit: 0.3, seed: 3 })).items).toHaveLength(9);
  });
});
