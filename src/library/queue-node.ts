// Indexing spread over workers (Node): the owner of a gallery puts batches of photo paths on a
// BullMQ queue in Redis; workers (any number, on any machine that sees the same paths) take a
// batch, find and describe its faces on their own WebGPU device, and hand the faces back as
// the job's result. BullMQ stores a job's result in the same atomic step that marks it done
// (its moveToFinished script), so a batch is acknowledged exactly when its faces are safe in
// Redis; a worker killed mid-batch stops renewing the job's lock and the job goes back to the
// queue for another worker (BullMQ's stalled-job check). The owner alone writes the gallery's
// store: it takes each finished job's faces, stores them in one transaction (a photo stored
// twice replaces its faces, so a retried batch cannot store a face twice), and only then
// removes the job. The store never sees two writers, and workers need no access to it.
import { createConnection } from 'node:net';
import { hostname } from 'node:os';
import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { FacePreprocessing } from '../faces/framing.ts';
import type { BackboneRef } from '../gallery/gallery-format.ts';
import type { WirePhotoFaces } from './photo-faces.ts';

/** One queue for every gallery: a worker needs nothing but the Redis address. */
export const QUEUE_NAME = 'facegpu-index';
/** Tries per batch (a worker killed mid-batch, a device lost) before it fails for good. */
export const JOB_ATTEMPTS = 3;

export interface IndexJobData {
  /** The run that queued it (a later run of the same gallery drops an earlier run's leftovers). */
  run: string;
  /** The owner's gallery (absolute path), for messages and tidying up. */
  gallery: string;
  backbone: BackboneRef;
  preprocessing: FacePreprocessing;
  paths: string[];
}

export interface IndexJobResult {
  worker: string;
  photos: WirePhotoFaces[];
}

/** A redis:// or rediss:// address, checked; a bad one is a one-line error naming it. */
export function parseQueueUrl(url: string, flag = 'queue'): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${flag} ${JSON.stringify(url)}: not a Redis address (redis://host:port)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`${flag} ${url}: not a Redis address (redis://host:port), the scheme is "${u.protocol}"`);
  if (!u.hostname) throw new Error(`${flag} ${url}: no host`);
  return u;
}

/** Can Redis be reached at all? Fails in `timeoutMs` with a one-line error, instead of ioredis retrying forever. */
export function probeRedis(url: string, timeoutMs = 3000, flag = 'queue'): Promise<void> {
  const u = parseQueueUrl(url, flag);
  const port = Number(u.port || 6379);
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: u.hostname, port });
    const fail = (why: string) => {
      sock.destroy();
      reject(new Error(`${flag} ${url}: cannot reach Redis (${why})`));
    };
    sock.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs / 1000} s`));
    sock.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    sock.once('connect', () => {
      sock.end();
      resolve();
    });
  });
}

/** A client per queue object (BullMQ needs its blocking reads on a connection of their own); closed by us. */
const connect = (url: string) => new Redis(url, { maxRetriesPerRequest: null });

export interface QueuedRun {
  /** Told each finished batch's result, one at a time (store it; the job is removed after). */
  onResult: (paths: readonly string[], result: IndexJobResult) => void | Promise<void>;
  /** Told each batch that failed for good, with why. */
  onFailed: (paths: readonly string[], reason: string) => void;
  /** Told once when no worker is listening after a while. */
  onNotice?: (message: string) => void;
}

/**
 * Queue the batches and wait until each is done (its result handed to onResult) or failed for
 * good. Leftovers of an earlier run of the same gallery still waiting in the queue are removed
 * first (their photos are in this run's batches again).
 */
export async function runOnQueue(url: string, data: Omit<IndexJobData, 'paths' | 'run'>, batches: readonly string[][], handlers: QueuedRun): Promise<void> {
  const clients = [connect(url), connect(url)];
  const queue = new Queue<IndexJobData, IndexJobResult>(QUEUE_NAME, { connection: clients[0] });
  const events = new QueueEvents(QUEUE_NAME, { connection: clients[1] });
  try {
    await events.waitUntilReady();
    for (const old of await queue.getJobs(['waiting', 'delayed', 'prioritized', 'completed', 'failed'])) {
      if (old?.data?.gallery === data.gallery) await old.remove().catch(() => {});
    }
    const run = `${hostname()}-${process.pid}-${Date.now()}`;
    const pending = new Map<string, string[]>();
    const jobs = batches.map((paths, i) => {
      const id = `${run}-${i}`;
      pending.set(id, [...paths]);
      return {
        name: 'photos',
        data: { ...data, run, paths: [...paths] },
        opts: { jobId: id, attempts: JOB_ATTEMPTS, backoff: { type: 'exponential' as const, delay: 1000 }, removeOnComplete: false, removeOnFail: false },
      };
    });
    if (!jobs.length) return;
    let wake: () => void = () => {};
    const woken = () => new Promise<void>((r) => (wake = r));
    events.on('completed', () => wake());
    events.on('failed', () => wake());
    await queue.addBulk(jobs);
    const started = Date.now();
    let warned = false;
    while (pending.size) {
      const timer = new Promise<void>((r) => setTimeout(r, 1000));
      await Promise.race([woken(), timer]);
      const done = (await queue.getJobs(['completed', 'failed'], 0, -1)).filter((j): j is Job<IndexJobData, IndexJobResult> => !!j && pending.has(j.id!));
      for (const job of done) {
        const paths = pending.get(job.id!)!;
        if (job.finishedOn && job.returnvalue && !job.failedReason) {
          await handlers.onResult(paths, job.returnvalue);
        } else {
          handlers.onFailed(paths, job.failedReason || 'failed');
        }
        pending.delete(job.id!);
        await job.remove().catch(() => {});
      }
      if (!warned && pending.size && Date.now() - started > 10_000 && (await queue.getWorkersCount()) === 0) {
        warned = true;
        handlers.onNotice?.(`no worker is taking jobs from ${url}: start one with \`facegpu worker --queue ${url}\``);
      }
    }
  } finally {
    await events.close();
    await queue.close();
    for (const c of clients) c.disconnect();
  }
}

