// Mistakes told before any work: every flag and the output folder are checked before the GPU
// starts or an image is decoded. An output under /proc used to hang Node's recursive mkdir
// forever; a read-only or full file system failed after the whole training; an output inside
// the data folder broke every later train and eval on that data. An output file (weights
// export --onnx) that was a FIFO, socket, device or link was replaced by a regular file after
// all the work, and one under /proc failed late naming a temporary file.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDeadTemps, tempPathFor, writeFileAtomic } from '../src/atomic-fs.ts';
import { checkOutputDir, checkOutputFile, mkdirp } from '../src/out-dir.ts';
import { listPeople } from '../src/train/dataset-node.ts';
import { saveBackbone } from '../src/weights/store.ts';
import { ORL } from './helpers/faces.ts';
import { facegpu } from './helpers/train-data.ts';

const tmp = mkdtempSync(join(tmpdir(), 'facegpu-out-'));
let data: string;
// Photos nobody may decode: a check that passes them would fail on them instead.
beforeAll(() => {
  data = join(tmp, 'data');
  for (const p of ['ann', 'bob']) {
    mkdirSync(join(data, p), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(data, p, `${i}.jpg`), 'not decoded before the checks');
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * `facegpu args`, killed after 20 s (the old behaviour under /proc hung forever): a killed run
 * has code null and fails every check. That the check comes before any work needs no clock:
 * the photos in `data` are not images, so a run that read them first would fail on them.
 */
async function refused(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const r = await facegpu(args, 20_000).catch((e: { stderr?: string }) => ({ code: null, stdout: '', stderr: e.stderr ?? '(killed)' }));
  return { code: r.code, stderr: r.stderr };
}

describe('bad --out fails at once', () => {
  const cases: [string, (string | RegExp)][] = [
    ['/proc/self/x/model', '--out /proc/self/x/model: /proc/self is on the proc pseudo file system'],
    ['/proc/x', '--out /proc/x: /proc is on the proc pseudo file system'],
    ['/sys/x/model', '--out /sys/x/model: /sys is on the sysfs pseudo file system'],
  ];
  for (const [out, message] of cases) {
    it(`train --out ${out}`, async () => {
      const r = await refused(['train', data, '--out', out, '--epochs', '1']);
      expect(r.stderr.trim().split('\n')).toEqual([`facegpu: ${message} (kernel interfaces, not files); choose a folder on a disk`]);
      expect(r.code).toBe(1);
    });
  }

  it('train --out through a file', async () => {
    const file = join(tmp, 'afile');
    writeFileSync(file, 'x');
    const r = await refused(['train', data, '--out', join(file, 'model')]);
    expect(r.stderr.trim()).toBe(`facegpu: --out ${join(file, 'model')}: ${file} is a file, not a folder`);
    expect(r.code).toBe(1);
  });

  it('weights convert --out /proc/self/x/bb', async () => {
    const r = await refused(['weights', 'convert', join(tmp, 'model.json'), '--out', '/proc/self/x/bb']);
    expect(r.stderr.trim()).toBe('facegpu: --out /proc/self/x/bb: /proc/self is on the proc pseudo file system (kernel interfaces, not files); choose a folder on a disk');
    expect(r.code).toBe(1);
  });

  it('weights convert --out a folder holding something else: refused, nothing deleted', async () => {
    const mine = join(tmp, 'my-notes');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'important');
    const r = await refused(['weights', 'convert', join(tmp, 'model.json'), '--out', mine]);
    expect(r.stderr.trim()).toBe(`facegpu: ${mine}: exists and is not a converted backbone (no manifest.json); refusing to replace it (1 entry in it, e.g. notes.txt)`);
    expect(r.code).toBe(1);
    expect(readFileSync(join(mine, 'notes.txt'), 'utf8')).toBe('important');
    await expect(saveBackbone({} as never, mine)).rejects.toThrow('exists and is not a converted backbone');
  });

  it('mkdirp does not hang under /proc and names the folder', async () => {
    await expect(mkdirp('/proc/self/x/y')).rejects.toThrow('/proc/self/x: cannot make the folder (no such file or folder)');
    await mkdirp(join(tmp, 'a', 'b', 'c'));
    expect(existsSync(join(tmp, 'a', 'b', 'c'))).toBe(true);
  });

  // Read-only and full file systems need a mount: only where the tests run as root.
  const root = process.getuid?.() === 0;
  it.skipIf(!root)('a read-only and a full file system are refused before any work, leaving nothing behind', async ({ skip }) => {
    const ro = join(tmp, 'ro');
    const full = join(tmp, 'full');
    mkdirSync(ro);
    mkdirSync(full);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]); // small too: read-only is what it is told
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full]);
    } catch {
      return skip('no mounts allowed here (a container without the capability)');
    }
    try {
      const r = await refused(['train', data, '--out', join(ro, 'model')]);
      expect(r.stderr.trim()).toBe(`facegpu: --out ${join(ro, 'model')}: cannot write in ${ro} (read-only file system)`);
      const f = await refused(['train', data, '--out', join(full, 'model')]);
      expect(f.stderr.trim()).toMatch(new RegExp(`^facegpu: --out ${join(full, 'model')}: only 1\\.0 MiB free on the file system of ${full}, about 16\\.0 MiB needed$`));
      expect(readdirSync(full)).toEqual([]);
      // An output file's folder is checked the same way (the model is about the weights' size).
      const onnx = await refused(['weights', 'export', 'face', '--onnx', join(ro, 'x.onnx')]);
      expect(onnx.stderr.trim()).toBe(`facegpu: --onnx ${join(ro, 'x.onnx')}: cannot write in ${ro} (read-only file system)`);
      const big = await refused(['weights', 'export', 'face', '--onnx', join(full, 'x.onnx')]);
      expect(big.stderr.trim()).toMatch(new RegExp(`^facegpu: --onnx ${join(full, 'x.onnx')}: only 1\\.0 MiB free on the file system of ${full}, about 12\\.2 MiB needed$`));
      expect(readdirSync(full)).toEqual([]);
      // A gallery of 400 photos' faces: about 4.5 KiB each, told before the GPU starts.
      const enroll = await refused(['enroll', join(full, 'g'), ORL]);
      expect(enroll.stderr.trim().split('\n').at(-1)).toBe(`facegpu: gallery ${join(full, 'g')}: only 1.0 MiB free on the file system of ${full}, about 1.8 MiB needed`);
      expect(enroll.stderr).not.toContain('backbone');
      expect(readdirSync(full)).toEqual([]);
      // Filled up: even a small write fails, named.
      writeFileSync(join(full, 'filler'), new Uint8Array(1 << 20).subarray(0, (1 << 20) - 4096));
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${join(full, 'rest')}`, 'bs=4096'], { stdio: 'ignore' });
      } catch {
        // dd stops when the disk is full
      }
      await expect(checkOutputDir(join(full, 'model'))).rejects.toThrow(`output folder ${join(full, 'model')}: cannot write in ${full} (no space left on the file system)`);
    } finally {
      execFileSync('umount', [ro]);
      execFileSync('umount', [full]);
    }
  });
});

describe('every flag is checked before any work', () => {
  const bad: [string[], string][] = [
    [['--epochs', '-1'], '--epochs must be a positive integer, got -1'],
    [['--epochs', '0'], '--epochs must be a positive integer, got 0'],
    [['--batch-size', '0'], '--batch-size must be a positive integer, got 0'],
    [['--lr', '-5'], '--lr must be a positive number, got -5'],
    [['--extract-batch', '0'], '--extract-batch must be a positive integer, got 0'],
    [['--validation-split', '1'], '--validation-split must be a number in [0, 1), got 1'],
  ];
  for (const [flags, message] of bad) {
    it(`train ${flags.join(' ')}`, async () => {
      const r = await refused(['train', data, '--out', join(tmp, 'm'), ...flags]);
      expect(r.stderr.trim()).toBe(`facegpu: ${message}`);
      expect(existsSync(join(tmp, 'm'))).toBe(false);
    });
  }

  // bench, bench gallery and tune check their flags with the same parsers, so a bad value is
  // the same one line (not Commander's "error: option ... is invalid").
  const checkout: [string[], string][] = [
    [['bench', '--repeats', '0'], '--repeats must be a positive integer, got 0'],
    [['bench', '--batches', '1,x'], '--batches must be a comma-separated list of positive integers, got "1,x"'],
    [['bench', '--ort', 'wasm,gpu'], '--ort must be comma-separated ONNX Runtime sides (webgpu, wasm, node), got "wasm,gpu"'],
    [['bench', 'gallery', '--faces', 'many'], '--faces must be an integer, got "many"'],
    [['bench', 'gallery', '--candidates', '5'], '--candidates must be an integer from 10 to 4096, got 5'],
    [['bench', 'gallery', '--index', 'faiss'], '--index must be usearch or lancedb, got "faiss"'],
    [['bench', 'gallery', '--insert-order', 'sorted'], '--insert-order must be shuffled or identity, got "sorted"'],
    [['tune', '--rounds', '101'], '--rounds must be an integer from 1 to 100, got 101'],
    [['tune', '--batch-sizes', '0,8'], '--batch-sizes must be a comma-separated list of positive integers, got "0,8"'],
  ];
  for (const [args, message] of checkout) {
    it(args.join(' '), async () => {
      const r = await refused(args);
      expect(r).toEqual({ code: 1, stderr: `facegpu: ${message}\n` });
    });
  }

  it('predict --top 0 and --batch-size 0 are refused', async () => {
    const top = await refused(['predict', join(tmp, 'no-model'), data, '--top', '0']);
    expect(top.stderr.trim()).toBe('facegpu: --top must be a positive integer, got 0');
    const batch = await refused(['predict', join(tmp, 'no-model'), data, '--batch-size', '0']);
    expect(batch.stderr.trim()).toBe('facegpu: --batch-size must be a positive integer, got 0');
  });
});

describe('--out and the data folder', () => {
  it('an output inside the data folder is refused', async () => {
    const r = await refused(['train', data, '--out', join(data, 'model')]);
    expect(r.stderr.trim()).toBe(
      `facegpu: --out ${join(data, 'model')}: is inside the data folder ${data}; it would be read as part of it next time. Choose a folder outside ${data}`,
    );
    expect(existsSync(join(data, 'model'))).toBe(false);
  });

  it('a data folder inside the output is refused', async () => {
    const r = await refused(['train', data, '--out', tmp]);
    expect(r.stderr.trim()).toBe(`facegpu: --out ${tmp}: contains the data folder ${data}, which writing it would replace. Choose another folder`);
  });

  it('a model folder already left inside the data is skipped with a warning, not read as a person', async () => {
    const old = join(tmp, 'old-data');
    for (const p of ['ann', 'bob', 'model']) mkdirSync(join(old, p), { recursive: true });
    for (const p of ['ann', 'bob']) writeFileSync(join(old, p, '1.jpg'), 'x');
    for (const f of ['facegpu.json', 'model.json', 'weights.bin']) writeFileSync(join(old, 'model', f), '{}');
    const warnings: string[] = [];
    const people = await listPeople(old, { onWarning: (m) => warnings.push(m) });
    expect([...people.keys()]).toEqual(['ann', 'bob']);
    expect(warnings).toEqual([`${join(old, 'model')}: a facegpu model folder, not a person's photos; skipped`]);
  });
});

