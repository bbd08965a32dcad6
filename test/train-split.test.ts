// The seeded, stratified split and the data-folder layouts (no GPU needed).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { heldBackCount, stratifiedSplit } from '../src/train/split.ts';
import { listPeople, openEvaluationSet, openTrainingSet } from '../src/train/dataset-node.ts';

const people = (counts: Record<string, number>) =>
  new Map(Object.entries(counts).map(([name, n]) => [name, Array.from({ length: n }, (_, i) => `${name}/${String(i).padStart(2, '0')}.pgm`)]));

describe('stratifiedSplit', () => {
  const data = people({ s1: 10, s2: 10, s3: 7, s4: 2, s5: 1 });

  it('holds back round(n * f) of each person, at least one, never all', () => {
    const split = stratifiedSplit(data, 0.3, 1);
    const held = (label: number) => split.validation.filter((f) => f.label === label).length;
    expect([0, 1, 2, 3, 4].map(held)).toEqual([3, 3, 2, 1, 0]);
    expect(heldBackCount(10, 0.3)).toBe(3);
    expect(heldBackCount(3, 0.01)).toBe(1);
    expect(heldBackCount(2, 0.9)).toBe(1);
    // Train and validation partition the files.
    const all = [...split.train, ...split.validation].map((f) => f.file).sort();
    expect(all).toEqual([...data.values()].flat().sort());
    expect(new Set(all).size).toBe(all.length);
  });

  it('labels are the sorted class names', () => {
    const split = stratifiedSplit(new Map([['zoe', ['zoe/a']], ['adam', ['adam/a', 'adam/b']]]), 0.5, 1);
    expect(split.train.find((f) => f.file === 'zoe/a')!.label).toBe(1);
    expect([...split.train, ...split.validation].find((f) => f.file.startsWith('adam'))!.label).toBe(0);
  });

  it('is reproducible with a seed and changes with it', () => {
    const a = stratifiedSplit(data, 0.3, 1);
    expect(stratifiedSplit(data, 0.3, 1)).toEqual(a);
    const b = stratifiedSplit(data, 0.3, 2);
    expect(b.validation.map((f) => f.file)).not.toEqual(a.validation.map((f) => f.file));
  });

  it("does not move one person's files when another person is added", () => {
    const a = stratifiedSplit(data, 0.3, 5);
    const more = new Map(data);
    more.set('s0', ['s0/a', 's0/b', 's0/c']);
    const b = stratifiedSplit(more, 0.3, 5);
    const held = (s: typeof a) => s.validation.map((f) => f.file).filter((f) => !f.startsWith('s0/'));
    expect(held(b)).toEqual(held(a));
  });

  it('rejects a fraction outside [0, 1)', () => {
    expect(() => stratifiedSplit(data, 1, 1)).toThrow(/validationSplit must be a number in \[0, 1\)/);
    expect(() => stratifiedSplit(data, -0.1, 1)).toThrow(/validationSplit must be a number in \[0, 1\)/);
  });
});