export interface WorkerHandle {
  /** Stop taking jobs, finish the one in hand, disconnect. */
  close(): Promise<void>;
  /** Resolves when the worker has closed. */
  closed: Promise<void>;
}

export interface WorkerOptions {
  /**
   * A batch whose worker stops answering for this long goes back to the queue (BullMQ's job
   * lock and stalled-job check). Default 30 s: long enough for a batch on a CPU adapter.
   */
  stalledMs?: number;
  /** Told when a batch is taken, and when it is done. */
  onStart?: (job: { id: string; gallery: string; photos: number; worker: string }) => void;
  onJob?: (job: { id: string; gallery: string; photos: number; ms: number; worker: string }) => void;
  onError?: (message: string) => void;
}

/** A processor for one batch; throws UnrecoverableError-worthy problems via `refuse`. */
export type BatchProcessor = (data: IndexJobData, refuse: (why: string) => never) => Promise<WirePhotoFaces[]>;

/** Take batches from the queue one at a time (one GPU device per worker) until closed. */
export async function startWorker(url: string, process_: BatchProcessor, opts: WorkerOptions = {}): Promise<WorkerHandle> {
  const stalledMs = opts.stalledMs ?? 30_000;
  const name = `${hostname()}:${process.pid}`;
  const refuse = (why: string): never => {
    throw new UnrecoverableError(why);
  };
  const client = connect(url);
  const worker = new Worker<IndexJobData, IndexJobResult>(
    QUEUE_NAME,
    async (job) => {
      const t = performance.now();
      opts.onStart?.({ id: job.id!, gallery: job.data.gallery, photos: job.data.paths.length, worker: name });
      const photos = await process_(job.data, refuse);
      opts.onJob?.({ id: job.id!, gallery: job.data.gallery, photos: photos.length, ms: performance.now() - t, worker: name });
      return { worker: name, photos };
    },
    { connection: client, concurrency: 1, lockDuration: stalledMs, stalledInterval: stalledMs, maxStalledCount: JOB_ATTEMPTS - 1 },
  );
  worker.on('error', (err) => opts.onError?.(err.message));
  worker.on('failed', (job, err) => opts.onError?.(`batch ${job?.id} failed: ${err.message}`));
  await worker.waitUntilReady();
  let closing: Promise<void> | null = null;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((r) => (resolveClosed = r));
  return {
    closed,
    close() {
      closing ??= worker.close().then(() => {
        client.disconnect();
        resolveClosed();
      });
      return closing;
    },
  };
}
