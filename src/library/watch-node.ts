// Keeping a photo library indexed while its folder changes (Node): one indexLibrary run at the
// start, then another each time photos under the folder are added, changed, moved or deleted.
// Why whole runs and not file by file: a run already does only what changed (unchanged files
// are not even read, moves keep their faces), holds the gallery's lock only while it runs, and
// is safe to kill at any point; a change seen while a run works gets a run after it.
//
// Folder events come from chokidar (inotify on Linux, FSEvents on macOS). A file still being
// copied in is waited for until its size holds still (`settleMs`), so no half-written photo is
// indexed as unreadable. Hidden entries and the gallery's own folder (it may sit inside the
// photo tree) are not watched: the runs' own writes must not start more runs.
import { watch, type FSWatcher } from 'chokidar';
import { existsSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { within } from '../out-dir.ts';
import { indexLibrary, type IndexOptions, type IndexSummary } from './index-run-node.ts';
import { isPhotoFile } from './scan-node.ts';

/** Quiet time after a change before a run, and how long a file's size must hold still. */
export const WATCH_SETTLE_MS = 2000;

/** How often the watched folder is checked for having been deleted or replaced (ms; at least the settle time). */
export const ROOT_CHECK_MS = 5000;

/**
 * A folder's identity, or null when it is gone: its device, inode and time of birth (a folder
 * made again at once gets the inode just freed on ext4; its birth time tells them apart where
 * the file system keeps one).
 */
function folderId(path: string): string | null {
  const st = statSync(path, { throwIfNoEntry: false });
  return st?.isDirectory() ? `${st.dev}:${st.ino}:${st.birthtimeMs}` : null;
}

/** A watcher's failure, naming the folder; running out of inotify watches says how to get more. */
function watchError(top: string, err: Error): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const more = code === 'ENOSPC' ? ': more folders than the system lets a process watch (raise fs.inotify.max_user_watches)' : '';
  return new Error(`${top}: cannot watch the folder (${code ?? err.message})${more}`);
}

export interface WatchOptions extends IndexOptions {
  /** Each run's summary, the first one (at the start) included; a later one may find nothing to do (changes undone, or seen twice). */
  onRun: (summary: IndexSummary) => void;
  /** A run after the first that failed: the watch goes on, and the next change runs again. */
  onRunError: (err: Error) => void;
  /** Quiet time after the last change, and a copied file's size held still, before a run (ms). */
  settleMs?: number;
}

export interface LibraryWatch {
  /** Whether a run is under way. */
  readonly running: boolean;
  /**
   * Settles when the watch ends by itself: the folder is gone (deleted, renamed, its drive
   * unmounted), so nothing is watched any more; an error naming it.
   */
  readonly ended: Promise<Error>;
  /** Stop watching; resolves when a run under way has finished. */
  close(): Promise<void>;
}

/**
 * Index `root` into the gallery at `galleryDir` now, then again whenever photos under it
 * change, until close(). Resolves once the first run is done and the folder is watched; a
 * first run that fails rejects (nothing is left watching).
 */
export async function watchLibrary(root: string, galleryDir: string, opts: WatchOptions): Promise<LibraryWatch> {
  const top = resolve(root);
  const gallery = resolve(galleryDir);
  const settle = opts.settleMs ?? WATCH_SETTLE_MS;
  const { onRun, onRunError, settleMs: _, ...indexOptions } = opts;
  const hidden = (p: string) => relative(top, p).split(sep).some((part) => part.startsWith('.'));
  const ignored = (p: string) => hidden(p) || within(resolve(p), gallery);

  // Watched before the first run, so that a change made while it works is not missed.
  const watchTop = () => watch(top, { ignoreInitial: true, ignored, awaitWriteFinish: { stabilityThreshold: settle, pollInterval: Math.min(100, settle) } });
  let watcher: FSWatcher = watchTop();
  // The folder watched, by its inode: one deleted and made again under the same name (rm -rf,
  // mkdir, photos copied in) sent no event, and the watch went on watching the old one.
  let watched = folderId(top);
  let poll: NodeJS.Timeout | null = null;
  let closed = false;
  let pending = false;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> | null = null;
  let end!: (err: Error) => void;
  const ended = new Promise<Error>((settle) => (end = settle));

  // One run at a time: a change seen during a run gets another after it.
  const start = () => {
    pending = false;
    const done = (async () => onRun(await indexLibrary(root, galleryDir, indexOptions)))();
    current = done.then(
      () => {},
      () => {},
    ).finally(() => {
      current = null;
      if (pending && !closed) schedule();
    });
    return done;
  };
  const loop = () => {
    if (current || closed) return;
    start().catch((err) => {
      // The folder itself gone: its watch went with it, and no change will come to run again.
      if (existsSync(top)) return onRunError(err as Error);
      closed = true;
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      void watcher.close();
      end(new Error(`${root}: the folder is gone (deleted, renamed, or its drive unmounted); stopped watching it`));
    });
  };
  const schedule = () => {
    pending = true;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      loop();
    }, settle);
  };
  // A folder added brings an event for each photo in it once its size holds still; a folder
  // removed may not name each photo that went.
  const changed = (event: string, path: string) => {
    if (event === 'unlinkDir' || (event !== 'addDir' && isPhotoFile(path))) schedule();
  };

  const ready = async (w: FSWatcher) => {
    await new Promise<void>((done, fail) => {
      w.once('ready', done);
      w.once('error', (err) => fail(watchError(top, err as Error)));
    });
    w.on('all', changed);
    w.on('error', (err) => opts.onWarning?.(`${watchError(top, err as Error).message}; changes there are seen by the next run only`));
  };
  // The folder gone: a run says so and ends the watch (above). Another folder in its place:
  // watched instead, and run over.
  const checkFolder = async () => {
    const now = folderId(top);
    if (now === watched || closed) return;
    watched = now;
    if (now !== null) {
      const old = watcher;
      watcher = watchTop();
      await old.close();
      try {
        await ready(watcher);
      } catch (err) {
        opts.onWarning?.(`${(err as Error).message}; changes there are seen by the next run only`);
      }
      if (closed) return void watcher.close();
      opts.onNotice?.(`${root}: the folder was replaced by another of the same name; watching the new one`);
    }
    schedule();
  };

  try {
    await ready(watcher);
    await start();
  } catch (err) {
    closed = true;
    if (timer) clearTimeout(timer);
    await watcher.close();
    throw err;
  }
  poll = setInterval(() => void checkFolder(), Math.max(settle, ROOT_CHECK_MS));
  poll.unref();
  return {
    get running() {
      return current !== null;
    },
    ended,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      await watcher.close();
      await current;
    },
  };
}
