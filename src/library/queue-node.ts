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
import { RemedyError, type RemedyHint } from '../remedy.ts';
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
  /** Faces down to this many pixels wide (IndexOptions.minFace); absent or 0: the whole photo only. */
  minFace?: number;
  /** The largest image decoded, width x height (the owner's maxImagePixels()); absent: the worker's own. */
  maxPixels?: number;
  paths: string[];
  /**
   * A Redis key that exists while the run's owner is alive (OWNER_TTL_MS, renewed): a worker
   * leaves the batches of a run whose owner was stopped or killed undone, and hands no faces
   * back for them. Absent (an owner from before it): always done.
   */
  owner?: string;
  /**
   * Set by a worker whose try failed with a RemedyError: BullMQ keeps only a failed job's
   * message, so the error is kept here whole, for the owner to hand on with its hint.
   */
  remedy?: { problem: string; remedy: string; hint: RemedyHint };
}

export interface IndexJobResult {
  worker: string;
  photos: WirePhotoFaces[];
  /** The job's minFace as this worker honoured it (absent from a facegpu before minFace). */
  minFace?: number;
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

/**
 * How long a run's owner key (IndexJobData.owner) lives unless renewed; the owner renews it four
 * times as often and deletes it when the run ends. A killed owner's batches are left undone
 * by the workers this long after, at most.
 */
export const OWNER_TTL_MS = 60_000;

/** A client per queue object (BullMQ needs its blocking reads on a connection of their own); closed by us. */
const connect = (url: string) => new Redis(url, { maxRetriesPerRequest: null });

export interface QueuedRun {
  /** Told each finished batch's result, one at a time (store it; the job is removed after). */
  onResult: (paths: readonly string[], result: IndexJobResult) => void | Promise<void>;
  /**
   * Told each batch that failed for good, with why; `error`: the same failure as a
   * RemedyError (its message is `reason`) when the worker's error was one, for a front end
   * to word its remedy.
   */
  onFailed: (paths: readonly string[], reason: string, error?: RemedyError) => void;
  /** Told once when no worker is listening after a while (default: a notice saying so). */
  onNoWorker?: (url: string) => void;
  onNotice?: (message: string) => void;
}

/**
 * How often the owner checks the state of every batch still pending, besides the queue's
 * events (BullMQ trims its event stream, and a reconnecting reader can miss events).
 */
export const QUEUE_SWEEP_MS = 10_000;
/** After this long with batches pending and no worker connected, the owner says so. */
const NO_WORKER_NOTICE_MS = 10_000;
/** Job states asked at once in a sweep (one pipelined round trip per chunk). */
const STATES_AT_ONCE = 500;
/**
 * How long the owner waits for Redis once its connection is lost before it gives up: its
 * clients reconnect without end (a restart of Redis is ridden out), but a Redis gone for good
 * must end the run with a line saying so, not hang it.
 */
export const REDIS_LOST_MS = 30_000;

/**
 * Watch `clients` for a lost connection: `gone` rejects, naming `url` and why, once none has
 * been ready for `lostMs`. Their errors are taken here (ioredis prints an unhandled one, each
 * retry). `stop()` ends the watch.
 */
function watchConnection(url: string, clients: readonly Redis[], lostMs: number): { gone: Promise<never>; stop: () => void } {
  let lostSince: number | null = null;
  let why = 'connection closed';
  let fail!: (err: Error) => void;
  const gone = new Promise<never>((_, reject) => (fail = reject));
  gone.catch(() => {}); // told through the race that awaits it
  for (const c of clients) {
    c.on('error', (err: NodeJS.ErrnoException) => {
      why = err.code ?? err.message;
      lostSince ??= Date.now();
    });
    c.on('close', () => (lostSince ??= Date.now()));
    c.on('ready', () => (lostSince = clients.every((x) => x.status === 'ready') ? null : lostSince));
  }
  const timer = setInterval(() => {
    if (lostSince !== null && Date.now() - lostSince >= lostMs) fail(new Error(`queue ${url}: lost Redis (${why}) for ${Math.round(lostMs / 1000)} s; the batches stored so far are kept: run index again once Redis is back`));
  }, Math.min(1000, lostMs));
  return { gone, stop: () => clearInterval(timer) };
}

/**
 * Queue the batches and wait until each is done (its result handed to onResult) or failed for
 * good. Leftovers of an earlier run of the same gallery still waiting in the queue are removed
 * first (their photos are in this run's batches again).
 *
 * A batch is taken when the queue's events say it completed or failed (QueueEvents, reading
 * the event stream from before the batches were added); a slow sweep (every `sweepMs`) asks
 * the state of each batch still pending, so a lost event delays a batch, never loses it. Each
 * batch is handled by its state in the queue (completed or failed for good), never by the
 * event alone. The work per batch is constant: nothing lists the queue's finished jobs.
 */
export async function runOnQueue(
  url: string,
  data: Omit<IndexJobData, 'paths' | 'run'>,
  batches: readonly string[][],
  handlers: QueuedRun,
  opts: {
    /** Between sweeps (default QUEUE_SWEEP_MS). */
    sweepMs?: number;
    /** false: no events, the sweep alone (what a run whose every event is lost does). */
    events?: boolean;
    /** How long Redis may be unreachable before the run fails (default REDIS_LOST_MS). */
    lostMs?: number;
    /**
     * Stop once aborted (a Ctrl-C): the batches still waiting are taken off the queue and the
     * run ends (its owner key deleted, so a batch in a worker's hand is not handed back);
     * those not settled are neither result nor failure.
     */
    signal?: AbortSignal;
  } = {},
): Promise<void> {
  const sweepMs = opts.sweepMs ?? QUEUE_SWEEP_MS;
  const clients = [connect(url), connect(url)];
  const connection = watchConnection(url, clients, opts.lostMs ?? REDIS_LOST_MS);
  const queue = new Queue<IndexJobData, IndexJobResult>(QUEUE_NAME, { connection: clients[0] });
  queue.on('error', () => {}); // the connection's errors: watchConnection's
  let events: QueueEvents | null = null;
  let lost = false;
  const owner: { key?: string; renew?: NodeJS.Timeout } = {}; // set in work, once the run has its name
  // Every wait on Redis below ends when the connection is lost for good (ioredis would wait forever).
  const work = async () => {
    await queue.waitUntilReady();
    for (const old of await queue.getJobs(['waiting', 'delayed', 'prioritized', 'completed', 'failed'])) {
      if (old?.data?.gallery === data.gallery) await old.remove().catch(() => {});
    }
    if (!batches.length) return;
    const run = `${hostname()}-${process.pid}-${Date.now()}`;
    const key = `${QUEUE_NAME}:owner:${run}`;
    await clients[0].set(key, data.gallery, 'PX', OWNER_TTL_MS);
    owner.key = key;
    owner.renew = setInterval(() => void clients[0].pexpire(key, OWNER_TTL_MS).catch(() => {}), OWNER_TTL_MS / 4);
    const pending = new Map<string, string[]>();
    const jobs = batches.map((paths, i) => {
      const id = `${run}-${i}`;
      pending.set(id, [...paths]);
      return {
        name: 'photos',
        data: { ...data, run, owner: key, paths: [...paths] },
        opts: { jobId: id, attempts: JOB_ATTEMPTS, backoff: { type: 'exponential' as const, delay: 1000 }, removeOnComplete: false, removeOnFail: false },
      };
    });

    // The event stream is read from its end as it is now, before the batches are added, so
    // every event of this run's batches comes after it (a reader started at '$' could begin
    // after the first of them).
    const [last] = await clients[0].xrevrange(queue.keys.events, '+', '-', 'COUNT', 1);
    events = new QueueEvents(QUEUE_NAME, { connection: clients[1], lastEventId: last?.[0] ?? '0-0' });
    events.on('error', () => {}); // a lost connection: ioredis reconnects, the sweep covers the gap
    const told = new Set<string>(); // batches an event said are finished, not yet handled
    let wake: () => void = () => {};
    const tell = ({ jobId }: { jobId: string }) => {
      if (pending.has(jobId)) {
        told.add(jobId);
        wake();
      }
    };
    if (opts.events !== false) {
      events.on('completed', tell);
      events.on('failed', tell);
    }
    await events.waitUntilReady();
    await queue.addBulk(jobs);

    /** Hand each of these batches that is finished in the queue to its handler, and drop it. */
    const settle = async (ids: readonly string[]) => {
      for (let i = 0; i < ids.length; i += STATES_AT_ONCE) {
        const chunk = ids.slice(i, i + STATES_AT_ONCE);
        const states = await Promise.all(chunk.map((id) => queue.getJobState(id)));
        for (const [k, id] of chunk.entries()) {
          const paths = pending.get(id);
          const state = states[k];
          if (!paths || (state !== 'completed' && state !== 'failed' && state !== 'unknown')) continue;
          const job = state === 'unknown' ? undefined : await Job.fromId<IndexJobData, IndexJobResult>(queue, id);
          if (state === 'completed' && job?.returnvalue) await handlers.onResult(paths, job.returnvalue);
          else if (state === 'completed') handlers.onFailed(paths, 'finished without a result');
          else if (state === 'failed') {
            const reason = job?.failedReason || 'failed';
            const r = job?.data.remedy;
            // The recorded error is this failure's only if it reads the same (not an earlier try's).
            handlers.onFailed(paths, reason, r && r.problem + r.remedy === reason ? new RemedyError(r.problem, r.remedy, r.hint) : undefined);
          }
          else handlers.onFailed(paths, 'no longer in the queue before it was done (Redis restarted without its data, or the job was removed); not stored, so the next run does it again');
          pending.delete(id);
          await job?.remove().catch(() => {});
        }
      }
    };

    const started = Date.now();
    let swept = started;
    let warned = false;
    // A stop wakes the wait below; taken off the signal when the run ends (a caller's signal
    // may outlive many runs).
    const onAbort = () => wake();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (pending.size) {
        if (opts.signal?.aborted) {
          // Taken off the queue (a batch a worker holds is locked: the worker drops it once it
          // sees the run ended).
          for (const id of pending.keys()) await (await queue.getJob(id))?.remove().catch(() => {});
          return;
        }
        if (!told.size) {
          // Until an event, or the next sweep.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, swept + sweepMs - Date.now()));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = () => {};
        }
        const ids = [...told];
        told.clear();
        await settle(ids);
        if (pending.size && Date.now() - swept >= sweepMs) {
          swept = Date.now();
          await settle([...pending.keys()]);
          if (!warned && pending.size && Date.now() - started >= NO_WORKER_NOTICE_MS && (await queue.getWorkersCount()) === 0) {
            warned = true;
            if (handlers.onNoWorker) handlers.onNoWorker(url);
            else handlers.onNotice?.(`no worker is taking jobs from ${url}: start one on this queue (runIndexWorker)`);
          }
        }
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  };
  try {
    const running = work();
    running.catch(() => {}); // when the connection is lost, its pending calls fail after the race
    await Promise.race([running, connection.gone.catch((err: Error) => {
      lost = true;
      throw err;
    })]);
  } finally {
    connection.stop();
    clearInterval(owner.renew);
    // Without Redis, closing would wait for it: the connections are dropped instead.
    if (lost) for (const c of clients) c.disconnect();
    else {
      // The run has ended: batches of it still queued (a run that failed) are left undone.
      if (owner.key) await clients[0].del(owner.key).catch(() => {});
      await (events as QueueEvents | null)?.close(); // (assigned in work)
      await queue.close();
      for (const c of clients) c.disconnect();
    }
  }
}

export interface WorkerHandle {
  /** Whether a batch is in hand now. */
  readonly busy: boolean;
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
  /** `error`: the same as a RemedyError (its message is `message`) when a batch failed with one. */
  onError?: (message: string, error?: RemedyError) => void;
}

/** Errors of a connection to Redis (lost, refused, unreachable), told once by a worker. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

/** A processor for one batch; throws UnrecoverableError-worthy problems via `refuse`. */
export type BatchProcessor = (data: IndexJobData, refuse: (why: string | RemedyError) => never) => Promise<WirePhotoFaces[]>;

/** The RemedyError a batch failed with: thrown, or refused (the cause of the UnrecoverableError). */
const remedyIn = (err: unknown): RemedyError | undefined =>
  err instanceof RemedyError ? err : err instanceof Error && err.cause instanceof RemedyError ? err.cause : undefined;

/** Take batches from the queue one at a time (one GPU device per worker) until closed. */
export async function startWorker(url: string, process_: BatchProcessor, opts: WorkerOptions = {}): Promise<WorkerHandle> {
  const stalledMs = opts.stalledMs ?? 30_000;
  const name = `${hostname()}:${process.pid}`;
  const refuse = (why: string | RemedyError): never => {
    const err = new UnrecoverableError(typeof why === 'string' ? why : why.message);
    if (why instanceof RemedyError) err.cause = why;
    throw err;
  };
  const client = connect(url);
  let inHand = 0;
  const worker = new Worker<IndexJobData, IndexJobResult>(
    QUEUE_NAME,
    async (job) => {
      inHand++;
      try {
        return await take(job);
      } finally {
        inHand--;
      }
    },
    { connection: client, concurrency: 1, lockDuration: stalledMs, stalledInterval: stalledMs, maxStalledCount: JOB_ATTEMPTS - 1 },
  );
  // For removing the queued batches of a run whose owner is gone.
  const queue = new Queue<IndexJobData, IndexJobResult>(QUEUE_NAME, { connection: client });
  queue.on('error', () => {}); // the connection's: told below, once
  /** Whether the run that queued `data` has ended (its owner key gone: stopped, killed, failed). */
  const runEnded = async (data: IndexJobData) => data.owner !== undefined && !(await client.exists(data.owner));
  /** Remove what is left queued of an ended run, all but `job` (in hand, so locked). */
  const dropRun = async (run: string, job: string) => {
    for (const j of await queue.getJobs(['waiting', 'delayed', 'prioritized', 'completed'])) {
      if (j?.data?.run === run && j.id !== job) await j.remove().catch(() => {});
    }
  };
  /** One batch: described by `process_`, its RemedyError kept with the job when it fails. */
  async function take(job: Job<IndexJobData, IndexJobResult>): Promise<IndexJobResult> {
    const t = performance.now();
    // A run stopped or killed: its batches are not described (no GPU work for nobody), and
    // none of its faces are left in Redis, where nobody would take them.
    if (await runEnded(job.data)) {
      await dropRun(job.data.run, job.id!);
      refuse(`the index of ${job.data.gallery} that queued it has ended (stopped or killed); left undone`);
    }
    opts.onStart?.({ id: job.id!, gallery: job.data.gallery, photos: job.data.paths.length, worker: name });
    let photos: WirePhotoFaces[];
    try {
      photos = await process_(job.data, refuse);
      if (await runEnded(job.data)) {
        await dropRun(job.data.run, job.id!);
        refuse(`the index of ${job.data.gallery} that queued it ended while it was described (stopped or killed); its faces are not handed back`);
      }
    } catch (err) {
      // Kept with the job before BullMQ records the failure, which keeps the message only.
      const r = remedyIn(err);
      if (r) await job.updateData({ ...job.data, remedy: { problem: r.problem, remedy: r.remedy, hint: r.hint } }).catch(() => {});
      throw err;
    }
    opts.onJob?.({ id: job.id!, gallery: job.data.gallery, photos: photos.length, ms: performance.now() - t, worker: name });
    return { worker: name, photos, minFace: job.data.minFace ?? 0 };
  }
  // Redis lost: said once, not at each of ioredis' retries (a hundred lines a minute), and
  // once more when it is back; the worker goes on taking batches then.
  let down = false;
  const lost = (err: NodeJS.ErrnoException) => {
    if (!down) opts.onError?.(`lost Redis at ${url} (${err.code ?? err.message}); reconnecting`);
    down = true;
  };
  client.on('error', lost);
  client.on('ready', () => {
    if (down) opts.onError?.(`Redis at ${url} is back`);
    down = false;
  });
  worker.on('error', (err: NodeJS.ErrnoException) => (CONNECTION_ERRORS.has(err.code ?? '') || /connection is closed/i.test(err.message) ? lost(err) : opts.onError?.(err.message)));
  worker.on('failed', (job, err) => opts.onError?.(`batch ${job?.id} failed: ${err.message}`, remedyIn(err)?.prefixed(`batch ${job?.id} failed: `)));
  await worker.waitUntilReady();
  let closing: Promise<void> | null = null;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((r) => (resolveClosed = r));
  return {
    closed,
    get busy() {
      return inHand > 0;
    },
    close() {
      closing ??= worker.close().then(async () => {
        await queue.close().catch(() => {});
        client.disconnect();
        resolveClosed();
      });
      return closing;
    },
  };
}
