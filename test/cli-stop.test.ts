// Ctrl-C during `enroll` and `index`: a first SIGINT stops the work, keeps what was done, and
// says what is left: exit status 130 and `"left"` in --json, as each command's --help spells
// it. Sent once the command holds the gallery's lock (its stop handler is on by then), before
// any photo is done, so that what is left is all of it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockPathOf } from '../src/lock-node.ts';
import { ORL } from './helpers/faces.ts';

const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-stop-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Run the CLI, SIGINT it once `gallery`'s lock is held; its exit status and output. */
async function stoppedOnceLocked(args: string[], gallery: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const until = Date.now() + 120_000;
  while (!existsSync(lockPathOf(gallery)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  return { code: await exited, stdout, stderr };
}

describe('a first Ctrl-C', () => {
  it('enroll: stops before the photos not reached, saves the gallery, exit 130, "left" per person', async () => {
    const gallery = join(tmp, 'enrolled');
    const r = await stoppedOnceLocked(['enroll', gallery, '--person', 'Ann', ...[1, 2, 3].map((k) => join(ORL, 's1', `${k}.pgm`)), '--json'], gallery);
    expect(r.code, r.stderr).toBe(130);
    expect(JSON.parse(r.stdout)).toEqual([{ person: 'Ann', added: 0, skipped: [], left: 3 }]);
    expect(r.stderr).toContain('facegpu: stopped: 3 photos not enrolled; the same command again enrolls them');
    expect(existsSync(join(gallery, 'gallery.json'))).toBe(true);
  }, 180_000);

  it('index: stops before the batches not done, keeps the library, exit 130, "left" in the summary', async () => {
    const gallery = join(tmp, 'indexed');
    const r = await stoppedOnceLocked(['index', join(ORL, 's2'), '--gallery', gallery, '--json', '--no-progress'], gallery);
    expect(r.code, r.stderr).toBe(130);
    const summary = JSON.parse(r.stdout);
    expect(Object.keys(summary).sort()).toEqual(['changed', 'copied', 'embedded', 'faces', 'failed', 'left', 'new', 'photos', 'removed', 'seconds', 'skipped']);
    expect(summary).toMatchObject({ photos: 10, new: 10, embedded: 0, left: 10 });
    expect(r.stderr).toContain('facegpu: stopped: 10 photos not indexed; index again to do them');
  }, 180_000);
});
