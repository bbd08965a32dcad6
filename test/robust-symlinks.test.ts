// Symbolic links, as a user's folders have them: a person folder that is a link counts as a
// person (as image links always did), a link loop inside a folder given to predict is a
// warning naming the link instead of aborting the run, and each real folder is read once. A
// link that cannot be followed is answered in its place by the commands that answer every
// file (embed here). No GPU but in that one: the listing happens before the engine opens.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandImages } from '../src/cli/predict.ts';
import { openTrainingSet } from '../src/train/dataset-node.ts';
import { ORL } from './helpers/faces.ts';
import { facegpu } from './helpers/train-data.ts';

const tmp = mkdtempSync(join(tmpdir(), 'facegpu-links-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function people(dir: string, names: string[], per = 2): void {
  for (const n of names) {
    mkdirSync(join(dir, n), { recursive: true });
    for (let i = 1; i <= per; i++) writeFileSync(join(dir, n, `${i}.pgm`), `P5 2 2 255\n\x01\x02\x03\x04# ${dir}/${n}/${i}`); // unique bytes
  }
}

describe('symbolic links', () => {
  it('train counts a person folder that is a link, and follows image links', async () => {
    const orl = join(tmp, 'orl');
    people(orl, ['s1', 's2', 's3']);
    const data = join(tmp, 'data');
    people(data, ['a', 'b']);
    symlinkSync('../orl/s3', join(data, 'c'));
    symlinkSync('../../orl/s1/1.pgm', join(data, 'a', 'linked.pgm'));
    const warnings: string[] = [];
    const set = await openTrainingSet(data, 0, { validationSplit: 0, onWarning: (m: string) => warnings.push(m) } as never);
    expect(set.classes).toEqual(['a', 'b', 'c']);
    expect(set.train.filter((i) => i.label === 2).map((i) => i.id)).toEqual(['c/1.pgm', 'c/2.pgm']);
    expect(set.train.map((i) => i.id)).toContain('a/linked.pgm');
    expect(warnings).toEqual([]);
  });

  it('a link loop inside a person folder is a warning naming the link, not more photos', async () => {
    const data = join(tmp, 'loopdata');
    people(data, ['a', 'b']);
    symlinkSync('..', join(data, 'a', 'up'));
    const warnings: string[] = [];
    const { listPeople } = await import('../src/train/dataset-node.ts');
    const p = await listPeople(data, { onWarning: (m) => warnings.push(m) });
    expect(p.get('a')!.map((f) => f.slice(data.length + 1))).toEqual(['a/1.pgm', 'a/2.pgm']);
    expect(warnings).toEqual([`${join(data, 'a', 'up')}: symbolic link loop (leads back to ${data}); not followed`]);
  });

  it('expandImages visits each real folder once, reports a loop of folders as a warning, and lists a broken link in its place', async () => {
    const dir = join(tmp, 'photos');
    mkdirSync(join(dir, 'a'), { recursive: true });
    writeFileSync(join(dir, 'a', '1.pgm'), 'x');
    symlinkSync('..', join(dir, 'a', 'up')); // a/up -> photos: a loop
    symlinkSync('a', join(dir, 'b')); // b -> a: the same real folder again
    symlinkSync('nowhere', join(dir, 'broken.jpg'));
    symlinkSync('nowhere', join(dir, 'broken.xmp')); // not a photo's name: left out as a file would be
    const warnings: string[] = [];
    const files = await expandImages([dir], { onWarning: (m) => warnings.push(m) });
    // The broken link is answered by whoever reads the files (below), so not warned of here.
    expect(files).toEqual([join(dir, 'a', '1.pgm'), join(dir, 'broken.jpg')]);
    expect(warnings).toEqual([`${join(dir, 'a', 'up')}: symbolic link loop (leads back to ${dir}); not followed`]);
  });

  it('embed on a folder: a broken link and a link to itself are answered in their places, exit 2', async () => {
    const dir = join(tmp, 'links');
    mkdirSync(dir);
    symlinkSync(join(ORL, 's1', '1.pgm'), join(dir, 'a.pgm'));
    symlinkSync('nowhere.jpg', join(dir, 'b.jpg'));
    symlinkSync('c.jpg', join(dir, 'c.jpg'));
    const r = await facegpu(['embed', dir, '--json']);
    expect(r.code, r.stderr).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.map((x: { file: string }) => x.file)).toEqual(['a.pgm', 'b.jpg', 'c.jpg'].map((f) => join(dir, f)));
    expect(out[0].embedding).toHaveLength(1024);
    expect(out.slice(1)).toEqual([
      { file: join(dir, 'b.jpg'), error: 'broken symbolic link' },
      { file: join(dir, 'c.jpg'), error: 'symbolic link loop' },
    ]);
    expect(r.stderr).toContain(`facegpu: warning: skipped ${join(dir, 'b.jpg')}: broken symbolic link\n`);
  });

  it('predict on a folder with a link loop warns and goes on (here to the missing model)', async () => {
    const dir = join(tmp, 'loop');
    mkdirSync(join(dir, 'a'), { recursive: true });
    writeFileSync(join(dir, 'a', '1.pgm'), 'x');
    symlinkSync('..', join(dir, 'a', 'up'));
    const r = await facegpu(['predict', join(tmp, 'no-model'), dir]);
    expect(r.stderr).toContain(`facegpu: warning: ${join(dir, 'a', 'up')}: symbolic link loop`);
    expect(r.stderr).not.toContain('no such file or folder');
    expect(r.stderr).toContain('model directory does not exist');
  });
});
