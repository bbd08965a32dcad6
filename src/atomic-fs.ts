// Atomic writes (Node). A file is written under a temporary name and renamed into place; a
// directory is written whole beside its target and renamed in. The one moment without a
// directory at the target (between moving the old one aside and the new one in) is recovered
// from: side folders are named after the writing process, so `recoverDir` can tell a dead
// writer's leftovers from a live one's, put a complete set-aside copy back and remove
// half-written ones. Used for converted backbones and trained model folders alike.
// Writers of one folder should hold its lock (src/lock-node.ts); without it two writers still
// end with one complete folder and nothing left beside it (the rename into place is retried
// when the other writer got there first). A failed write names the file it was writing.
// writeFileAtomic never renames over something that is not a regular file (a folder, FIFO,
// socket, device: /dev/null as root would become a regular file) and writes through a link
// to its file (writeTarget in src/out-dir.ts), whichever caller forgot checkOutputFile.
// Readers of such a folder read it through readDirConsistently (readReplacedDir in
// src/lock-node.ts tidies a killed writer's leftovers first): one version of it, never a
// file of the old folder beside one of the new.
// writeDirAtomic writes through a link to its folder too (dirTarget), and the new folder gets
// the old one's mode and, where permitted, owner and group (keepModeAndOwner).
import { readdirSync, rmSync, type Stats } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { mkdirp, NotWritable, realish, specialKind, writeTarget } from './out-dir.ts';
import { basename, dirname, join, resolve } from 'node:path';
import { fsWords } from './fs-reason.ts';

const TMP = 'tmp';
const OLD = 'old';
let counter = 0;

const sideName = (target: string, kind: string) => join(dirname(target), `.${basename(target)}.${kind}-${process.pid}-${Date.now()}-${counter++}`);

/** Is process `pid` of this host still running (EPERM: it runs, as another user)? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A temporary name beside `file`, for this process to write and rename into place:
 * `<name>.tmp-<pid>-<stamp>-<n>`, the form removeDeadTemps tells a killed writer's by.
 */
export function tempPathFor(file: string): string {
  return `${file}.tmp-${process.pid}-${Date.now()}-${counter++}`;
}

/**
 * Remove the temporary files beside `file` (`<name>.tmp-<pid>...`: tempPathFor) that a process killed
 * before its rename left: each as big as the file (a search index of a million faces is over
 * a gigabyte), and, in a gallery folder, carried along by every save. Only dead processes'.
 */
