// Output folders (Node), checked before any expensive work: a command that will write a
// folder (train --out, weights convert --out) first makes sure the place can take it, so a
// mistake costs milliseconds instead of a training run. Checked: the path's existing part is
// folders (not a file), it is on a normal file system (not /proc, /sys and the like, where
// Node's recursive mkdir never returns), a probe folder and file can be written there (not
// read-only, not full), there is room for about what will be written, and it does not
// overlap the data being read. Also mkdirp, a mkdir -p that cannot hang.
// Output files (weights export --onnx) get the same checks of their folder, and first the
// file itself: writeFileAtomic renames over whatever is there, so a folder, FIFO, socket or
// device (/dev/null as root) would be replaced by a regular file after all the work;
// writeTarget says where a write lands (through a link) or why it must not.
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, mkdtemp, readlink, realpath, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fsReason } from './fs-reason.ts';

/** Pseudo file systems (statfs f_type): kernel interfaces, not places for files. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1cd1: 'devpts',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0xcafe4a11: 'bpf',
  0x6165676c: 'pstore',
  0x62656570: 'configfs',
  0x65735543: 'fusectl',
  0xde5e81e4: 'efivarfs',
  0xf97cff8c: 'selinuxfs',
  0x42494e4d: 'binfmt_misc',
  0x19800202: 'mqueue',
  0x6e736673: 'nsfs',
};

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;


/** The longest existing prefix of `abs` (absolute), and whether it is a folder. */
async function existingPart(abs: string): Promise<{ path: string; isDir: boolean }> {
  for (let p = abs; ; p = dirname(p)) {
    try {
      const st = await stat(p);
      return { path: p, isDir: st.isDirectory() };
    } catch (err) {
      const code = codeOf(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      if (dirname(p) === p) throw err;
    }
  }
}

/**
 * mkdir -p without Node's recursive mkdir, which spins forever under /proc/<pid>/: the
 * existing part is found by stat, then each missing level is made once; a failure names the
 * folder.
 */
export async function mkdirp(dir: string): Promise<void> {
  const abs = resolve(dir);
  const have = await existingPart(abs);
  if (!have.isDir) throw new Error(`${dir}: cannot make the folder: ${have.path} is a file`);
  const missing = relative(have.path, abs).split(sep).filter(Boolean);
  let at = have.path;
  for (const part of missing) {
    at = join(at, part);
    try {
      await mkdir(at);
    } catch (err) {
      if (codeOf(err) === 'EEXIST' && (await stat(at).then((s) => s.isDirectory(), () => false))) continue;
      throw new Error(`${at}: cannot make the folder (${fsReason(err)})`);
    }
  }
}

/** `a` is `b` or inside it (both absolute, resolved). */
export const within = (a: string, b: string) => a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);

/** The real path of `p` as far as it exists, with its missing tail appended. */
export async function realish(p: string): Promise<string> {
  const abs = resolve(p);
  const have = await existingPart(abs).catch(() => ({ path: abs }));
  const real = await realpath(have.path).catch(() => have.path);
  return join(real, relative(have.path, abs));
}

export interface OutputCheck {
  /** What the folder was given as, for messages: an option's name (default "output folder"). */
  name?: string;
  /** About how many bytes will be written (refused when the file system has less free). */
  needBytes?: number;
  /** Folders being read that the output must not be inside of (unless insideOk), nor contain. */
  readFrom?: { path: string; what: string; insideOk?: boolean }[];
}

/**
 * Refuse an output folder that cannot be written, before any work: a path through a file, a
 * pseudo file system, a read-only or full file system, an output inside the data (or the
 * data inside the output). Leaves nothing behind.
 */
export async function checkOutputDir(out: string, opts: OutputCheck = {}): Promise<void> {
  const name = `${opts.name ?? 'output folder'} ${out}`;
  const abs = resolve(out);
  if (dirname(abs) === abs) throw new Error(`${name}: the root folder cannot be replaced; name a folder to write`);
  const have = await existingPart(abs).catch((err) => {
    throw new Error(`${name}: cannot be looked up (${fsReason(err)})`);
  });
  if (!have.isDir) {
    throw new Error(have.path === abs ? `${name}: is a file, not a folder` : `${name}: ${have.path} is a file, not a folder`);
  }
  // The folder is replaced whole by a rename beside it: the parent (or its nearest existing
  // ancestor) is where things are written.
  await checkPlace(name, dirname(abs), basename(abs), opts.needBytes);
  if (opts.readFrom?.length) {
    const o = await realish(abs);
    for (const r of opts.readFrom) {
      const d = await realish(r.path);
      if (!r.insideOk && within(o, d)) throw new Error(`${name}: is inside the ${r.what} ${r.path}; it would be read as part of it next time. Choose a folder outside ${r.path}`);
      if (within(d, o)) throw new Error(`${name}: contains the ${r.what} ${r.path}, which writing it would replace. Choose another folder`);
    }
  }
}

