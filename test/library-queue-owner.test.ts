// The owner's side of `index --queue` (runOnQueue) without a GPU: batches done by a stand-in
// worker (BullMQ through startWorker, answering at once) on a Redis of the test's own. Every
// batch is handed over exactly once, through the queue's events or, when every event is
// lost, through the slow sweep alone; a batch that failed once and then succeeded is a
// result, one refused is a failure named with its reason (a RemedyError's comes back whole,
// hint and all, though BullMQ keeps only a message); nothing of the run is left queued.
import { getEventListeners } from 'node:events';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME, runOnQueue, startWorker, type IndexJobResult, type WorkerHandle } from '../src/library/queue-node.ts';
import { RemedyError } from '../src/remedy.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
let worker: WorkerHandle;
/** Batches the stand-in worker has seen, by their first path: how many times. */
const tries = new Map<string, number>();

beforeAll(async () => {
  redis = await startRedis();
  worker = await startWorker(
    redis.url,
    async (data, refuse) => {
      const first = data.paths[0];
      const n = (tries.get(first) ?? 0) + 1;
      tries.set(first, n);
      if (first.includes('refused')) refuse(`cannot do ${first}`);
      if (first.includes('remedy')) refuse(new RemedyError(`cannot do ${first}`, ' (measure again)', { case: 'tuning-damaged' }));
      // A RemedyError on the first try, another error on the last: the failure is the last one's.
      if (first.includes('stale')) throw n === 1 ? new RemedyError(`first try of ${first}`, ' (measure again)', { case: 'tuning-damaged' }) : new Error('device lost');
      if (first.includes('flaky') && n === 1) throw new Error('device lost');
      return data.paths.map((path) => ({ path, size: 1, mtimeMs: 1, sha256: '0'.repeat(64), width: 1, height: 1, faces: [] }));
    },
    { stalledMs: 5000 },
  );
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await redis?.stop();
});

const data = (gallery: string) => ({ gallery, backbone: { id: 'face', sha256: 'a'.repeat(64) }, preprocessing: {} as never });

async function runAll(gallery: string, batches: string[][], opts: { sweepMs?: number; events?: boolean; signal?: AbortSignal }) {
  const results: { paths: readonly string[]; result: IndexJobResult }[] = [];
  const failed: { paths: readonly string[]; reason: string; error?: RemedyError }[] = [];
  await runOnQueue(redis.url, data(gallery), batches, { onResult: (paths, result) => void results.push({ paths, result }), onFailed: (paths, reason, error) => void failed.push({ paths, reason, error }) }, opts);
  return { results, failed };
}

async function leftovers(gallery: string): Promise<number> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAME, { connection: client });
  try {
    const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
    return jobs.filter((j) => j?.data?.gallery === gallery).length;
  } finally {
    await queue.close();
    client.disconnect();
  }
}

const batchesOf = (name: string, n: number) => Array.from({ length: n }, (_, i) => [`/${name}/${i}/a.jpg`, `/${name}/${i}/b.jpg`]);

/**
 * A Redis of its own and a stand-in worker on it that holds each batch until `release()`;
 * `seen`: the first path of each batch it took. `stop()` ends all three.
 */
async function heldWorker(opts: { onError?: (m: string) => void } = {}) {
  const lone = await startRedis();
  const client = new Redis(lone.url, { maxRetriesPerRequest: null });
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const seen: string[] = [];
  const w = await startWorker(
    lone.url,
    async (d) => {
      seen.push(d.paths[0]);
      await held;
      return d.paths.map((path) => ({ path, size: 1, mtimeMs: 1, sha256: '0'.repeat(64), width: 1, height: 1, faces: [] }));
    },
    opts,
  );
  return {
    url: lone.url,
    client,
    w,
    seen,
    release: () => release(),
    async stop() {
      release();
      client.disconnect();
      await w.close();
      await lone.stop();
    },
  };
}

