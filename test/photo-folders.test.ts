// Which files of a folder are taken as photos, and what is said when none is: JPEG's other
// names (.jfif, .jif, .jfi) are photos; a folder of files that are not (notes, names without
// an extension) says so in one line naming a few and the rule, not "no files" (embed, identify,
// predict). Also predict given something that is not a model folder, and identify's summary
// line in the singular.
import { notModels } from './helpers/not-models.ts';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandImages } from '../src/cli/predict.ts';
import { isPhotoFile } from '../src/fs-walk.ts';
import { ORL } from './helpers/faces.ts';
import { facegpu } from './helpers/train-data.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-photo-folders-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const RULE = 'photos are taken from folders by extension: .jpg, .jpeg, .jpe, .jfif, .jif, .jfi, .png,';

describe('photos in folders', () => {
  it("JPEG's other names are photos, in any case; sidecars and names without an extension are not", () => {
    for (const f of ['a.jfif', 'b.JIF', 'c.jfi', 'd.jpe', 'e.JPEG', 'f.tif']) expect(isPhotoFile(f), f).toBe(true);
    for (const f of ['IMG_0001', 'a.jpg.xmp', 'notes.txt', 'Thumbs.db', 'x.cr2']) expect(isPhotoFile(f), f).toBe(false);
  });

  it('a folder of .jfif files gives them', async () => {
    const dir = join(tmp, 'onlyjfif');
    mkdirSync(dir);
    await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).jpeg().toFile(join(dir, 'a.jfif'));
    expect(await expandImages([dir])).toEqual([join(dir, 'a.jfif')]);
  });

  it('a folder holding files but no photo: an error naming a few of them, why, and the rule', async () => {
    const dir = join(tmp, 'nophotos');
    mkdirSync(dir);
    for (const f of ['notes.txt', 'IMG_0001', 'a.cr2', 'b.xmp', '.hidden.jpg']) writeFileSync(join(dir, f), 'x');
    const err = await expandImages([dir]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(new RegExp(`^${dir}: no photo files \\(4 other files left out: IMG_0001 \\(no extension\\), a\\.cr2, b\\.xmp, \\.\\.\\.; `));
    expect(message).toContain(RULE);
    expect(message).toMatch(/; name a file to read it whatever its name\)$/);
    expect(message).not.toContain('\n');
    // One file left out: in the singular; an empty folder is said to be empty.
    const one = join(tmp, 'one-note');
    mkdirSync(one);
    writeFileSync(join(one, 'notes.txt'), 'x');
    await expect(expandImages([one])).rejects.toThrow(`${one}: no photo files (1 other file left out: notes.txt; ${RULE}`);
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    await expect(expandImages([empty])).rejects.toThrow(new RegExp(`^${empty}: no files$`));
    await expect(expandImages([empty, one])).rejects.toThrow(`no photo files in ${empty}, ${one} (1 other file left out: ${join(one, 'notes.txt')}; `);
  });

  it('a folder without photos named beside photos: a warning, the photos still given', async () => {
    const dir = join(tmp, 'warned');
    mkdirSync(dir);
    writeFileSync(join(dir, 'IMG_0002'), 'x');
    const photo = join(ORL, 's1', '1.pgm');
    const warnings: string[] = [];
    expect(await expandImages([photo, dir], { onWarning: (m) => warnings.push(m) })).toEqual([photo]);
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^${dir}: no photo files \\(1 other file left out: IMG_0002 \\(no extension\\); `))]);
  });

  it('embed, identify and predict say so in one line, exit 1, before any work', async () => {
    const dir = join(tmp, 'cli-nophotos');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const model = join(tmp, 'a-model');
    mkdirSync(model);
    writeFileSync(join(model, 'facegpu.json'), '{}');
    const gallery = join(tmp, 'a-gallery');
    mkdirSync(gallery);
    for (const args of [['embed', dir], ['identify', gallery, dir], ['predict', model, dir]]) {
      const r = await facegpu(args);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr, args[0]).toMatch(new RegExp(`^facegpu: ${dir}: no photo files \\(1 other file left out: notes\\.txt; photos are taken from folders by extension: [^\\n]*\\)\\n$`));
    }
  });
});

describe('predict and eval given what is not a model folder', () => {
  it('a file, a gallery, a data folder: each said in one line, exit 1', async () => {
    const photo = join(ORL, 's1', '1.pgm');
    const { file, gallery, data } = notModels(join(tmp, 'not-models'));
    for (const command of ['predict', 'eval']) {
      const said = async (model: string) => {
        const r = await facegpu(command === 'predict' ? ['predict', model, photo] : ['eval', model, data]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr.split('\n')).toHaveLength(2);
        return r.stderr.trim();
      };
      expect(await said(file)).toBe(`facegpu: ${file}: a file, not a model folder (facegpu train <data> --out <folder> writes one)`);
      expect(await said(gallery)).toBe(`facegpu: ${gallery}: a gallery, not a model folder: use facegpu identify ${gallery} <photos>`);
      expect(await said(data)).toBe(`facegpu: ${data}: not a model folder (no facegpu.json; facegpu train <data> --out <folder> writes one)`);
    }
  });
});

describe('identify summary', () => {
  it('one photo with one face is "1 photo, 1 face"', async () => {
    const data = join(tmp, 'enroll', 's1');
    mkdirSync(data, { recursive: true });
    symlinkSync(join(ORL, 's1', '1.pgm'), join(data, '1.pgm'));
    const gallery = join(tmp, 'summary-gallery');
    const enrolled = await facegpu(['enroll', gallery, join(tmp, 'enroll')]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const r = await facegpu(['identify', gallery, join(ORL, 's1', '2.pgm')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^facegpu: 1 photo, 1 face in [\d.]+ s; /m);
  }, 300_000);
});