/**
 * Refuse an output file that cannot be written, before any work: something there that is not
 * a regular file (a folder, FIFO, socket, device, a dangling link), and for its folder all
 * that checkOutputDir checks (a path through a file, a pseudo file system, read-only, full).
 * A regular file there is fine: it is replaced atomically. Returns where the bytes will land
 * (see writeTarget). Leaves nothing behind.
 */
export async function checkOutputFile(file: string, opts: Omit<OutputCheck, 'readFrom'> = {}): Promise<string> {
  const name = `${opts.name ?? 'output file'} ${file}`;
  const target = await writeTarget(file).catch((err) => {
    throw new Error(err instanceof NotWritable ? `${name}: ${err.message}; name a file to write` : `${name}: cannot be looked up (${fsReason(err)})`);
  });
  // The file is written under a temporary name beside it (in its folder, made if missing)
  // and renamed in: that folder (or its nearest existing ancestor) is where things are written.
  await checkPlace(name, dirname(target), basename(target), opts.needBytes);
  return target;
}

/**
 * The checks of the place things are written: `dir` (or its nearest existing ancestor) is a
 * folder, not a file, on a normal file system with room for `needBytes`, and a probe folder
 * and file named after `what` can be written there and removed.
 */
async function checkPlace(name: string, dir: string, what: string, needBytes?: number): Promise<void> {
  const have = await existingPart(dir).catch((err) => {
    throw new Error(`${name}: cannot be looked up (${fsReason(err)})`);
  });
  if (!have.isDir) throw new Error(`${name}: ${have.path} is a file, not a folder`);
  const base = have.path;
  const fs = await statfs(base).catch((err) => {
    throw new Error(`${name}: cannot look at the file system of ${base} (${fsReason(err)})`);
  });
  const pseudo = PSEUDO_FS[Number(fs.type)];
  if (pseudo) throw new Error(`${name}: ${base} is on the ${pseudo} pseudo file system (kernel interfaces, not files); choose a folder on a disk`);
  // Written first: a read-only file system (whose free space statfs gives as its size) is
  // read-only, not short of room.
  let probe: string | null = null;
  try {
    probe = await mkdtemp(join(base, `.${what}.probe-`));
    await writeFile(join(probe, 'probe'), new Uint8Array(4096), { mode: constants.S_IRUSR | constants.S_IWUSR });
  } catch (err) {
    throw new Error(`${name}: cannot write in ${base} (${fsReason(err)})`);
  } finally {
    if (probe) await rm(probe, { recursive: true, force: true }).catch(() => {});
  }
  const free = Number(fs.bavail) * Number(fs.bsize);
  if (needBytes && fs.blocks > 0 && free < needBytes) {
    throw new Error(`${name}: only ${mb(free)} free on the file system of ${base}, about ${mb(needBytes)} needed`);
  }
}

/** Why a path cannot be written as a file; the message has no path in it (callers add theirs). */
export class NotWritable extends Error {}

/** What a non-regular file is (from stat or lstat), for messages; null for a regular file. */
export function specialKind(st: Stats): string | null {
  if (st.isFile()) return null;
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Where a write of `file` lands: `file` itself (absolute) when nothing or a regular file is
 * there. A symbolic link is written through, like cp does: the link stays and the file it
 * resolves to gets the new bytes (replacing the link with a regular file would silently cut
 * it from what it shared). A dangling link (or a loop) is refused, as GNU cp refuses to write
 * through one: the file would appear wherever the link happens to point. Throws NotWritable
 * when something there, or at the link's end, is not a regular file: renaming over it would
 * replace a folder, FIFO, socket or device (/dev/null as root) with a regular file.
 */
export async function writeTarget(file: string): Promise<string> {
  const abs = resolve(file);
  let st: Stats;
  try {
    st = await lstat(abs);
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return abs; // nothing there (the folder is checked by whoever makes it)
    throw err;
  }
  let target = abs;
  let via = '';
  if (st.isSymbolicLink()) {
    try {
      target = await realpath(abs);
      st = await stat(target);
    } catch (err) {
      const code = codeOf(err);
      if (code !== 'ENOENT' && code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
      const to = await readlink(abs).catch(() => '?');
      throw new NotWritable(code === 'ELOOP' ? `is a link in a loop (to ${to})` : `is a dangling link (to ${to}, which does not exist), not written through`);
    }
    via = `is a link to ${target}, which `;
  }
  const kind = specialKind(st);
  if (kind) throw new NotWritable(`${via}is ${kind}, not a regular file`);
  return target;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
