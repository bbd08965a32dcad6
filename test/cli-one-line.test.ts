// A photo's name holding a newline (or another control character) keeps each answer of
// identify, verify and embed on one line of their text output: the name is printed quoted with
// its escapes (oneLine), as cluster's and search's listings print it.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ORL } from './helpers/faces.ts';

const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');
const run = (args: string[]) => promisify(execFile)('node', [CLI, ...args], { maxBuffer: 1 << 24 });

let tmp: string;
let odd: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-one-line-'));
  odd = join(tmp, 'two\nlines.pgm');
  copyFileSync(join(ORL, 's1', '2.pgm'), odd);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const quoted = () => JSON.stringify(odd);

it('identify, verify and embed print the name quoted, one line for each answer', async () => {
  const gallery = join(tmp, 'gallery');
  await run(['enroll', gallery, '--person', 'Ann', join(ORL, 's1', '1.pgm'), join(ORL, 's1', '3.pgm')]);

  const identified = (await run(['identify', gallery, odd])).stdout.trimEnd().split('\n');
  expect(identified).toHaveLength(2);
  expect(identified[0]).toBe(`${quoted()}: 1 face`);

  const verified = (await run(['verify', odd, join(ORL, 's1', '4.pgm')])).stdout.trimEnd().split('\n');
  expect(verified).toHaveLength(1);
  expect(verified[0].startsWith(`${quoted()}  ${join(ORL, 's1', '4.pgm')}: `)).toBe(true);

  const embedded = (await run(['embed', odd])).stdout.trimEnd().split('\n');
  expect(embedded).toHaveLength(1);
  expect(embedded[0].startsWith(`${quoted()}: `)).toBe(true);
}, 180_000);
