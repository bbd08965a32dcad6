// Indexing through workers: ORL and 5-celebrity-faces (518 photos) indexed by two `facegpu
// worker` processes through a Redis of the test's own, one worker killed with SIGKILL in the
// middle of a batch. Every photo must be stored exactly once (its batch retried by the other
// worker), and a second run must find nothing to do and give the workers no work.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CELEB, ORL } from './helpers/faces.ts';
import { facesStoredTwice } from './helpers/library-checks.ts';
import { writeGroupPhoto } from './helpers/group-photo.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');

interface Worker {
  proc: ChildProcess;
  log: string;
  /** Resolves when the log matches. */
  when(re: RegExp): Promise<RegExpMatchArray>;
}

function startWorker(url: string): Worker {
  const proc = spawn('node', [CLI, 'worker', '--queue', url, '--stalled-seconds', '3'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const w: Worker = {
    proc,
    log: '',
    when: (re) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = w.log.match(re);
          if (m) {
            proc.stderr!.off('data', check);
            resolve(m);
          }
        };
        proc.stderr!.on('data', check);
        proc.once('exit', () => reject(new Error(`worker exited before ${re}: ${w.log.slice(-2000)}`)));
        check();
      }),
  };
  proc.stderr!.on('data', (d) => (w.log += d.toString()));
  return w;
}

let tmp: string;
let redis: TestRedis;
const workers: Worker[] = [];
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-queue-'));
  redis = await startRedis();
});
afterAll(async () => {
  for (const w of workers) if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('index --queue with two workers, one killed mid-batch', () => {
  it('stores every one of the 518 photos exactly once; a second run does no work', async () => {
    const photos = join(tmp, 'photos');
    mkdirSync(photos);
    symlinkSync(ORL, join(photos, 'orl'));
    symlinkSync(CELEB, join(photos, 'celeb'));
    const gallery = join(tmp, 'gallery');
    const [a, b] = [startWorker(redis.url), startWorker(redis.url)];
    workers.push(a, b);
    await Promise.all([a.when(/waiting for batches/), b.when(/waiting for batches/)]);

    const run = execFile('node', [CLI, 'index', photos, '--gallery', gallery, '--queue', redis.url, '--batch-size', '8', '--json', '--no-progress'], { maxBuffer: 64 << 20 });
    let out = '';
    run.stdout!.on('data', (d) => (out += d));
    const ran = new Promise<number>((resolve) => run.once('exit', (code) => resolve(code ?? -1)));

    // Worker a: one batch done, the next taken: killed in the middle of it.
    await a.when(/batch \S+: \d+ photos in/);
    const [, inFlight] = await a.when(/batch (\S+): \d+ photos taken[\s\S]*batch (\S+): \d+ photos taken/).then((m) => [m[0], m[2]]);
    a.proc.kill('SIGKILL');
    expect(await ran).toBe(0);
    const summary = JSON.parse(out);
    expect(summary).toMatchObject({ photos: 518, new: 518, changed: 0, removed: 0, failed: 0 });
    // The batch a was killed in was done again by b.
    expect(b.log).toContain(`batch ${inFlight}: `);
    expect(b.log).toMatch(new RegExp(`batch ${inFlight}: \\d+ photos in`));

    const stats = JSON.parse((await exec('node', [CLI, 'gallery', 'stats', gallery, '--json'])).stdout);
    expect(stats).toMatchObject({ photos: 518, faces: summary.faces });
    const db = new Database(join(gallery, 'library.sqlite'), { readonly: true });
    try {
      expect((db.prepare('SELECT COUNT(*) AS n FROM photos').get() as { n: number }).n).toBe(518);
      expect(facesStoredTwice(db)).toBe(0);
    } finally {
      db.close();
    }

    const logged = b.log.length;
    const again = JSON.parse((await exec('node', [CLI, 'index', photos, '--gallery', gallery, '--queue', redis.url, '--json', '--no-progress'])).stdout);
    expect(again).toMatchObject({ photos: 518, new: 0, changed: 0, removed: 0, skipped: 518, embedded: 0 });
    expect(b.log.slice(logged)).not.toMatch(/photos taken/);
  }, 1_200_000);
});

describe('index --queue --min-face', () => {
  it("a worker looks for small faces as the run asks: a group photo's 12 faces", async () => {
    const photos = join(tmp, 'group-photos');
    mkdirSync(photos);
    const group = await writeGroupPhoto(join(photos, 'group.png'), 120);
    const gallery = join(tmp, 'group-gallery');
    const worker = startWorker(redis.url);
    workers.push(worker);
    await worker.when(/waiting for batches/);
    const { stdout } = await exec('node', [CLI, 'index', photos, '--gallery', gallery, '--queue', redis.url, '--min-face', '80', '--json', '--no-progress'], { maxBuffer: 64 << 20 });
    expect(JSON.parse(stdout)).toMatchObject({ photos: 1, new: 1, embedded: 1, faces: 12 });
    const db = new Database(join(gallery, 'library.sqlite'), { readonly: true });
    const boxes = db.prepare('SELECT x, y, w, h FROM faces').all() as { x: number; y: number; w: number; h: number }[];
    db.close();
    expect(boxes.map((b) => group.placeOf([b.x, b.y, b.w, b.h])).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    // The run's pixel limit travels with the batch: a worker started without one refuses the
    // photo as the run would have, by the run's limit (IndexJobData.maxPixels).
    const { width = 0, height = 0 } = await sharp(join(photos, 'group.png')).metadata();
    const limit = width * height - 1;
    const limited = await exec('node', [CLI, '--max-pixels', String(limit), 'index', photos, '--gallery', join(tmp, 'group-limited'), '--queue', redis.url, '--json', '--no-progress']).catch((e) => e);
    expect(limited.code, limited.stderr).toBe(2);
    expect(JSON.parse(limited.stdout)).toMatchObject({ photos: 1, new: 1, embedded: 0, faces: 0 });
    expect(limited.stderr).toContain(`(${width * height}), above the limit of ${limit}`);
    worker.proc.kill('SIGTERM');
  }, 600_000);
});
