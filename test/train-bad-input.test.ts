// `facegpu train / predict / eval` on bad input, run as a user would: unreadable files are
// skipped with a warning naming them, bad folders and mismatched models are clear errors,
// and a failed train leaves no model directory behind.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CELEB } from './helpers/faces.ts';
import { CLI, facegpu, orlSubset } from './helpers/train-data.ts';

let tmp: string;
let data: string;
let model: string;
let corrupt: string;
let text: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-bad-'));
  data = orlSubset(join(tmp, 'data'), 3, 4);
  // A JPEG cut short and a text file that claims to be a JPEG.
  const madonna = join(CELEB, 'train', 'madonna');
  const jpeg = readFileSync(join(madonna, readdirSync(madonna).sort()[0]));
  corrupt = join(data, 's1', 'corrupt.jpg');
  writeFileSync(corrupt, jpeg.subarray(0, jpeg.length >> 1));
  text = join(data, 's2', 'notes.jpg');
  writeFileSync(text, 'not a photo, just some notes\n');
  model = join(tmp, 'model');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('train with unreadable files', () => {
  it('skips a corrupt image and a text file named .jpg, naming each, and trains on the rest', async () => {
    const r = await facegpu(['train', data, '--out', model, '--epochs', '2', '--validation-split', '0.25', '--seed', '3']);
    expect(r.stderr).toContain(`skipped ${corrupt}: cannot decode image`);
    expect(r.stderr).toContain(`skipped ${text}: not an image`);
    // No terminal: no bars, so no blank lines opened below them for the warnings.
    expect(r.stderr.split('\n').slice(0, -1)).not.toContain('');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^epoch 1\/2  loss \d+\.\d{4}  acc \d\.\d{4}  val_loss \d+\.\d{4}  val_acc \d\.\d{4}/m);
    const meta = JSON.parse(readFileSync(join(model, 'facegpu.json'), 'utf8'));
    expect(meta.labels).toEqual(['s1', 's2', 's3']);
    expect(meta.split.skipped.map((s: { id: string }) => s.id).sort()).toEqual(['s1/corrupt.jpg', 's2/notes.jpg']);
    expect(meta.split.train.length + meta.split.validation.length).toBe(12);
    expect(meta.metrics.status).toBe('complete');
    expect(readdirSync(model).sort()).toEqual(['facegpu.json', 'model.json', 'weights.bin']);
  });

  it('on a terminal the phases draw progress bars, and --no-progress leaves them out', async () => {
    // script(1) gives the command a terminal; what it wrote comes back on stdout.
    const onTerminal = async (...extra: string[]) => {
      const args = [CLI, 'train', data, '--out', join(tmp, 'tty-model'), '--epochs', '1', '--crop', 'none', ...extra];
      const line = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      const { stdout } = await promisify(execFile)('script', ['-qefc', line, '/dev/null'], { timeout: 600_000 });
      return stdout;
    };
    const bars = await onTerminal();
    expect(bars).toContain('saved ');
    expect(bars).toMatch(/descriptors \(train\) +\|[\u2588\u2591]+\| \d+\/\d+ images/);
    const plain = await onTerminal('--no-progress');
    expect(plain).toContain('saved ');
    expect(plain).not.toMatch(/[\u2588\u2591]/);
  });

  it('predict names the unreadable file, predicts the rest, and applies --threshold', async () => {
    const good = join(data, 's3', '1.pgm');
    const r = await facegpu(['predict', model, good, corrupt, '--json', '--top', '2']);
    expect(r.stderr).toContain(`skipped ${corrupt}`);
    expect(r.code).toBe(2);
    const [p, unread, ...rest] = JSON.parse(r.stdout);
    expect(rest).toEqual([]);
    expect(unread).toEqual({ file: corrupt, error: expect.stringContaining('cannot decode image') }); // in its place, not left out
    expect(p.file).toBe(good);
    expect(['s1', 's2', 's3']).toContain(p.top[0].label);
    expect(p.top).toHaveLength(2);
    expect(p.top[0].probability).toBe(p.probability);
    // The default threshold (DEFAULT_THRESHOLD) names the best only when it is that sure.
    expect(p.label).toBe(p.probability >= 0.99 ? p.top[0].label : 'unknown');
    expect(p.probability).toBeLessThan(1);
    const t = await facegpu(['predict', model, good, '--json', '--threshold', String((p.probability + 1) / 2)]);
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout)[0]).toMatchObject({ label: 'unknown', probability: p.probability });
    // Every file unreadable: each still answered in its place, exit 2 as for one.
    const none = await facegpu(['predict', model, corrupt, text, '--json']);
    expect(none.code, none.stderr).toBe(2);
    expect(JSON.parse(none.stdout)).toEqual([
      { file: corrupt, error: expect.stringContaining('cannot decode image') },
      { file: text, error: expect.stringContaining('not an image') },
    ]);
    expect(none.stderr).toContain('facegpu: nothing predicted: all 2 files were skipped');
  });

  it('eval --json prints accuracy, classes, confusion and per-class scores for the held-back files', async () => {
    const r = await facegpu(['eval', model, data, '--json']);
    // The held-back text file is named and the others scored: exit status 2.
    expect(r.stderr).toContain(`skipped ${text}: not an image`);
    expect(r.code, r.stderr).toBe(2);
    const e = JSON.parse(r.stdout);
    // Issue #3's keys ({"accuracy", "classes", "confusion", "perClass"}) and the ones added since, no others.
    expect(Object.keys(e).sort()).toEqual(['accuracy', 'classes', 'confusion', 'images', 'noFace', 'noFaceFiles', 'perClass', 'skipped', 'source']);
    expect(e.skipped).toEqual([{ file: text, error: expect.stringMatching(/^not an image/) }]);
    const meta = JSON.parse(readFileSync(join(model, 'facegpu.json'), 'utf8'));
    expect(e.classes).toEqual(['s1', 's2', 's3']);
    expect(e.confusion).toHaveLength(3);
    const total = e.confusion.flat().reduce((a: number, b: number) => a + b, 0);
    expect(total).toBe(meta.split.validation.length);
    const diag = e.confusion.reduce((s: number, row: number[], i: number) => s + row[i], 0);
    expect(e.accuracy).toBeCloseTo(diag / total, 10);
    expect(Object.keys(e.perClass)).toEqual(['s1', 's2', 's3']);
  });
});

