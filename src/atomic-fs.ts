// Atomic writes (Node). A file is written under a temporary name and renamed into place; a
// directory is written whole beside its target and renamed in. The one moment without a
// directory at the target (between moving the old one aside and the new one in) is recovered
// from: side folders are named after the writing process, so `recoverDir` can tell a dead
// writer's leftovers from a live one's, put a complete set-aside copy back and remove
// half-written ones. Used for converted backbones and trained model folders alike.
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

const TMP = 'tmp';
const OLD = 'old';
let counter = 0;

const sideName = (target: string, kind: string) => join(dirname(target), `.${basename(target)}.${kind}-${process.pid}-${Date.now()}-${counter++}`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Side folders of `target` left by a process that died mid-write. */
async function leftovers(target: string): Promise<{ kind: string; stamp: number; path: string }[]> {
  const prefix = `.${basename(target)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(target));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix))
    .map((n) => {
      const m = /^(tmp|old)-(\d+)-(\d+)-\d+$/.exec(n.slice(prefix.length));
      return m && !alive(Number(m[2])) ? { kind: m[1], stamp: Number(m[3]), path: join(dirname(target), n) } : null;
    })
    .filter((x): x is NonNullable<typeof x> => x !== null);
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
  const target = resolve(dir);
  const left = await leftovers(target);
  const olds = left.filter((l) => l.kind === OLD).sort((a, b) => b.stamp - a.stamp);
  if (olds.length && !(await exists(target))) {
    await rename(olds[0].path, target);
    olds.shift();
  }
  for (const l of [...olds, ...left.filter((x) => x.kind === TMP)]) await rm(l.path, { recursive: true, force: true });
}

/** Replace `dir` whole with what `fill(tmp)` writes into a fresh side folder. */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const target = resolve(dir);
  await mkdir(dirname(target), { recursive: true });
  const tmp = sideName(target, TMP);
  await mkdir(tmp);
  try {
    await fill(tmp);
    const old = sideName(target, OLD);
    let moved = false;
    try {
      await rename(target, old);
      moved = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rename(tmp, target);
    if (moved) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Write one file atomically (temp file + rename). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}-${counter++}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
