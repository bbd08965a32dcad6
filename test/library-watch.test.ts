// Keeping a library indexed while its folder changes (watchLibrary, index --watch): a photo
// added, one copied in slowly (indexed once, whole), one deleted and a folder moved in each
// get a run; other files, hidden ones and the gallery's own writes (it sits inside the tree)
// start none; after close() nothing runs. The CLI prints a JSON line per run and stops on
// SIGINT with exit status 0, after the run under way; its folder gone, it says so and exits 1.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexSummary } from '../src/library/index-run-node.ts';
import { watchLibrary } from '../src/library/watch-node.ts';
import { lockPathOf } from '../src/lock-node.ts';
import { ORL } from './helpers/faces.ts';

const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-watch-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Wait until `done()` holds, or fail after `ms` naming `what`. */
async function until(done: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const counts = (s: IndexSummary) => ({ new: s.new, changed: s.changed, removed: s.removed, failed: s.failed.length, photos: s.photos });

describe('watchLibrary', () => {
  it('runs again for photos added (a slow copy once, whole), deleted and moved in; not for other files, hidden ones or its own writes', async () => {
    const root = join(tmp, 'photos');
    mkdirSync(root);
    copyFileSync(join(ORL, 's1', '1.pgm'), join(root, 'a.pgm'));
    copyFileSync(join(ORL, 's1', '2.pgm'), join(root, 'b.pgm'));
    const gallery = join(root, 'gallery'); // inside the tree: its saves must start no run
    const runs: IndexSummary[] = [];
    const errors: Error[] = [];
    const settleMs = 800;
    const w = await watchLibrary(root, gallery, { settleMs, onRun: (s) => runs.push(s), onRunError: (e) => errors.push(e) });
    try {
      expect(runs.map(counts)).toEqual([{ new: 2, changed: 0, removed: 0, failed: 0, photos: 2 }]);
      await sleep(3 * settleMs);
      expect(runs).toHaveLength(1);

      // Copied in two halves, the second 300 ms (under settleMs) after the first: one run, the whole photo.
      const bytes = readFileSync(join(ORL, 's2', '1.pgm'));
      writeFileSync(join(root, 'c.pgm'), bytes.subarray(0, bytes.length >> 1));
      await sleep(300);
      writeFileSync(join(root, 'c.pgm'), bytes);
      await until(() => runs.length === 2 && !w.running, 'the run for c.pgm');
      expect(counts(runs[1])).toEqual({ new: 1, changed: 0, removed: 0, failed: 0, photos: 3 });

      writeFileSync(join(root, 'notes.txt'), 'not a photo');
      copyFileSync(join(ORL, 's3', '1.pgm'), join(root, '.hidden.pgm'));
      await sleep(3 * settleMs);
      expect(runs).toHaveLength(2);

      unlinkSync(join(root, 'a.pgm'));
      await until(() => runs.length === 3 && !w.running, 'the run for a.pgm deleted');
      expect(counts(runs[2])).toEqual({ new: 0, changed: 0, removed: 1, failed: 0, photos: 2 });

      // A folder of photos moved in from outside the tree.
      const outside = join(tmp, 'trip');
      mkdirSync(outside);
      copyFileSync(join(ORL, 's4', '1.pgm'), join(outside, '1.pgm'));
      copyFileSync(join(ORL, 's4', '2.pgm'), join(outside, '2.pgm'));
      renameSync(outside, join(root, 'trip'));
      await until(() => runs.reduce((n, r) => n + r.new, 0) === 5 && !w.running, 'the runs for the folder moved in');
      expect(runs.at(-1)!.photos).toBe(4);
      expect(errors).toEqual([]);
    } finally {
      await w.close();
    }
    const before = runs.length;
    copyFileSync(join(ORL, 's5', '1.pgm'), join(root, 'late.pgm'));
    await sleep(3 * settleMs);
    expect(runs).toHaveLength(before);
  }, 300_000);

  it('the folder deleted and made again under its name (no event for it): the new one is watched, and its photos run', async () => {
    // The tester's case: `rm -rf lib7; mkdir lib7`, photos copied in, and 15 s later no run,
    // the process watching the old folder.
    const root = join(tmp, 'again');
    mkdirSync(root);
    copyFileSync(join(ORL, 's8', '1.pgm'), join(root, '1.pgm'));
    const runs: IndexSummary[] = [];
    const notices: string[] = [];
    const w = await watchLibrary(root, join(tmp, 'g-again'), { onRun: (s) => void runs.push(s), onRunError: () => {}, onNotice: (m) => void notices.push(m), settleMs: 300 });
    try {
      rmSync(root, { recursive: true });
      mkdirSync(root);
      copyFileSync(join(ORL, 's8', '2.pgm'), join(root, '2.pgm'));
      await until(() => notices.includes(`${root}: the folder was replaced by another of the same name; watching the new one`), 'the new folder watched', 60_000);
      await until(() => runs.some((r) => r.photos === 1 && r.removed === 1), 'a run over the new folder', 60_000);
      copyFileSync(join(ORL, 's8', '3.pgm'), join(root, '3.pgm'));
      await until(() => runs.at(-1)!.photos === 2, 'a run for a photo copied into the new folder', 60_000);
      expect(counts(runs.at(-1)!)).toEqual({ new: 1, changed: 0, removed: 0, failed: 0, photos: 2 });
    } finally {
      await w.close();
    }
  }, 180_000);

  it('a first run that fails rejects, and leaves nothing watching', async () => {
    const err = await watchLibrary(join(tmp, 'nowhere'), join(tmp, 'g2'), { onRun: () => {}, onRunError: () => {} }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/nowhere/);
  });
});

describe('index --watch', () => {
  it('prints a JSON line per run that did something, and stops on SIGINT with exit status 0', async () => {
    const root = join(tmp, 'cli-photos');
    mkdirSync(root);
    copyFileSync(join(ORL, 's6', '1.pgm'), join(root, '1.pgm'));
    const child = spawn('node', [CLI, 'index', root, '--gallery', join(tmp, 'cli-gallery'), '--watch', '--json', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { new: number; photos: number });
    try {
      await until(() => err.includes(`facegpu: watching ${root} for changes (Ctrl-C to stop)`), 'the first run', 120_000);
      expect(lines().map((l) => [l.new, l.photos])).toEqual([[1, 1]]);
      copyFileSync(join(ORL, 's6', '2.pgm'), join(root, '2.pgm'));
      await until(() => lines().length === 2, 'the second run', 60_000);
      expect(lines().map((l) => [l.new, l.photos])).toEqual([
        [1, 1],
        [1, 2],
      ]);
      // A Ctrl-C while a run works lets it finish (its summary printed), then stops: exit 0.
      for (const k of [3, 4, 5, 6, 7, 8, 9, 10]) copyFileSync(join(ORL, 's6', `${k}.pgm`), join(root, `${k}.pgm`));
      await until(() => existsSync(lockPathOf(join(tmp, 'cli-gallery'))), 'the third run to start', 60_000);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(err).toContain('facegpu: stopping after the run under way');
      expect(lines().map((l) => [l.new, l.photos])).toEqual([
        [1, 1],
        [1, 2],
        [8, 10],
      ]);
    } finally {
      child.kill('SIGKILL');
    }
  }, 300_000);

  it('the folder itself gone: one line saying so, exit status 1, not a silent end', async () => {
    const root = join(tmp, 'cli-gone');
    mkdirSync(root);
    copyFileSync(join(ORL, 's7', '1.pgm'), join(root, '1.pgm'));
    const child = spawn('node', [CLI, 'index', root, '--gallery', join(tmp, 'cli-gone-gallery'), '--watch', '--no-progress'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until(() => err.includes(`facegpu: watching ${root} for changes (Ctrl-C to stop)`), 'the first run', 120_000);
      rmSync(root, { recursive: true });
      expect(await exited).toBe(1);
      expect(err.trim().split('\n').at(-1)).toBe(`facegpu: ${root}: the folder is gone (deleted, renamed, or its drive unmounted); stopped watching it`);
    } finally {
      child.kill('SIGKILL');
    }
  }, 300_000);
});
