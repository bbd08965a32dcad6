// The kit for a GPU machine without Node, npm or network (scripts/device-kit.mjs and
// scripts/device-bench.sh; bench/README.md, "On a real GPU"): a device session has minutes, so
// the kit must work the first time there. Here it is built, then unpacked and run the way the
// device runs it: in a folder with the checkout's shaders and scripts but no node_modules, with
// the kit's own Node, on lavapipe, and its figures and descriptors checked.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const KIT = join(ROOT, '.devkit', 'kit.tar.xz');

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('the device kit', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'facegpu-devkit-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('packs the benchmark, Node, Dawn and the backbone into one file under the device\'s 64 MiB', () => {
    const r = spawnSync(process.execPath, ['scripts/device-kit.mjs'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^device-kit: .*kit\.tar\.xz \([\d.]+ MiB\)/);
    // What else travels with it (the checkout's tracked files) is a few MiB.
    expect(statSync(KIT).size).toBeLessThan(56 * 2 ** 20);
    expect(existsSync(join(ROOT, '.devkit', 'stage'))).toBe(false);
  });

  /**
   * A folder as the device gets it (the checkout's shaders and script, the kit; no
   * node_modules), and a PATH with the tools the script uses but no node (a `node` there would
   * be this checkout's) and no ldconfig: the script then loads Vulkan through the kit's own
   * loader, as on a machine whose image has none.
   */
  function deviceFolder(name: string): { repo: string; env: NodeJS.ProcessEnv } {
    const repo = join(tmp, name);
    mkdirSync(join(repo, '.devkit'), { recursive: true });
    cpSync(join(ROOT, 'shaders'), join(repo, 'shaders'), { recursive: true });
    cpSync(join(ROOT, 'scripts', 'device-bench.sh'), join(repo, 'scripts', 'device-bench.sh'));
    cpSync(KIT, join(repo, '.devkit', 'kit.tar.xz'));
    const bin = join(repo, 'bin');
    mkdirSync(bin);
    for (const tool of ['bash', 'tar', 'xz', 'mkdir', 'dirname', 'rm']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(bin, tool));
    }
    return { repo, env: { HOME: process.env.HOME ?? tmp, PATH: bin, OUT: join(repo, 'out'), FACEGPU_ADAPTER: 'lavapipe' } };
  }

  it('runs `facegpu bench` from a folder without node_modules, with its own Node, and our descriptors agree with tfjs-webgpu\'s and ONNX Runtime WebGPU\'s', () => {
    const { repo, env } = deviceFolder('args');
    const r = spawnSync(join(repo, 'bin', 'bash'), ['scripts/device-bench.sh', '--batches', '2', '--repeats', '1', '--gpu-repeats', '0', '--no-kernels', '--no-wasm', '--no-training-work', '--ort', 'webgpu', '--json'], { cwd: repo, encoding: 'utf8', env, maxBuffer: 64 * 2 ** 20 });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.adapter.architecture).toBeTruthy();
    const [row] = result.endToEnd;
    expect(row.batch).toBe(2);
    expect(row.oursMsPerImage).toBeGreaterThan(0);
    expect(row.tfjsWebgpuMsPerImage).toBeGreaterThan(0);
    expect(row.minCosine.tfjsWebgpu).toBeGreaterThan(0.9999);
    expect(row.ortWebgpuMsPerImage).toBeGreaterThan(0);
    expect(row.minCosine.ortWebgpu).toBeGreaterThan(0.9999);
    expect(result.environment['tfjs-backend-webgpu']).toMatch(/^\d+\.\d+\.\d+/);
    expect(result.environment.webgpu).toMatch(/^\d+\.\d+\.\d+/);
    expect(JSON.parse(readFileSync(join(env.OUT!, 'results.json'), 'utf8')).endToEnd).toHaveLength(1);
  });

  it('without arguments benchmarks the hand-picked kernels, tunes, and benchmarks the tuned ones (at the smallest scale here)', () => {
    const { repo, env } = deviceFolder('default');
    const r = spawnSync(join(repo, 'bin', 'bash'), ['scripts/device-bench.sh'], { cwd: repo, encoding: 'utf8', env: { ...env, FACEGPU_DEVICE_BENCH_SCALE: 'small' }, maxBuffer: 64 * 2 ** 20 });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const out = env.OUT!;
    const hand = JSON.parse(readFileSync(join(out, 'hand', 'results.json'), 'utf8'));
    const tuning = JSON.parse(readFileSync(join(out, 'tuning.json'), 'utf8'));
    const tuned = JSON.parse(readFileSync(join(out, 'tuned', 'results.json'), 'utf8'));
    expect(hand.settings.kernelSource.source).toBe('hand-picked');
    expect(tuning.fromCache).toBe(false);
    expect(tuning.samples).toBeGreaterThan(0);
    expect(tuned.settings.kernelSource.file).toBe(tuning.file);
    for (const run of [hand, tuned]) expect(run.endToEnd[0].minCosine.tfjsWebgpu).toBeGreaterThan(0.9999);
  });
});
