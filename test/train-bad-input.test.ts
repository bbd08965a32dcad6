// `facegpu train / predict / eval` on bad input, run as a user would: unreadable files are
// skipped with a warning naming them, bad folders and mismatched models are clear errors,
// and a failed train leaves no model directory behind.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CELEB } from './helpers/faces.ts';
import { facegpu, orlSubset } from './helpers/train-data.ts';

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
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^epoch 1\/2  loss \d+\.\d{4}  acc \d\.\d{4}  val_loss \d+\.\d{4}  val_acc \d\.\d{4}/m);
    const meta = JSON.parse(readFileSync(join(model, 'facegpu.json'), 'utf8'));
    expect(meta.labels).toEqual(['s1', 's2', 's3']);
    expect(meta.split.skipped.map((s: { id: string }) => s.id).sort()).toEqual(['s1/corrupt.jpg', 's2/notes.jpg']);
    expect(meta.split.train.length + meta.split.validation.length).toBe(12);
    expect(meta.metrics.status).toBe('complete');
    expect(readdirSync(model).sort()).toEqual(['facegpu.json', 'model.json', 'weights.bin']);
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
  });

  it('eval --json prints accuracy, classes, confusion and per-class scores for the held-back files', async () => {
    const r = await facegpu(['eval', model, data, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout);
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

  it('a folder that is not a model directory', async () => {
    const r = await facegpu(['predict', data, join(data, 's1', '1.pgm')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/facegpu\.json: cannot read the model description/);
  });
});
