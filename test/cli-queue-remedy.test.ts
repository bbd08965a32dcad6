// A batch a `facegpu worker` refuses with a RemedyError (here: the gallery's backbone is not
// converted on the worker's machine) reaches `facegpu index --queue` as BullMQ's failedReason, a
// string. The CLI words it as it words the same error locally: the problem, then the CLI's
// remedy (a `facegpu` command), never the library's (its functions). No GPU: the worker fails
// before opening a device; Redis is the test's own.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PREPROCESSING } from '../src/faces/framing.ts';
import { Gallery } from '../src/gallery/gallery.ts';
import { saveGallery } from '../src/gallery/store-node.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { CLI, type CliResult } from './helpers/train-data.ts';

let tmp: string;
let redis: TestRedis;
let worker: ChildProcess | null = null;
let workerLog = '';
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-queue-remedy-'));
  redis = await startRedis();
}, 60_000);
afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** `facegpu <args>` with these environment variables; never throws on a non-zero exit. */
async function facegpu(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Resolves when the worker's stderr matches. */
function workerSays(re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!re.test(workerLog)) return;
      worker!.stderr!.off('data', check);
      resolve();
    };
    worker!.stderr!.on('data', check);
    worker!.once('exit', () => reject(new Error(`worker exited before ${re}: ${workerLog}`)));
    check();
  });
}

describe('a RemedyError in a queue worker', () => {
  it('index --queue words it as index words it locally', async () => {
    // A gallery made with backbone "imagenet"; a weights folder without it, for the worker.
    const gallery = join(tmp, 'gallery');
    await saveGallery(gallery, Gallery.create({ name: gallery, backbone: { id: 'imagenet', sha256: 'a'.repeat(64) }, dim: 1024, preprocessing: { ...DEFAULT_PREPROCESSING }, normalisation: { method: 'l2' } }));
    const photos = join(tmp, 'photos');
    mkdirSync(photos);
    for (const f of ['a.jpg', 'b.jpg']) writeFileSync(join(photos, f), `not decoded: ${f}`);
    const weights = join(tmp, 'weights');
    mkdirSync(weights);
    const env = { ...process.env, FACEGPU_WEIGHTS: weights };
    const missing = join(weights, 'imagenet');
    const cliRemedy = `; run \`facegpu weights install\` (the face backbone; \`facegpu weights install imagenet\` for ImageNet's) or convert a model into it: \`facegpu weights convert <model.json> --out ${missing}\``;

    // Locally: the CLI's remedy.
    const local = await facegpu(['index', photos, '--gallery', gallery, '--no-progress'], env);
    expect(local.code).toBe(1);
    expect(local.stderr).toBe(`facegpu: ${join(missing, 'manifest.json')}: no converted backbone here${cliRemedy}\n`);

    // Through a worker: the same remedy, after the batch's failure and the worker's refusal.
    worker = spawn(process.execPath, [CLI, 'worker', '--queue', redis.url], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr!.on('data', (d) => (workerLog += d.toString()));
    await workerSays(/waiting for batches/);
    const queued = await facegpu(['index', photos, '--gallery', gallery, '--queue', redis.url, '--no-progress'], env);
    expect(queued.code).toBe(2);
    const why = `this worker cannot open backbone "imagenet" for gallery ${gallery}: ${join(missing, 'manifest.json')}: no converted backbone here${cliRemedy}`;
    const warnings = queued.stderr.trim().split('\n');
    expect(warnings.sort()).toEqual(['a.jpg', 'b.jpg'].map((f) => `facegpu: warning: ${join(photos, f)}: in a batch that failed for good (refused, or failed on every try): ${why}`));
    expect(queued.stdout).toMatch(/ 2 failed; /);
    // The worker says so too, in the CLI's words.
    await workerSays(/failed: /);
    expect(workerLog).toMatch(new RegExp(`^facegpu worker: batch \\S+ failed: ${why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(workerLog + queued.stderr).not.toMatch(/convertTfjsModel|saveBackbone/);
  }, 240_000);
});
