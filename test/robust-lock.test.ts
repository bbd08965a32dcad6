// Two writers of one folder. The atomic directory writer, raced by two processes without a
// lock, still ends every write with one complete folder and nothing beside it (it used to
// fail with ENOTEMPTY and leave .old-* folders). Two `train` runs into one --out: the second
// is refused at once, naming the first's pid; the folder is then a loadable model with no
// temporary, set-aside or lock file left. A lock whose holder was killed is taken over.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { lockPathOf, withGalleryLock } from '../src/gallery/lock-node.ts';
import { readModelMeta } from '../src/train/model-dir-node.ts';
import { CLI } from './helpers/train-data.ts';

const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'facegpu-writers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number;
}

function start(args: string[], onOut?: (text: string) => void): { pid: number; done: Promise<Done> } {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    onOut?.(stdout);
  });
  child.stderr.on('data', (d) => (stderr += d));
  return { pid: child.pid!, done: new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr, pid: child.pid! }))) };
}

const sideFolders = (dir: string, name: string) => readdirSync(dir).filter((n) => n.startsWith(`.${name}.`));

describe('the atomic directory writer under two processes', () => {
  it('2 processes x 300 writes: every write succeeds, one complete folder, nothing left beside it', async () => {
    const target = join(tmp, 'shared', 'dir');
    const script = join(tmp, 'atomic-writer.mts');
    writeFileSync(
      script,
      `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirAtomic } from ${JSON.stringify(join(root, 'src/atomic-fs.ts'))};
const [dir, who, n] = process.argv.slice(2);
let failed = 0;
for (let i = 0; i < Number(n); i++) {
  try {
    await writeDirAtomic(dir, async (tmp) => {
      await writeFile(join(tmp, 'a'), who + i);
      await writeFile(join(tmp, 'b'), who + i);
    });
  } catch (err) {
    failed++;
    console.error((err as Error).message);
  }
}
console.log('failed ' + failed);
`,
    );
    const runs = ['p', 'q'].map((who) => start(['--import', 'tsx', script, target, who, '300']));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) expect([r.code, r.stdout.trim(), r.stderr]).toEqual([0, 'failed 0', '']);
    expect(sideFolders(join(tmp, 'shared'), 'dir')).toEqual([]);
    const a = readFileSync(join(target, 'a'), 'utf8');
    expect(readFileSync(join(target, 'b'), 'utf8')).toBe(a); // both files from the same write
    expect(['p299', 'q299']).toContain(a);
  }, 120_000);
});

describe('two train runs into one --out', () => {
  it('the second is refused naming the first; the folder is a loadable model, nothing left beside it', async () => {
    const data = join(tmp, 'data');
    for (const [p, colour] of [['ann', 'red'], ['bob', 'blue']] as const) {
      mkdirSync(join(data, p), { recursive: true });
      for (let i = 0; i < 3; i++) {
        await sharp({ create: { width: 32, height: 32, channels: 3, background: colour } })
          .composite([{ input: { create: { width: 4 + 4 * i, height: 4, channels: 3, background: 'white' } }, left: 2, top: 2 }])
          .png()
          .toFile(join(data, p, `${i}.png`));
      }
    }
    const out = join(tmp, 'models', 'm');
    const args = [CLI, 'train', data, '--out', out, '--epochs', '1', '--crop', 'none', '--validation-split', '0.34'];
    const first = start(args);
    // Wait until the first holds the lock, then start the second while the first is paused:
    // the first's training takes about as long as a process starts, so running on, it could
    // finish and let the second in (it did, once, under a loaded machine).
    const t0 = Date.now();
    while (!existsSync(`${lockPathOf(out)}.json`) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    process.kill(first.pid, 'SIGSTOP');
    let second: Done;
    try {
      second = await start(args).done;
    } finally {
      process.kill(first.pid, 'SIGCONT');
    }
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toMatch(
      new RegExp(`^facegpu: ${out}: the model folder is locked by another writer, process ${first.pid} on ${hostname()} since \\S+ \\(.*train.*\\), which did not finish at once \\(no wait asked for\\); try again later`),
    );
    const a = await first.done;
    expect(a.code, a.stderr).toBe(0);
    const meta = await readModelMeta(out);
    expect(meta.labels).toEqual(['ann', 'bob']);
    expect(meta.metrics.status).toBe('complete');
    expect(readdirSync(out).sort()).toEqual(['facegpu.json', 'model.json', 'weights.bin']);
    expect(readdirSync(join(tmp, 'models'))).toEqual(['m']); // no .m.tmp-*, .m.old-*, .m.lock
  }, 300_000);
});

describe('a lock whose holder was killed', () => {
  it('is taken over at once, without waiting for it to go stale', async () => {
    const dir = join(tmp, 'orphan');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that has exited
    mkdirSync(lockPathOf(dir), { recursive: true });
    writeFileSync(`${lockPathOf(dir)}.json`, JSON.stringify({ pid: dead, host: hostname(), command: 'facegpu train', since: new Date().toISOString() }));
    const recent = new Date(Date.now() - 3000); // fresh enough that proper-lockfile calls it held
    utimesSync(lockPathOf(dir), recent, recent);
    const t0 = Date.now();
    expect(await withGalleryLock(dir, async () => 'got it', { timeoutMs: 0 })).toBe('got it'); // galleries share the folder lock
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(existsSync(lockPathOf(dir))).toBe(false);
    expect(existsSync(`${lockPathOf(dir)}.json`)).toBe(false);
  });
});