describe('data folders', () => {
  const root = mkdtempSync(join(tmpdir(), 'facegpu-split-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const make = (dir: string, files: string[]) => {
    for (const f of files) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), 'x');
    }
    return dir;
  };

  it('<dir>/<person>/*: split per person; eval finds exactly the held-back files', async () => {
    const dir = make(join(root, 'flat'), ['README', ...['b', 'a', 'c'].flatMap((p) => [1, 2, 3, 4, 5].map((i) => `${p}/${i}.jpg`)), 'a/.hidden', 'c/sub/6.jpg']);
    const set = await openTrainingSet(dir, 224, { validationSplit: 0.4, seed: 3 });
    expect(set.classes).toEqual(['a', 'b', 'c']);
    expect(set.layout).toBe('split');
    expect(set.validation.length).toBe(2 + 2 + 2);
    expect([...set.train, ...set.validation].some((i) => i.id === 'c/sub/6.jpg')).toBe(true);
    expect([...set.train, ...set.validation].some((i) => i.id.includes('hidden'))).toBe(false);
    const ev = await openEvaluationSet(dir, 224, ['a', 'b', 'c'], { validationSplit: 0.4, seed: 3 });
    expect(ev.items).toEqual(set.validation);
    // Labels follow the model's class order, not the folder's.
    const ev2 = await openEvaluationSet(dir, 224, ['c', 'b', 'a'], { validationSplit: 0.4, seed: 3 });
    expect(ev2.items.map((i) => i.label)).toEqual(set.validation.map((i) => 2 - i.label));
  });

  it('<dir>/train + <dir>/val: the given split', async () => {
    const dir = make(join(root, 'keras'), ['train/x/1.png', 'train/x/2.png', 'train/y/1.png', 'val/y/9.png']);
    const set = await openTrainingSet(dir, 224);
    expect(set.layout).toBe('train/validation');
    expect(set.train.map((i) => i.id)).toEqual(['train/x/1.png', 'train/x/2.png', 'train/y/1.png']);
    expect(set.validation).toEqual([{ id: 'val/y/9.png', label: 1 }]);
    const ev = await openEvaluationSet(dir, 224, ['x', 'y']);
    expect(ev.items).toEqual([{ id: 'val/y/9.png', label: 1 }]);
    await expect(openEvaluationSet(dir, 224, ['x', 'z'])).rejects.toThrow(/"y" is not one of the people this model was trained on \(x, z\)/);
  });

  it('eval: validation/ or val/ without train/, any number of people the model knows', async () => {
    const warnings: string[] = [];
    const onWarning = (m: string) => warnings.push(m);
    const dir = make(join(root, 'val-only'), ['validation/y/1.png', 'validation/y/2.png', 'notes/x.png']);
    const ev = await openEvaluationSet(dir, 224, ['x', 'y'], { onWarning });
    expect(ev.source).toBe(join(dir, 'validation'));
    expect(ev.items).toEqual([{ id: 'validation/y/1.png', label: 1 }, { id: 'validation/y/2.png', label: 1 }]);
    expect(warnings).toEqual([`${join(dir, 'notes')}: beside validation/ and no train/, so not evaluated; eval reads ${join(dir, 'validation')}`]);
    const val = make(join(root, 'val-only-2'), ['val/x/1.png']);
    expect((await openEvaluationSet(val, 224, ['x', 'y'])).items).toEqual([{ id: 'val/x/1.png', label: 0 }]);
    // A model that knows a person named "val": the folder is one of people.
    const people = make(join(root, 'person-val'), ['val/1.png', 'val/2.png', 'x/1.png', 'x/2.png']);
    const ev2 = await openEvaluationSet(people, 224, ['val', 'x'], { validationSplit: 0.5, seed: 1 });
    expect(ev2.items.map((i) => [i.id.split('/')[0], i.label])).toEqual([['val', 0], ['x', 1]]);
    // One person: the files a train of it held back (training still needs two).
    const solo = make(join(root, 'solo-eval'), ['y/1.png', 'y/2.png']);
    const ev3 = await openEvaluationSet(solo, 224, ['x', 'y'], { validationSplit: 0.5, seed: 1 });
    expect(ev3.items).toHaveLength(1);
    expect(ev3.items[0]).toMatchObject({ label: 1 });
    await expect(openTrainingSet(solo, 224)).rejects.toThrow(/only one person \("y"\)/);
    // A person the model does not know, even one with no photo held back.
    const stranger = make(join(root, 'stranger'), ['x/1.png', 'x/2.png', 'z/1.png']);
    await expect(openEvaluationSet(stranger, 224, ['x', 'y'], { validationSplit: 0.5, seed: 1, onWarning })).rejects.toThrow(/stranger[/\\]z: "z" is not one of the people this model was trained on \(x, y\)/);
    await expect(openEvaluationSet(join(root, 'val-only-2', 'val', 'x'), 224, ['x'])).rejects.toThrow(/no person folders/);
  });

  it('person folders: only photo files are read, by extension of any case; sidecars, Thumbs.db and notes are left out unwarned', async () => {
    const warnings: string[] = [];
    const dir = make(join(root, 'sidecars'), ['a/1.jpg', 'a/1.jpg.xmp', 'a/Thumbs.db', 'a/2.HEIC', 'a/3.pgm', 'b/1.PNG', 'b/notes.txt', 'b/sub/2.webp', 'b/sub/desktop.ini']);
    const people = await listPeople(dir, { onWarning: (m) => warnings.push(m) });
    expect([...people.values()].flat().map((f) => relative(dir, f))).toEqual(['a/1.jpg', 'a/2.HEIC', 'a/3.pgm', 'b/1.PNG', 'b/sub/2.webp']);
    expect(warnings).toEqual([]);
    // A folder of sidecars alone has no photos: an error naming what it holds, as an empty one is.
    make(join(dir, 'c'), ['1.jpg.xmp', 'notes.txt']);
    await expect(openTrainingSet(dir, 224)).rejects.toThrow(`${join(dir, 'c')}: no photos in this person's folder (only 1.jpg.xmp, notes.txt); add photos or remove the folder`);
  });

  it('clear errors: missing folder, empty person folder, one person, no people', async () => {
    await expect(openTrainingSet(join(root, 'nope'), 224)).rejects.toThrow(/nope: data folder does not exist/);
    const empty = make(join(root, 'empty'), ['a/1.jpg', 'b/1.jpg']);
    mkdirSync(join(empty, 'c'));
    await expect(openTrainingSet(empty, 224)).rejects.toThrow(/empty[/\\]c: this person's folder is empty/);
    const one = make(join(root, 'one'), ['solo/1.jpg', 'solo/2.jpg']);
    await expect(openTrainingSet(one, 224)).rejects.toThrow(/only one person \("solo"\)/);
    const none = make(join(root, 'none'), ['loose.jpg']);
    await expect(openTrainingSet(none, 224)).rejects.toThrow(/no person folders/);
    await expect(openTrainingSet(join(none, 'loose.jpg'), 224)).rejects.toThrow(/not a folder/);
  });
});