describe('enroll into a folder that is not a gallery', () => {
  // Refused before the GPU starts or a photo is read (the photos in `data` are not images:
  // an enrolment that ran would have skipped each with a warning, then been refused at the
  // save, its work thrown away).
  it('a folder with other files in it, and the data folder itself, are refused at once and left as they were', async () => {
    const other = join(tmp, 'somefolder');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'important.txt'), 'keep');
    const r = await refused(['enroll', other, data]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`facegpu: ${other}: exists and is not a facegpu gallery (no gallery.json); refusing to replace it`);
    // The data folder itself, or a gallery inside it (read as a person next time).
    for (const gallery of [data, join(data, 'people')]) {
      const inside = await refused(['enroll', gallery, data]);
      expect(inside.code).toBe(1);
      expect(inside.stderr.trim()).toBe(`facegpu: gallery ${gallery}: is inside the data folder ${data}; it would be read as part of it next time. Choose a folder outside ${data}`);
    }
    expect(readdirSync(other)).toEqual(['important.txt']);
    expect(readdirSync(data).sort()).toEqual(['ann', 'bob']);
  });

  it('a gallery under /proc, for enroll and index, is one line naming it, not a lock file\'s ENOENT', async () => {
    const e = await refused(['enroll', '/proc/g', data]);
    expect(e.stderr.trim()).toBe('facegpu: gallery /proc/g: /proc is on the proc pseudo file system (kernel interfaces, not files); choose a folder on a disk');
    const i = await refused(['index', data, '--gallery', '/proc/g']);
    expect(i.stderr.trim()).toBe('facegpu: --gallery /proc/g: /proc is on the proc pseudo file system (kernel interfaces, not files); choose a folder on a disk');
    // A gallery folder that would hold the photos it indexes: replacing it would take them along.
    const around = await refused(['index', data, '--gallery', tmp]);
    expect(around.stderr.trim()).toBe(`facegpu: --gallery ${tmp}: contains the photo folder ${data}, which writing it would replace. Choose another folder`);
  });
});

