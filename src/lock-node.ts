// One writer at a time per folder (Node), for folders replaced whole (galleries, trained
// models): two writers each load, change and save the whole folder, so without a lock the
// second save would drop the first's work, and two renames into one place race. The lock is
// proper-lockfile's (an atomic mkdir, its mtime refreshed while held, so
// a lock whose holder died is recognised as stale and taken over), on a path BESIDE the
// folder: `<parent>/.<name>.lock`, because the folder itself is replaced by a rename on every
// save. Who holds it is written next to it (`.<name>.lock.json`: pid, host, command, since)
// for the message a refused writer gets; a lock whose holder on this host is no longer
// running is taken over at once, without waiting for it to go stale.
import { rmSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { lock as acquire } from 'proper-lockfile';
import { onExit } from 'signal-exit';
import { alive, readDirConsistently, recoverDir, writeFileAtomic } from './atomic-fs.ts';
import { mkdirp } from './out-dir.ts';
import { fsWords } from './fs-reason.ts';

export interface DirLockOptions {
  /** What the folder is, for messages (default "folder"). */
  what?: string;
  /** How long to wait for another writer before refusing (default 60 s). */
  timeoutMs?: number;
  /** A lock not refreshed for this long is stale: its holder died (default 30 s; min 2 s). */
  staleMs?: number;
  /** Told once when the lock is busy and we wait. */
  onWait?: (message: string) => void;
}

export interface DirLock {
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

async function readHolder(dir: string, tries = 10): Promise<Holder | null> {
  for (let t = 0; ; t++) {
    try {
      return JSON.parse(await readFile(holderPathOf(dir), 'utf8')) as Holder;
    } catch {
      if (t >= tries) return null;
      await sleep(50);
    }
  }
}

/** Who holds the lock; a holder writes its file just after taking the lock, so wait a little for it. */
async function describeHolder(dir: string): Promise<string> {
  const h = await readHolder(dir);
  return h ? `process ${h.pid} on ${h.host} since ${h.since} (${h.command})` : 'a process that has not said who it is';
}

/**
 * Remove a lock whose holder, on this host, is no longer running (killed: proper-lockfile
 * had no chance to release it). The lock's mtime is checked again just before: a lock taken
 * a moment ago by someone else is left alone.
 */
async function takeOverDead(dir: string): Promise<boolean> {
  const h = await readHolder(dir, 0);
  if (!h || h.host !== hostname() || h.pid === process.pid || alive(h.pid)) return false;
  const path = lockPathOf(dir);
  const st = await stat(path).catch(() => null);
  if (!st || Date.now() - st.mtimeMs < 1000) return false;
  await rm(path, { recursive: true, force: true });
  await rm(holderPathOf(dir), { force: true });
  return true;
}

/**
 * Tidy up the lock of a writer that was killed (kill -9, a crash): removed when its holder,
 * on this host, no longer runs. Loaders call this after recoverDir so that nothing of a dead
 * writer is left beside the folder. A lock touched within the last second is looked at again
 * a second later: by then a new owner would have written its own holder file.
 */
export async function clearDeadLock(dir: string): Promise<void> {
  if (await takeOverDead(dir)) return;
  const h = await readHolder(dir, 0);
  if (!h || h.host !== hostname() || h.pid === process.pid || alive(h.pid)) return;
  await sleep(1100);
  await takeOverDead(dir);
}

/**
 * Read a folder that locked writers replace whole (galleries, trained models): what a killed
 * writer left is tidied first (its side folders, recoverDir; its lock, clearDeadLock), then
 * the folder is read as one version of it, even while a live writer replaces it
 * (readDirConsistently, whose `read` and `onNotice` these are).
 */
export async function readReplacedDir<T>(dir: string, read: (notice: (message: string) => void) => Promise<T>, onNotice?: (message: string) => void): Promise<T> {
  await recoverDir(dir);
  await clearDeadLock(dir);
  return readDirConsistently(dir, read, onNotice);
}

/**
 * Run `fn` holding the folder's lock. A busy lock is waited for (polled) up to timeoutMs (0:
 * refused at once), then refused with a message naming the folder and the holder. The lock
 * is released when fn ends, however it ends; proper-lockfile also releases it if the process
 * exits.
 */
export async function withDirLock<T>(dir: string, fn: (lock: DirLock) => Promise<T>, opts: DirLockOptions = {}): Promise<T> {
  const what = opts.what ?? 'folder';
  const target = resolve(dir);
  const path = lockPathOf(dir);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const stale = Math.max(2000, opts.staleMs ?? 30_000);
  await mkdirp(dirname(target));
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
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw new Error(`${dir}: cannot lock the ${what} (${fsWords(err) ?? (err as Error).message})`);
      if (await takeOverDead(dir)) continue;
      if (Date.now() >= deadline) {
        throw new Error(
          `${dir}: the ${what} is locked by another writer, ${await describeHolder(dir)}, which did not finish ${timeoutMs >= 1000 ? `within ${Math.round(timeoutMs / 1000)} s` : 'at once (no wait asked for)'}; ` +
            `try again later (a lock whose holder died is taken over after ${Math.round(stale / 1000)} s)`,
        );
      }
      if (!waited) {
        waited = true;
        opts.onWait?.(`${dir}: waiting for the ${what} lock held by ${await describeHolder(dir)}`);
      }
      await sleep(Math.min(200 + Math.random() * 100, Math.max(10, deadline - Date.now())));
    }
  }
  const holder: Holder = { pid: process.pid, host: hostname(), command: process.argv.slice(1).join(' '), since: new Date().toISOString() };
  await writeFileAtomic(holderPathOf(dir), JSON.stringify(holder) + '\n');
  // Stopped by a signal (Ctrl-C, SIGTERM), the process runs no `finally`: proper-lockfile then
  // removes its lock (through signal-exit), and this the holder file beside it. Its handler
  // runs first, so in the moment between the two another writer could take the lock and lose
  // its holder file to this: it would be named as "a process that has not said who it is".
  const forgetOnSignal = onExit(() => rmSync(holderPathOf(dir), { force: true }));
  const lock: DirLock = {
    path,
    assertHeld() {
      if (compromised) throw new Error(`${dir}: the ${what} lock was lost while writing (${compromised.message}); nothing was saved after that, run again`);
    },
  };
  try {
    const result = await fn(lock);
    lock.assertHeld();
    return result;
  } finally {
    forgetOnSignal();
    // The holder file first: once the lock is gone it may be another writer's.
    await rm(holderPathOf(dir), { force: true });
    if (!compromised) await release!().catch(() => {});
  }
}