describe('runOnQueue', () => {
  it('through the events: each batch once, a retried batch a result, a refused one named; no sweep needed', async () => {
    const batches = [...batchesOf('ev', 6), ['/ev/flaky/a.jpg'], ['/ev/refused/a.jpg', '/ev/refused/b.jpg']];
    // No sweep within the test's time limit: only the events can end the run (or the test times out).
    // A stop signal given and never used: the run takes its listener off when it ends.
    const stop = new AbortController();
    const r = await runAll('/g/events', batches, { sweepMs: 3_600_000, signal: stop.signal });
    expect(getEventListeners(stop.signal, 'abort')).toEqual([]);
    expect(r.results.map((x) => x.paths[0]).sort()).toEqual(batches.filter((b) => !b[0].includes('refused')).map((b) => b[0]).sort());
    for (const x of r.results) expect(x.result.photos.map((p) => p.path)).toEqual(x.paths);
    expect(r.failed).toEqual([{ paths: ['/ev/refused/a.jpg', '/ev/refused/b.jpg'], reason: 'cannot do /ev/refused/a.jpg' }]);
    expect(tries.get('/ev/flaky/a.jpg')).toBe(2);
    expect(await leftovers('/g/events')).toBe(0);
  }, 120_000);

  it('every event lost: the sweep alone hands over every batch', async () => {
    const batches = [...batchesOf('sw', 5), ['/sw/refused/a.jpg']];
    const r = await runAll('/g/sweep', batches, { sweepMs: 300, events: false });
    expect(r.results.map((x) => x.paths[0]).sort()).toEqual(batchesOf('sw', 5).map((b) => b[0]).sort());
    expect(r.failed).toEqual([{ paths: ['/sw/refused/a.jpg'], reason: 'cannot do /sw/refused/a.jpg' }]);
    expect(await leftovers('/g/sweep')).toBe(0);
  }, 120_000);

  it("a batch refused with a RemedyError: the owner gets it back whole; an earlier try's is not taken for a later failure", async () => {
    const r = await runAll('/g/remedy', [['/rm/remedy/a.jpg'], ['/rm/stale/a.jpg']], {});
    expect(r.results).toEqual([]);
    const [refused, stale] = [...r.failed].sort((a, b) => a.paths[0].localeCompare(b.paths[0]));
    expect(refused).toMatchObject({ paths: ['/rm/remedy/a.jpg'], reason: 'cannot do /rm/remedy/a.jpg (measure again)' });
    expect(refused.error).toBeInstanceOf(RemedyError);
    expect(refused.error).toMatchObject({ problem: 'cannot do /rm/remedy/a.jpg', remedy: ' (measure again)', hint: { case: 'tuning-damaged' }, message: refused.reason });
    expect(stale).toEqual({ paths: ['/rm/stale/a.jpg'], reason: 'device lost', error: undefined });
    expect(tries.get('/rm/stale/a.jpg')).toBe(3);
    expect(await leftovers('/g/remedy')).toBe(0);
  }, 120_000);

  it('Redis gone for good mid-run: the run fails in one line once its wait is up, instead of waiting forever', async () => {
    const lone = await startRedis(); // no worker on it: the batches wait
    const t = Date.now();
    const run = runOnQueue(lone.url, data('/g/lost'), batchesOf('lost', 3), { onResult: () => {}, onFailed: () => {} }, { lostMs: 2000 });
    await new Promise((r) => setTimeout(r, 1000));
    await lone.stop();
    await expect(run).rejects.toThrow(new RegExp(`^queue ${lone.url}: lost Redis \\((ECONNREFUSED|connection closed)\\) for 2 s; the batches stored so far are kept`));
    expect(Date.now() - t).toBeLessThan(20_000);
  }, 60_000);

  it("a worker whose Redis goes says so once, not at each of ioredis' retries", async () => {
    const lone = await startRedis();
    const said: string[] = [];
    const w = await startWorker(lone.url, async () => [], { onError: (m) => void said.push(m) });
    try {
      await lone.stop();
      await new Promise((r) => setTimeout(r, 4000));
      expect(said).toEqual([expect.stringMatching(new RegExp(`^lost Redis at ${lone.url} \\((ECONNREFUSED|ECONNRESET|Connection is closed\\.?)\\); reconnecting$`))]);
    } finally {
      await Promise.race([w.close(), new Promise((r) => setTimeout(r, 2000))]);
    }
  }, 60_000);

  it('a worker says whether a batch is in hand (what its Ctrl-C says it waits for)', async () => {
    const lone = await startRedis();
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const w = await startWorker(lone.url, async (d) => {
      await held;
      return d.paths.map((path) => ({ path, size: 1, mtimeMs: 1, sha256: '0'.repeat(64), width: 1, height: 1, faces: [] }));
    });
    try {
      expect(w.busy).toBe(false);
      const run = runOnQueue(lone.url, data('/g/busy'), batchesOf('busy', 1), { onResult: () => {}, onFailed: () => {} }, { sweepMs: 200 });
      const until = Date.now() + 20_000;
      while (!w.busy && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(w.busy).toBe(true);
      release();
      await run;
      expect(w.busy).toBe(false);
    } finally {
      await w.close();
      await lone.stop();
    }
  }, 60_000);

  it("a run whose owner is gone (stopped or killed): the batch in hand hands no faces back, the rest are left undone and removed", async () => {
    const said: string[] = [];
    const { url, client, w, seen, release, stop } = await heldWorker({ onError: (m) => void said.push(m) });
    try {
      const results: string[] = [];
      const failed: string[] = [];
      const run = runOnQueue(url, data('/g/gone'), batchesOf('gone', 3), { onResult: (p) => void results.push(p[0]), onFailed: (p, why) => void failed.push(`${p[0]}: ${why}`) }, { sweepMs: 200 });
      const until = Date.now() + 20_000;
      while (!w.busy && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(w.busy).toBe(true);
      // The owner's key expires as a killed owner's would: the run is over for the workers.
      const [key] = await client.keys(`${QUEUE_NAME}:owner:*`);
      expect(await client.get(key)).toBe('/g/gone');
      await client.del(key);
      release();
      await run;
      expect(seen).toEqual(['/gone/0/a.jpg']);
      expect(results).toEqual([]);
      expect(failed.sort()).toEqual([
        '/gone/0/a.jpg: the index of /g/gone that queued it ended while it was described (stopped or killed); its faces are not handed back',
        '/gone/1/a.jpg: no longer in the queue before it was done (Redis restarted without its data, or the job was removed); not stored, so the next run does it again',
        '/gone/2/a.jpg: no longer in the queue before it was done (Redis restarted without its data, or the job was removed); not stored, so the next run does it again',
      ]);
      expect(said.filter((m) => m.includes('ended'))).toHaveLength(1);
      // A run that ends takes its key with it.
      await runOnQueue(url, data('/g/after'), batchesOf('after', 1), { onResult: () => {}, onFailed: () => {} }, { sweepMs: 200 });
      expect(await client.keys(`${QUEUE_NAME}:owner:*`)).toEqual([]);
    } finally {
      await stop();
    }
  }, 60_000);

  it('stopped (a Ctrl-C): at once, its waiting batches taken off the queue, the batch in hand handing nothing back, its key gone', async () => {
    // The tester's case: Ctrl-C on `index --queue` left 12 batches queued, which a worker then
    // described for a run that no longer existed (and the next run described again).
    const { url, client, w, seen, release, stop: end } = await heldWorker();
    try {
      const stop = new AbortController();
      const results: string[] = [];
      const failed: string[] = [];
      const run = runOnQueue(url, data('/g/stop'), batchesOf('stop', 5), { onResult: (p) => void results.push(p[0]), onFailed: (p) => void failed.push(p[0]) }, { sweepMs: 60_000, signal: stop.signal });
      const until = Date.now() + 20_000;
      while (!w.busy && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(w.busy).toBe(true);
      stop.abort();
      // At once: the batch in hand is released only after the run has returned, and no sweep
      // comes within the test's time limit (60 s).
      await run;
      expect([results, failed]).toEqual([[], []]);
      expect(await client.keys(`${QUEUE_NAME}:owner:*`)).toEqual([]);
      const queue = new Queue(QUEUE_NAME, { connection: client });
      const waiting = async () => (await queue.getJobs(['waiting', 'delayed', 'prioritized'])).filter((j) => j?.data?.gallery === '/g/stop').length;
      expect(await waiting()).toBe(0);
      release();
      // The batch in hand ends; no other is taken.
      await new Promise((r) => setTimeout(r, 1000));
      expect(seen).toEqual(['/stop/0/a.jpg']);
      expect(await waiting()).toBe(0);
      await queue.close();
    } finally {
      await end();
    }
  }, 60_000);

  it('a batch queued by an owner from before owner keys is done', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection: client });
    try {
      await queue.add('photos', { ...data('/g/old'), run: 'old-run', paths: ['/old/0/a.jpg'] }, { jobId: 'old-run-0' });
      const until = Date.now() + 20_000;
      while ((await queue.getJobState('old-run-0')) !== 'completed' && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(await queue.getJobState('old-run-0')).toBe('completed');
      expect(tries.get('/old/0/a.jpg')).toBe(1);
    } finally {
      await (await queue.getJob('old-run-0'))?.remove().catch(() => {});
      await queue.close();
      client.disconnect();
    }
  }, 60_000);

  it('no batches: returns at once', async () => {
    const r = await runAll('/g/none', [], {});
    expect(r).toMatchObject({ results: [], failed: [] });
  }, 60_000);
});