describe('an output file that is not a regular file is refused before any work', () => {
  // Everything made in a fresh folder of its own: nothing under /dev is ever written to.
  const dir = mkdtempSync(join(tmpdir(), 'facegpu-outfile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'pipe.onnx');
  const real = join(dir, 'real.onnx');
  const toReal = join(dir, 'to-real.onnx');
  const toFifo = join(dir, 'to-pipe.onnx');
  const dangling = join(dir, 'dangling.onnx');
  beforeAll(() => {
    execFileSync('mkfifo', [fifo]);
    writeFileSync(real, 'old');
    symlinkSync('real.onnx', toReal);
    symlinkSync('pipe.onnx', toFifo);
    symlinkSync('nowhere/x.onnx', dangling);
  });
  /** No backbone there: a run that did any work before checking --onnx fails on that instead. */
  const noBackbone = () => join(dir, 'no-backbone');

  const cases: [string, () => string, () => string][] = [
    ['a FIFO', () => fifo, () => `--onnx ${fifo}: is a FIFO (named pipe), not a regular file; name a file to write`],
    ['a link to a FIFO', () => toFifo, () => `--onnx ${toFifo}: is a link to ${fifo}, which is a FIFO (named pipe), not a regular file; name a file to write`],
    ['a dangling link', () => dangling, () => `--onnx ${dangling}: is a dangling link (to nowhere/x.onnx, which does not exist), not written through; name a file to write`],
    ['a folder', () => dir, () => `--onnx ${dir}: is a folder, not a regular file; name a file to write`],
    ['/proc/x.onnx', () => '/proc/x.onnx', () => '--onnx /proc/x.onnx: /proc is on the proc pseudo file system (kernel interfaces, not files); choose a folder on a disk'],
    ['/sys/x.onnx', () => '/sys/x.onnx', () => '--onnx /sys/x.onnx: /sys is on the sysfs pseudo file system (kernel interfaces, not files); choose a folder on a disk'],
    ['a path through a file', () => join(real, 'x.onnx'), () => `--onnx ${join(real, 'x.onnx')}: ${real} is a file, not a folder`],
  ];
  for (const [what, out, message] of cases) {
    it(`weights export --onnx ${what}`, async () => {
      const r = await refused(['weights', 'export', noBackbone(), '--onnx', out()]);
      expect(r).toEqual({ code: 1, stderr: `facegpu: ${message()}\n` });
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      expect(readlinkSync(dangling)).toBe('nowhere/x.onnx');
      expect(readdirSync(dir).sort()).toEqual(['dangling.onnx', 'pipe.onnx', 'real.onnx', 'to-pipe.onnx', 'to-real.onnx']);
    });
  }

  it('a socket is refused too, and a missing folder on the way is fine', async () => {
    const sock = join(dir, 'sock.onnx');
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      await expect(checkOutputFile(sock, { name: '--onnx' })).rejects.toThrow(`--onnx ${sock}: is a socket, not a regular file; name a file to write`);
      await expect(checkOutputFile(join(dir, 'new', 'x.onnx'))).resolves.toBe(join(dir, 'new', 'x.onnx'));
      expect(existsSync(join(dir, 'new'))).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  // Written through, as cp does: the link stays a link, the file it points to gets the model.
  it('weights export --onnx through a link to a regular file replaces that file and keeps the link', async () => {
    const r = await refused(['weights', 'export', 'face', '--onnx', toReal]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lstatSync(toReal).isSymbolicLink()).toBe(true);
    expect(readlinkSync(toReal)).toBe('real.onnx');
    expect(lstatSync(real).size).toBeGreaterThan(10e6);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-') || n.includes('.probe-'))).toEqual([]);
  });

  it("writeFileAtomic removes the temporary files a killed writer left beside its file, never a live one's", async () => {
    const dir = join(tmp, 'temps');
    mkdirSync(dir);
    const file = join(dir, 'face.onnx');
    const dead = 2 ** 22 + 1; // above Linux's pid_max default: no such process
    const left = [`face.onnx.tmp-${dead}-1-0`, `face.onnx.tmp-${dead}`];
    const live = `face.onnx.tmp-${process.ppid}-1-0`; // a process that runs (vitest's parent)
    for (const n of [...left, live, `other.onnx.tmp-${dead}-1-0`]) writeFileSync(join(dir, n), 'partial');
    await writeFileAtomic(file, 'whole');
    expect(readdirSync(dir).sort()).toEqual(['face.onnx', live, `other.onnx.tmp-${dead}-1-0`].sort());
    expect(readFileSync(file, 'utf8')).toBe('whole');
    // The names writers use (tempPathFor) are the ones it tells by: this process's kept, the
    // same name of a dead process removed.
    const mine = tempPathFor(file);
    const killed = mine.replace(`.tmp-${process.pid}-`, `.tmp-${dead}-`);
    expect(killed).not.toBe(mine);
    for (const f of [mine, killed]) writeFileSync(f, 'partial');
    removeDeadTemps(file);
    expect(readdirSync(dir).sort()).toEqual(['face.onnx', live, `other.onnx.tmp-${dead}-1-0`, basename(mine)].sort());
  });

  it('writeFileAtomic never renames over a FIFO or a dangling link, writes through a link, replaces a regular file', async () => {
    await expect(writeFileAtomic(fifo, 'x')).rejects.toThrow(`${fifo}: not replaced: it is a FIFO (named pipe), not a regular file`);
    await expect(writeFileAtomic(toFifo, 'x')).rejects.toThrow(`${toFifo}: not replaced: it is a link to ${fifo}, which is a FIFO (named pipe), not a regular file`);
    await expect(writeFileAtomic(dangling, 'x')).rejects.toThrow(`${dangling}: not replaced: it is a dangling link (to nowhere/x.onnx, which does not exist), not written through`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readlinkSync(dangling)).toBe('nowhere/x.onnx');
    const plain = join(dir, 'plain.json');
    await writeFileAtomic(plain, 'one');
    await writeFileAtomic(plain, 'two');
    expect(readFileSync(plain, 'utf8')).toBe('two');
    await writeFileAtomic(toReal, 'three');
    expect(readlinkSync(toReal)).toBe('real.onnx');
    expect(readFileSync(real, 'utf8')).toBe('three');
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
  it('writeFileAtomic keeps the mode of the file it replaces (a private 600, a read-only 444); a new file gets the umask', async () => {
    const dir = join(tmp, 'modes');
    mkdirSync(dir);
    for (const mode of [0o600, 0o444]) {
      const file = join(dir, `m${mode.toString(8)}.json`);
      writeFileSync(file, 'old');
      chmodSync(file, mode);
      await writeFileAtomic(file, 'new');
      expect(readFileSync(file, 'utf8')).toBe('new');
      expect(statSync(file).mode & 0o7777).toBe(mode);
    }
    await writeFileAtomic(join(dir, 'fresh.json'), 'x');
    expect(statSync(join(dir, 'fresh.json')).mode & 0o777).toBe(0o666 & ~process.umask());
  });
});