export function removeDeadTemps(file: string): void {
  const dir = dirname(resolve(file));
  const prefix = `${basename(file)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)/.exec(name.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(dir, name), { force: true, recursive: true });
  }
}

/**
 * Remove a folder tree. A folder kept read-only (a gallery its owner made 0500: saves keep its
 * mode) refuses its entries' removal even to its owner, who may write in it again first:
 * without that, each save left a whole copy of the gallery beside it and said EACCES.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    await ownerWritable(path);
    await rm(path, { recursive: true, force: true });
  }
}

/** Give the owner write (and search) permission on every folder of a tree, so its entries can go. */
async function ownerWritable(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => null);
  if (!st?.isDirectory()) return;
  await chmod(dir, (st.mode & 0o7777) | 0o700).catch(() => {});
  for (const name of await readdir(dir).catch(() => [] as string[])) await ownerWritable(join(dir, name));
}

/** The side folders beside `target` (`.name.tmp-<pid>-<stamp>-<n>`, `.name.old-...`): whose and which. */
async function sideFolders(target: string): Promise<{ kind: string; pid: number; stamp: number; path: string }[]> {
  const prefix = `.${basename(target)}.`;
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  return names.flatMap((n) => {
    const m = n.startsWith(prefix) ? /^(tmp|old)-(\d+)-(\d+)-\d+$/.exec(n.slice(prefix.length)) : null;
    return m ? [{ kind: m[1], pid: Number(m[2]), stamp: Number(m[3]), path: join(dirname(target), n) }] : [];
  });
}

/** Side folders of `target` left by a process that died mid-write. */
async function leftovers(target: string): Promise<{ kind: string; stamp: number; path: string }[]> {
  return (await sideFolders(target)).filter((f) => !alive(f.pid));
}

/** Whether a live writer is between its two renames of `target` (its set-aside copy is there). */
async function beingReplaced(target: string): Promise<boolean> {
  return (await sideFolders(target)).some((f) => f.kind === OLD && f.pid > 0 && alive(f.pid));
}

async function exists(dir: string): Promise<boolean> {
  try {
    await readdir(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Tidy up after a writer killed mid-write: a missing target gets back its complete set-aside
 * copy, and half-written temporary folders are removed. Only folders of dead processes are
 * touched.
 */
export async function recoverDir(dir: string): Promise<void> {
  // Through a link, the side folders are beside the folder it points to; a writer killed
  // between its two renames left the link dangling, and its set-aside copy goes back there.
  const target = (await realDir(dir).catch(() => null))?.path ?? resolve(dir);
  const left = await leftovers(target);
  const olds = left.filter((l) => l.kind === OLD).sort((a, b) => b.stamp - a.stamp);
  if (olds.length && !(await exists(target))) {
    try {
      await rename(olds[0].path, target);
      olds.shift();
    } catch {
      // Another process recovered it (or wrote a new one) first: this copy is older.
    }
  }
  for (const l of [...olds, ...left.filter((x) => x.kind === TMP)]) await removeTree(l.path).catch(() => {});
}

/**
 * The names in a folder that writeDirAtomic is to replace whole ([] when it does not exist
 * yet), for its caller to refuse one holding something else. A folder that cannot be read (a
 * file, no permission) is an error worded by `cannot` from why.
 */
export async function entriesToReplace(dir: string, cannot: (why: string) => string): Promise<string[]> {
  try {
    return await readdir(resolve(dir));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new Error(cannot(code === 'ENOTDIR' ? await whyNotAFolder(dir) : String(code)));
  }
}

/**
 * Why `dir` cannot be read as a folder where that said ENOTDIR: it is a file, or a folder on
 * its path is one (`afile/g`: afile is the file, and g does not exist).
 */
export async function whyNotAFolder(dir: string): Promise<string> {
  const target = resolve(dir);
  for (let p = target; ; p = dirname(p)) {
    const st = await stat(p).catch(() => null);
    if (st && !st.isDirectory()) return p === target ? 'it is a file' : `${p} is a file, not a folder`;
    if (dirname(p) === p) return 'a part of its path is not a folder';
  }
}

/** How many links a folder's path may go through before it is a loop (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * Where the folder `dir` really is: every link on its path followed, its last part's too.
 * `dangling` is the text of the link whose end does not exist (the path is then where it
 * points), null when there is no such link. Throws NotWritable for a loop of links.
 */
export async function realDir(dir: string): Promise<{ path: string; dangling: string | null }> {
  let path = resolve(dir);
  let to: string | null = null;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    // The parent's real path first: a relative link is read from the folder it is really in.
    path = join(await realish(dirname(path)), basename(path));
    const st = await lstat(path).catch(() => null);
    if (!st?.isSymbolicLink()) return { path, dangling: st || to === null ? null : to };
    to = await readlink(path);
    path = resolve(dirname(path), to);
  }
  throw new NotWritable(`is a link in a loop (to ${to})`);
}

/**
 * Where writeDirAtomic(dir) writes: the real folder (realDir). A folder that is a link is
 * written through, as writeFileAtomic writes through a link to a file: the link stays and the
 * folder it points to is replaced. Renaming the link itself aside would put a real folder in
 * its place, and the folder it pointed to would never be updated again. A dangling link (or a
 * loop) is refused, as writeFileAtomic refuses one: the folder would appear wherever the link
 * happens to point. Callers that may find a killed writer's dangling link run recoverDir first.
 * Writers check with it before their work, so that a refusal does not come after it.
 */
export async function dirTarget(dir: string): Promise<string> {
  const refused = (why: string) => new Error(`${dir}: not replaced: it ${why}`);
  const { path, dangling } = await realDir(dir).catch((err) => {
    throw err instanceof NotWritable ? refused(err.message) : namedWriteError(err, dir);
  });
  if (dangling !== null) throw refused(`is a dangling link (to ${dangling}, which does not exist), not written through`);
  const st = await stat(path).catch(() => null);
  if (st?.isDirectory()) {
    // Replaced whole by one rename, which a mount point refuses (EBUSY: a Docker bind mount of
    // the gallery itself), and after the work: said before it.
    const parent = await stat(dirname(path)).catch(() => null);
    if (parent && parent.dev !== st.dev) throw refused(`is a mount point: it is replaced whole when written (a rename), which a mount point cannot be; mount the folder above it, or use a folder inside it`);
  }
  return path;
}

/**
 * Give `path` the mode (all 12 bits) of the folder or file `like` was stat'ed from, and its
 * owner and group where this process may (a user may give only a group of theirs; root any):
 * a folder written anew would otherwise get the default mode (a gallery of biometric data
 * chmod 700 became 755 on its next save) and this process's group. A chown refused (EPERM)
 * leaves ours, which is all an unprivileged writer can do. The mode last: chown may clear the
 * set-group-ID bit.
 */
export async function keepModeAndOwner(path: string, like: Stats): Promise<void> {
  await chown(path, like.uid, like.gid).catch((err) => {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  });
  await chmod(path, like.mode & 0o7777);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RENAME_TRIES = 100;

/** An error that names the path being written (Node's ENOSPC, EROFS... say only "write"). */
export function namedWriteError(err: unknown, path: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (e.message?.includes(path)) return e;
  const what = fsWords(e) ?? e.message;
  const named = new Error(`${path}: cannot write (${what})`) as NodeJS.ErrnoException;
  named.code = e.code;
  return named;
}

/**
 * Give each file written anew into `tmp` the mode, owner and group of the file of its name in
 * `old` (the folder it replaces): a gallery's files made private (600) or read-only (444)
 * would otherwise come back as this process's umask makes them (644) on the next save.
 * Files carried over as hard links are the old ones and keep theirs already.
 */
async function keepFileModes(old: string, tmp: string): Promise<void> {
  for (const name of await readdir(tmp)) {
    const now = await lstat(join(tmp, name));
    if (!now.isFile()) continue;
    const before = await lstat(join(old, name)).catch(() => null);
    if (before?.isFile() && before.ino !== now.ino) await keepModeAndOwner(join(tmp, name), before);
  }
}

/**
 * Replace `dir` whole with what `fill(tmp)` writes into a fresh side folder. The old folder
 * is moved aside, the new one renamed in, the old one removed. If another writer's folder
 * arrives in between (no lock held), the move is tried again, a bounded number of times;
 * whatever happens, no side folder of this call is left behind. A link to a folder is
 * written through (dirTarget); the new folder has the old one's mode, owner and group
 * (keepModeAndOwner), and its files those of the old files of their names (keepFileModes).
 * Messages name `dir` as given (made absolute).
 */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const target = resolve(dir);
  const real = await dirTarget(dir);
  await mkdirp(dirname(real));
  const tmp = sideName(real, TMP);
  const before = await stat(real).catch(() => null);
  const was = before?.isDirectory() ? before : null;
  try {
    // Private while it fills with what may be private data; the old folder's mode comes
    // after the fill, so that a read-only folder (0500) can still be written anew.
    await mkdir(tmp, was ? 0o700 : undefined);
  } catch (err) {
    throw namedWriteError(err, tmp);
  }
  const olds: string[] = [];
  try {
    try {
      await fill(tmp);
      if (was) {
        await keepFileModes(real, tmp);
        await keepModeAndOwner(tmp, was);
      }
    } catch (err) {
      throw namedWriteError(err, target);
    }
    for (let attempt = 0; ; attempt++) {
      const old = sideName(real, OLD);
      try {
        await rename(real, old);
        olds.push(old);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw namedWriteError(err, target);
      }
      try {
        await rename(tmp, real);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Another writer renamed its folder in between our two renames: go round again.
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= RENAME_TRIES) throw namedWriteError(err, target);
        await sleep(Math.random() * 5);
      }
    }
  } catch (err) {
    await removeTree(tmp).catch(() => {});
    // Never leave the target missing when a set-aside copy exists.
    if (olds.length && !(await exists(real))) await rename(olds.pop()!, real).catch(() => {});
    for (const o of olds) await removeTree(o).catch(() => {});
    throw err;
  }
  for (const o of olds) await removeTree(o);
}

/** How many times readDirConsistently reads a folder that keeps being replaced. */
const READ_TRIES = 50;

/** A folder's identity: a new one for every folder writeDirAtomic renames in (null: none there). */
export async function folderIdentity(dir: string): Promise<string | null> {
  const st = await stat(dir, { bigint: true }).catch(() => null);
  return st ? `${st.dev}:${st.ino}:${st.birthtimeNs}` : null;
}

/**
 * Read a folder that writeDirAtomic replaces whole, as one version of it. A reader beside a
 * writer could otherwise take one file from the old folder and the next from the new one
 * (measured: 26 of 600 loads of a gallery saved 300 times meanwhile failed, and more mixed
 * silently), or find no folder in the moment between the writer's two renames. So `read` is
 * run again when the folder it started on is not the one there when it ended, or was missing;
 * what it told through its `notice` is passed on for the read that is kept only. A failure on
 * a folder that stayed the same is the folder's own, and thrown.
 */
export async function readDirConsistently<T>(dir: string, read: (notice: (message: string) => void) => Promise<T>, onNotice: (message: string) => void = () => {}): Promise<T> {
  const target = resolve(dir);
  for (let attempt = 1; ; attempt++) {
    const before = await folderIdentity(target);
    const told: string[] = [];
    let outcome: { ok: true; value: T } | { ok: false; err: unknown };
    try {
      outcome = { ok: true, value: await read((m) => told.push(m)) };
    } catch (err) {
      outcome = { ok: false, err };
    }
    const after = await folderIdentity(target);
    // Missing before and after: no folder, not a writer's moment without one (microseconds;
    // on a loaded machine, milliseconds: while a live writer's set-aside copy is there, that
    // moment is not over).
    const settled = before === after && (before !== null || (attempt >= 3 && !(await beingReplaced(target))));
    if (settled || attempt >= READ_TRIES) {
      if (!outcome.ok) throw outcome.err;
      for (const m of told) onNotice(m);
      return outcome.value;
    }
    await sleep(1 + Math.random() * 4);
  }
}

/**
 * Write one file atomically (temp file beside it + rename); a failure names the file. A
 * symbolic link is written through (the link stays, the file it resolves to is replaced);
 * a dangling link, or anything there that is not a regular file, is refused before writing
 * and again just before the rename (it may have appeared meanwhile).
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdirp(dirname(resolve(file)));
  const refused = (err: unknown) => (err instanceof NotWritable ? new Error(`${file}: not replaced: it ${err.message}`) : namedWriteError(err, file));
  const target = await writeTarget(file).catch((err) => {
    throw refused(err);
  });
  removeDeadTemps(target);
  const tmp = tempPathFor(target);
  try {
    await writeFile(tmp, data);
    // The mode, owner and group of the file it replaces (a private 600 stays 600).
    const was = await stat(target).catch(() => null);
    if (was?.isFile()) await keepModeAndOwner(tmp, was);
    // Again just before the rename: something else may have been put there meanwhile.
    const st = await lstat(target).catch(() => null);
    const kind = st && specialKind(st);
    if (kind) throw new NotWritable(`is ${kind} now, not a regular file`);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw refused(err);
  }
}