describe('eval: the folders it reads, photos without a face, unreadable files', () => {
  /** <dir>/<sub>/<person>/<files> from ORL photos `${person}/${i}.pgm` of `data`. */
  const folder = (name: string, sub: string, people: Record<string, number[]>) => {
    const dir = join(tmp, name);
    for (const [person, photos] of Object.entries(people)) {
      mkdirSync(join(dir, sub, person), { recursive: true });
      for (const i of photos) copyFileSync(join(data, person, `${i}.pgm`), join(dir, sub, person, `${i}.pgm`));
    }
    return dir;
  };
  /** A plain grey PGM: BlazeFace finds no face in it. */
  const noFacePhoto = (file: string) => writeFileSync(file, Buffer.concat([Buffer.from('P5\n92 112\n255\n'), Buffer.alloc(92 * 112, 128)]));
  const counted = (e: { confusion: number[][]; noFace: number[] }) => e.confusion.flat().reduce((a, b) => a + b, 0) + e.noFace.reduce((a, b) => a + b, 0);

  it('reads <data>/validation/ with no train/ beside it, and one person is enough', async () => {
    const dir = folder('eval-validation-only', 'validation', { s2: [1, 2] });
    const r = await facegpu(['eval', model, dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e.source).toBe(join(dir, 'validation'));
    expect(e.classes).toEqual(['s1', 's2', 's3']); // the model's classes, all of them
    expect(e.images).toBe(2);
    expect(e.perClass.s2.support).toBe(2);
    expect(e.perClass.s1.support).toBe(0);
    // val/ alike, in the text report too.
    const v = await facegpu(['eval', model, folder('eval-val-only', 'val', { s1: [1], s3: [2] })]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^evaluated on .*eval-val-only\/val$/m);
    expect(v.stdout).toMatch(/^accuracy [\d.]+% \(\d\/2\)$/m);
  });

  it('a folder of one person: the files a train of it held back', async () => {
    const dir = folder('eval-solo', '.', { s3: [1, 2, 3, 4] });
    const r = await facegpu(['eval', model, dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e.source).toBe('files held back by validation split 0.25, seed 3');
    expect(e.images).toBe(1); // round(4 * 0.25)
    expect(e.perClass.s3.support).toBe(1);
  });

  it('a person the model does not know is an error naming them, whatever the layout', async () => {
    for (const [name, sub] of [['eval-stranger', 'validation'], ['eval-stranger-flat', '.']]) {
      const dir = folder(name, sub, { s1: [1, 2, 3, 4] });
      cpSync(join(dir, sub, 's1'), join(dir, sub, 's7'), { recursive: true });
      const r = await facegpu(['eval', model, dir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${join(dir, sub, 's7')}: "s7" is not one of the people this model was trained on (s1, s2, s3)`);
    }
  });

  it('a photo with no face is a miss, listed, as predict calls it unknown', async () => {
    const dir = folder('eval-no-face', 'validation', { s1: [1], s2: [1] });
    const grey = join(dir, 'validation', 's2', 'grey.pgm');
    noFacePhoto(grey);
    const p = await facegpu(['predict', model, grey, '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toEqual([{ file: grey, label: 'unknown', probability: 0, top: [], faces: [] }]);
    const r = await facegpu(['eval', model, dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${grey}: no face found; counted as a miss`);
    const e = JSON.parse(r.stdout);
    expect(e.noFaceFiles).toEqual([grey]);
    expect(e.noFace).toEqual([0, 1, 0]);
    expect(e.images).toBe(3);
    expect(counted(e)).toBe(3);
    expect(e.confusion[1].reduce((a: number, b: number) => a + b, 0)).toBe(1); // s2's other photo only
    expect(e.perClass.s2.support).toBe(2);
    expect(e.perClass.s2.recall).toBeLessThanOrEqual(0.5);
    const diag = e.confusion.reduce((s: number, row: number[], i: number) => s + row[i], 0);
    expect(e.accuracy).toBeCloseTo(diag / 3, 10);
    const t = await facegpu(['eval', model, dir]);
    expect(t.stdout).toContain('no face found in 1 of 3 photos: each counted as a miss');
    expect(t.stdout).toMatch(/^s2 +\d+ +\d+ +\d+ +1$/m); // the no-face column
  });

  it('an empty file: named on stderr, the others scored, exit status 2', async () => {
    const dir = folder('eval-empty-file', 'validation', { s1: [1, 2], s3: [1] });
    const empty = join(dir, 'validation', 's1', 'empty.jpg');
    writeFileSync(empty, '');
    const r = await facegpu(['eval', model, dir, '--json']);
    expect(r.stderr).toContain(`skipped ${empty}: empty file`);
    expect(r.code).toBe(2);
    const e = JSON.parse(r.stdout);
    expect(e.images).toBe(3);
    expect(e.skipped).toEqual([{ file: empty, error: expect.stringMatching(/^empty file/) }]);
  });
});

describe('clear errors', () => {
  const expectError = async (args: string[], message: RegExp, out: string) => {
    const r = await facegpu(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(out, '..')).filter((n) => n.startsWith(`.${out.split('/').pop()}.`))).toEqual([]);
  };

  it('a data folder that does not exist', async () => {
    const out = join(tmp, 'm-missing');
    await expectError(['train', join(tmp, 'nowhere'), '--out', out], /facegpu: .*nowhere: data folder does not exist/, out);
  });

  it('an empty person folder', async () => {
    const dir = orlSubset(join(tmp, 'with-empty'), 2, 2);
    mkdirSync(join(dir, 's9'));
    const out = join(tmp, 'm-empty');
    await expectError(['train', dir, '--out', out], /s9: this person's folder is empty/, out);
  });

  it('only one person', async () => {
    const dir = orlSubset(join(tmp, 'solo'), 1, 3);
    const out = join(tmp, 'm-solo');
    await expectError(['train', dir, '--out', out], /only one person \("s1"\); a recognizer needs at least two people/, out);
  });

  it('a person whose every image is unreadable', async () => {
    const dir = orlSubset(join(tmp, 'unreadable'), 2, 3);
    mkdirSync(join(dir, 's5'));
    writeFileSync(join(dir, 's5', 'a.jpg'), 'text');
    copyFileSync(join(dir, 's5', 'a.jpg'), join(dir, 's5', 'b.png'));
    const out = join(tmp, 'm-unreadable');
    await expectError(['train', dir, '--out', out, '--epochs', '1'], /no readable training image for "s5"/, out);
  });

  it('a model directory made with another backbone', async () => {
    const other = join(tmp, 'other-backbone');
    mkdirSync(other);
    for (const f of readdirSync(model)) copyFileSync(join(model, f), join(other, f));
    const meta = JSON.parse(readFileSync(join(other, 'facegpu.json'), 'utf8'));
    meta.backbone.weightsSha256 = 'f'.repeat(64);
    writeFileSync(join(other, 'facegpu.json'), JSON.stringify(meta));
    for (const args of [['predict', other, join(data, 's1', '1.pgm')], ['eval', other, data]]) {
      // Without --backbone, the backbone is looked for by its sha256 (weights/face, the recorded path, weights/*).
      const r = await facegpu(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the backbone this model was trained on \("face", weights sha256 ffffffffffff…\) is not in .*; pass its folder with --backbone <dir>/);
      const forced = await facegpu([...args, '--backbone', 'face']);
      expect(forced.code).toBe(1);
      expect(forced.stderr).toMatch(/this model was trained on backbone "face" \(weights sha256 ffffffffffff…\), but the backbone in use is "face"/);
    }
  });

  it('--out naming a folder that is not a model: refused, left untouched', async () => {
    const dir = orlSubset(join(tmp, 'precious'), 2, 2);
    const r = await facegpu(['train', data, '--out', dir, '--epochs', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/precious: exists and is not a facegpu model directory \(no facegpu\.json\); refusing to replace it/);
    expect(readdirSync(dir).sort()).toEqual(['s1', 's2']);
    expect(readdirSync(join(dir, 's1')).sort()).toEqual(['1.pgm', '2.pgm']);
  });

  it('said, not silently left out: --validation-split beside a val/ folder, files beside the person folders, a person named unknown', async () => {
    // Both told before the refusal of --out (a folder that is not a model), so nothing runs.
    const split = join(tmp, 'own-val');
    orlSubset(join(split, 'train'), 2, 2);
    orlSubset(join(split, 'val'), 2, 1);
    const notModel = orlSubset(join(tmp, 'not-a-model'), 2, 1);
    const r = await facegpu(['train', split, '--out', notModel, '--validation-split', '0.3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`facegpu: warning: --validation-split 0.3 is not used: ${split} has its own validation folder, which is used instead`);
    const d = await facegpu(['train', split, '--out', notModel]);
    expect(d.stderr).not.toContain('--validation-split');
    expect(d.stderr).not.toContain('not read');
    // A second validation folder and a person's folder beside train/: said, not left out silently.
    orlSubset(join(split, 'validation'), 2, 1);
    orlSubset(join(split, 's9-beside'), 1, 1);
    const b = await facegpu(['train', split, '--out', notModel]);
    expect(b.stderr).toContain(`facegpu: warning: ${split}: 2 entries beside train/ and validation/ are not read (s9-beside, val); a train/ and validation/ layout reads only those two`);
    const loose = orlSubset(join(tmp, 'loose'), 2, 2);
    copyFileSync(join(loose, 's1', '1.pgm'), join(loose, 'x.pgm'));
    writeFileSync(join(loose, 'notes.txt'), 'who is who');
    const l = await facegpu(['train', loose, '--out', notModel]);
    expect(l.code).toBe(1);
    expect(l.stderr).toContain(`facegpu: warning: ${loose}: 2 files beside the person folders are not read (notes.txt, x.pgm); a person's photos go in ${join(loose, '<person>')}/`);
    expect(l.stderr).not.toContain('named "');
    // A person named as predict's and identify's answer for a face they cannot name.
    const named = orlSubset(join(tmp, 'named'), 2, 2);
    renameSync(join(named, 's2'), join(named, 'Unknown'));
    const u = await facegpu(['train', named, '--out', notModel]);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain(`facegpu: warning: ${named}: a person folder named "Unknown"; predict also answers "unknown" for a face below --threshold, so its answers for this person look the same (rename the folder to tell them apart)`);
    const e = await facegpu(['enroll', notModel, named]);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('facegpu: warning: a person named "Unknown": identify prints "unknown" for a face it cannot name (null in --json)');
  });

  it('a folder that is not a model directory', async () => {
    const r = await facegpu(['predict', data, join(data, 's1', '1.pgm')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`facegpu: ${data}: not a model folder (no facegpu.json; facegpu train <data> --out <folder> writes one)`);
  });
});
