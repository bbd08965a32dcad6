// Two writers on one gallery: each of two processes loads the gallery, adds its person and
// saves, under the gallery lock; both people are in the final gallery and one of them waited.
// A writer that cannot get the lock in time is refused with a message naming the gallery and
// the holder; a lock left by a dead writer is taken over once stale.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGallery, lockPathOf, withGalleryLock } from '../src/gallery/store-node.ts';

const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'facegpu-lock-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A writer process: waits for the go file, then load (or create) + add one person + hold + save.
const WRITER = join(tmp, 'writer.mts'); // .mts: an ES module (top-level await) outside the package
writeFileSync(
  WRITER,
  `
import { existsSync } from 'node:fs';
import { Gallery } from ${JSON.stringify(join(root, 'src/gallery/gallery.ts'))};
import { galleryExists, loadGallery, saveGallery, withGalleryLock } from ${JSON.stringify(join(root, 'src/gallery/store-node.ts'))};
import { rowOf, syntheticFaces } from ${JSON.stringify(join(root, 'src/gallery/synthetic.ts'))};
const [dir, person, first, holdMs, timeoutMs, go] = process.argv.slice(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dim = 32;
console.log('ready');
while (go && !existsSync(go)) await sleep(20);
try {
  await withGalleryLock(dir, async (lock) => {
    const g = (await galleryExists(dir)) ? await loadGallery(dir) : Gallery.create({ backbone: { id: 'face', sha256: 'ab' }, preprocessing: {}, normalisation: { method: 'l2' }, dim });
    const data = syntheticFaces({ seed: 1, dim, people: 1, perPerson: 3, firstPerson: Number(first) });
    g.addFaces(person, [0, 1, 2].map((f) => ({ file: person + f + '.jpg', box: [0, 0, 10, 10], score: 1, descriptor: rowOf(data.descriptors, dim, f) })));
    await sleep(Number(holdMs));
    await saveGallery(dir, g, { lock });
  }, { timeoutMs: Number(timeoutMs), onWait: (m) => console.log('WAITED ' + m) });
  console.log('saved ' + person);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
`,
);

interface Run {
  pid: number;
  ready: Promise<void>;
  done: Promise<{ code: number | null; stdout: string; stderr: string; pid: number }>;
}

function writer(dir: string, person: string, first: number, holdMs: number, timeoutMs: number, go = ''): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, person, String(first), String(holdMs), String(timeoutMs), go], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onReady: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (d) => {
    stdout += d;
    if (stdout.includes('ready')) onReady();
  });
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string; pid: number }>((r) =>
    child.on('close', (code) => {
      onReady(); // a writer that died early must not leave the test waiting
      r({ code, stdout, stderr, pid: child.pid! });
    }),
  );
  return { pid: child.pid!, ready, done };
}

describe('gallery lock', () => {
  it('two writers at once: one waits, both people are saved', async () => {
    const dir = join(tmp, 'family');
    const go = join(tmp, 'go');
    const a = writer(dir, 'alice', 0, 1500, 60_000, go);
    const b = writer(dir, 'bob', 1, 1500, 60_000, go);
    await Promise.all([a.ready, b.ready]); // both started: now let them race for the lock
    writeFileSync(go, '');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.code, rb.code, ra.stderr, rb.stderr]).toEqual([0, 0, '', '']);
    const waited = [ra, rb].filter((r) => r.stdout.includes('WAITED'));
    expect(waited).toHaveLength(1);
    const holder = waited[0] === ra ? rb : ra;
    expect(waited[0].stdout).toContain(`WAITED ${dir}: waiting for the gallery lock held by process ${holder.pid} on ${hostname()}`);
    const g = await loadGallery(dir);
    expect(g.people().map((p) => p.name).sort()).toEqual(['alice', 'bob']);
    expect(g.faces()).toHaveLength(6);
    // Nothing left behind: no lock, no holder file, no side folders.
    expect(readdirSync(tmp).filter((n) => n.startsWith('.family'))).toEqual([]);
  }, 120_000);

  it('the command line says what it waits for (gallery remove while a writer holds the lock)', async () => {
    const dir = join(tmp, 'family'); // alice and bob, saved above
    let stderr = '';
    let child: ReturnType<typeof spawn> | undefined;
    const { closed: exited } = await withGalleryLock(dir, async () => {
      child = spawn(process.execPath, [join(root, 'bin', 'facegpu.js'), 'gallery', 'remove', dir, 'alice'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      const closed = new Promise<number | null>((r) => child!.on('close', r));
      // Released once the command has said it waits (or has ended, which fails below).
      await new Promise<void>((r) => {
        child!.stderr!.on('data', (d) => {
          stderr += d;
          if (stderr.includes('waiting for the gallery lock')) r();
        });
        void closed.then(() => r());
        setTimeout(r, 15_000); // a command that never says so still gets the lock, and fails below
      });
      return { closed }; // not awaited here: the command goes on once the lock is released
    });
    expect(stderr).toContain(`facegpu: ${dir}: waiting for the gallery lock held by process ${process.pid} on ${hostname()}`);
    expect(await exited).toBe(0);
    expect((await loadGallery(dir)).people().map((p) => p.name)).toEqual(['bob']);
  }, 60_000);

  it('a writer that cannot get the lock in time is refused, naming the gallery and the holder', async () => {
    const dir = join(tmp, 'busy');
    const result = await withGalleryLock(dir, async () => (await writer(dir, 'carol', 2, 0, 1000).done));
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(
      new RegExp(`^${dir}: the gallery is locked by another writer, process ${process.pid} on ${hostname()} since \\S+ \\(.*\\), which did not finish within 1 s; try again later \\(a lock whose holder died is taken over after 30 s\\)$`),
    );
    expect(existsSync(dir)).toBe(false); // carol wrote nothing
  }, 60_000);

  it('a lock left by a dead writer is taken over once stale', async () => {
    const dir = join(tmp, 'orphan');
    mkdirSync(lockPathOf(dir), { recursive: true }); // what a killed writer leaves
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPathOf(dir), old, old);
    const t0 = Date.now();
    expect(await withGalleryLock(dir, async () => 'got it', { staleMs: 5000, timeoutMs: 2000 })).toBe('got it');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(existsSync(lockPathOf(dir))).toBe(false);
  });

  it('a writer stopped by Ctrl-C (SIGINT) or SIGTERM leaves neither the lock nor its holder file', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const dir = join(tmp, `interrupted-${signal}`);
      const w = writer(dir, 'dora', 0, 60_000, 1000);
      const holder = `${lockPathOf(dir)}.json`;
      for (let t = 0; !existsSync(holder); t++) {
        if (t > 600) throw new Error('the writer never took the lock');
        await new Promise((r) => setTimeout(r, 50));
      }
      process.kill(w.pid, signal);
      const r = await w.done;
      expect(r.code, r.stderr).not.toBe(0);
      expect(existsSync(lockPathOf(dir))).toBe(false);
      expect(existsSync(holder)).toBe(false);
    }
  }, 120_000);

  it('is released when the work throws', async () => {
    const dir = join(tmp, 'throws');
    await expect(withGalleryLock(dir, async () => Promise.reject(new Error('enroll failed')))).rejects.toThrow('enroll failed');
    expect(existsSync(lockPathOf(dir))).toBe(false);
    expect(await withGalleryLock(dir, async () => 1, { timeoutMs: 0 })).toBe(1);
  });
});
