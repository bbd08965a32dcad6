// One writer at a time per gallery folder (Node): two `facegpu enroll` processes each load,
// change and save the whole folder, so without a lock the second save would drop the first's
// people. The lock is proper-lockfile's (an atomic mkdir, its mtime refreshed while held, so
// a lock whose holder died is recognised as stale and taken over), on a path BESIDE the
// gallery: `<parent>/.<name>.lock`, because the gallery folder itself is replaced by a rename
// on every save. Who holds it is written next to it (`.<name>.lock.json`: pid, host, command,
// since) for the message a refused writer gets.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { lock as acquire } from 'proper-lockfile';
import { writeFileAtomic } from '../atomic-fs.ts';

export interface GalleryLockOptions {
  /** How long to wait for another writer before refusing (default 60 s). */
  timeoutMs?: number;
  /** A lock not refreshed for this long is stale: its holder died (default 30 s; min 2 s). */
  staleMs?: number;
  /** Told once when the lock is busy and we wait. */
  onWait?: (message: string) => void;
}

export interface GalleryLock {
  /** The lock's path. */
  readonly path: string;
  /** Throws if the lock was lost (the holder stalled past the stale time and another took it). */
  assertHeld(): void;
}

interface Holder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export const lockPathOf = (dir: string) => join(dirname(resolve(dir)), `.${basename(resolve(dir))}.lock`);
const holderPathOf = (dir: string) => `${lockPathOf(dir)}.json`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Who holds the lock; a holder writes its file just after taking the lock, so wait a little for it. */
async function describeHolder(dir: string): Promise<string> {
  for (let tries = 0; ; tries++) {
    try {
      const h = JSON.parse(await readFile(holderPathOf(dir), 'utf8')) as Holder;
      return `process ${h.pid} on ${h.host} since ${h.since} (${h.command})`;
    } catch {
      if (tries === 10) return 'a process that has not said who it is';
      await sleep(50);
    }
  }
}

/**
 * Run `fn` holding the gallery's lock. A busy lock is waited for (polled) up to timeoutMs,
 * then refused with a message naming the gallery and the holder. The lock is released when fn
 * ends, however it ends; proper-lockfile also releases it if the process exits.
 */
export async function withGalleryLock<T>(dir: string, fn: (lock: GalleryLock) => Promise<T>, opts: GalleryLockOptions = {}): Promise<T> {
  const target = resolve(dir);
  const path = lockPathOf(dir);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const stale = Math.max(2000, opts.staleMs ?? 30_000);
  await mkdir(dirname(target), { recursive: true });
  let compromised: Error | null = null;
  const deadline = Date.now() + timeoutMs;
  let waited = false;
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await acquire(target, {
        lockfilePath: path,
        realpath: false,
        stale,
        retries: 0,
        onCompromised: (err) => {
          compromised = err;
        },
      });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw new Error(`${dir}: cannot lock the gallery (${(err as Error).message})`);
      if (Date.now() >= deadline) {
        throw new Error(
          `${dir}: the gallery is locked by another writer, ${await describeHolder(dir)}, which did not finish within ${Math.round(timeoutMs / 1000)} s; ` +
            `try again later (a lock whose holder died is taken over after ${Math.round(stale / 1000)} s)`,
        );
      }
      if (!waited) {
        waited = true;
        opts.onWait?.(`${dir}: waiting for the gallery lock held by ${await describeHolder(dir)}`);
      }
      await sleep(Math.min(200 + Math.random() * 100, Math.max(10, deadline - Date.now())));
    }
  }
  const holder: Holder = { pid: process.pid, host: hostname(), command: process.argv.slice(1).join(' '), since: new Date().toISOString() };
  await writeFileAtomic(holderPathOf(dir), JSON.stringify(holder) + '\n');
  const lock: GalleryLock = {
    path,
    assertHeld() {
      if (compromised) throw new Error(`${dir}: the gallery lock was lost while writing (${compromised.message}); nothing was saved after that, run again`);
    },
  };
  try {
    const result = await fn(lock);
    lock.assertHeld();
    return result;
  } finally {
    // The holder file first: once the lock is gone it may be another writer's.
    await rm(holderPathOf(dir), { force: true });
    if (!compromised) await release!().catch(() => {});
  }
}
