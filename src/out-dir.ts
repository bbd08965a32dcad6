// Output folders (Node), checked before any expensive work: a command that will write a
// folder (train --out, weights convert --out) first makes sure the place can take it, so a
// mistake costs milliseconds instead of a training run. Checked: the path's existing part is
// folders (not a file), it is on a normal file system (not /proc, /sys and the like, where
// Node's recursive mkdir never returns), a probe folder and file can be written there (not
// read-only, not full), there is room for about what will be written, and it does not
// overlap the data being read. Also mkdirp, a mkdir -p that cannot hang.
import { constants } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

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

function explain(err: unknown): string {
  const code = codeOf(err);
  switch (code) {
    case 'EROFS':
      return 'read-only file system';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no space left on the file system';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    default:
      return String(code);
  }
}

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
      throw new Error(`${at}: cannot make the folder (${explain(err)})`);
    }
  }
}

/** `a` is `b` or inside it (both absolute, resolved). */
const within = (a: string, b: string) => a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);

/** The real path of `p` as far as it exists, with its missing tail appended. */
async function realish(p: string): Promise<string> {
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
    throw new Error(`${name}: cannot be looked up (${explain(err)})`);
  });
  if (!have.isDir) {
    throw new Error(have.path === abs ? `${name}: is a file, not a folder` : `${name}: ${have.path} is a file, not a folder`);
  }
  // The folder is replaced whole by a rename beside it: the parent (or its nearest existing
  // ancestor) is where things are written.
  const base = have.path === abs ? dirname(abs) : have.path;
  const fs = await statfs(base).catch((err) => {
    throw new Error(`${name}: cannot look at the file system of ${base} (${explain(err)})`);
  });
  const pseudo = PSEUDO_FS[Number(fs.type)];
  if (pseudo) throw new Error(`${name}: ${base} is on the ${pseudo} pseudo file system (kernel interfaces, not files); choose a folder on a disk`);
  const free = Number(fs.bavail) * Number(fs.bsize);
  if (opts.needBytes && fs.blocks > 0 && free < opts.needBytes) {
    throw new Error(`${name}: only ${mb(free)} free on the file system of ${base}, about ${mb(opts.needBytes)} needed`);
  }
  let probe: string | null = null;
  try {
    probe = await mkdtemp(join(base, `.${basename(abs)}.probe-`));
    await writeFile(join(probe, 'probe'), new Uint8Array(4096), { mode: constants.S_IRUSR | constants.S_IWUSR });
  } catch (err) {
    throw new Error(`${name}: cannot write in ${base} (${explain(err)})`);
  } finally {
    if (probe) await rm(probe, { recursive: true, force: true }).catch(() => {});
  }
  if (opts.readFrom?.length) {
    const o = await realish(abs);
    for (const r of opts.readFrom) {
      const d = await realish(r.path);
      if (!r.insideOk && within(o, d)) throw new Error(`${name}: is inside the ${r.what} ${r.path}; it would be read as part of it next time. Choose a folder outside ${r.path}`);
      if (within(d, o)) throw new Error(`${name}: contains the ${r.what} ${r.path}, which writing it would replace. Choose another folder`);
    }
  }
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
