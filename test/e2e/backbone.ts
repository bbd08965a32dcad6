// The training tab's backbone picker end to end: with the ImageNet backbone's files made
// unreachable (the request answered 404), picking it says how to install it; then, served,
// two classes of synthetic pictures (discs and squares, made here) train on it with whole
// photos, the downloaded model must record the ImageNet backbone (id and sha256 of
// weights/imagenet) and its descriptor scale, and a new picture of each class is predicted
// in the page. Fails if the choice is ignored (the model would name the face backbone).
// Used by run.e2e.ts and by backbone.e2e.ts alone; skipped, as a failed check saying why,
// when weights/imagenet is not installed.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Download } from 'playwright-core';
import sharp from 'sharp';
import { shapePicture } from '../helpers/images.ts';
import { launchBrowser } from './chromium.ts';
import { ROOT } from './serve.ts';
import type { PageCheckOptions } from './check.ts';

export type BackboneCheckOptions = PageCheckOptions;

const IMAGENET = resolve(ROOT, process.env.FACEGPU_WEIGHTS ?? 'weights', 'imagenet');
const KINDS = ['circle', 'square'] as const;
const PHOTOS_EACH = 5;
const EPOCHS = 10;

async function shapeFiles(dir: string): Promise<{ train: Record<string, string[]>; fresh: Record<string, string> }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const train: Record<string, string[]> = {};
  const fresh: Record<string, string> = {};
  for (const [k, kind] of KINDS.entries()) {
    train[kind] = [];
    const png = (seed: number, file: string) => sharp(shapePicture(kind, seed), { raw: { width: 160, height: 160, channels: 3 } }).png().toFile(file);
    for (let i = 0; i < PHOTOS_EACH; i++) {
      const file = join(dir, `${kind}-${i}.png`);
      await png(i * 2 + k, file);
      train[kind].push(file);
    }
    fresh[kind] = join(dir, `new-${kind}.png`);
    await png(1000 + k, fresh[kind]);
  }
  return { train, fresh };
}

export async function checkBackbonePicker(opts: BackboneCheckOptions): Promise<void> {
  const { check, log } = opts;
  if (!existsSync(join(IMAGENET, 'manifest.json'))) {
    check('backbone picker: ImageNet installed', false, `${IMAGENET} has no manifest.json: run \`npx facegpu weights install imagenet\` first`);
    return;
  }
  const expectedSha = JSON.parse(readFileSync(join(IMAGENET, 'manifest.json'), 'utf8')).weightsSha256 as string;
  const pictures = await shapeFiles(join(opts.out, 'e2e-shapes'));
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    context.on('request', (r) => opts.onRequest?.(r.url()));
    page.on('console', (m) => m.type() === 'error' && opts.onConsoleError?.(m.text()));
    await page.goto(opts.url);
    await page.waitForSelector('body[data-ready="true"], #fatal:not([hidden])', { timeout: 240_000 });
    if (await page.locator('#fatal').isVisible()) {
      check('backbone picker: page loads', false, await page.locator('#fatal').innerText());
      return;
    }

    log('backbone picker: ImageNet not served -> a message saying how to install it');
    const block = '**/weights/imagenet/**';
    await page.route(block, (r) => r.fulfill({ status: 404, body: 'not found' }));
    await page.selectOption('[data-testid=backbone]', 'imagenet');
    await page.waitForSelector('#train-warning:not([hidden])', { timeout: 30_000 }).catch(() => undefined);
    const missing = (await page.locator('#train-warning').isVisible()) ? await page.locator('#train-warning').innerText() : '';
    check('backbone picker: a missing ImageNet backbone is said, with how to install it', /not installed/.test(missing) && missing.includes('npx facegpu weights install imagenet'), missing || 'no message shown');
    await page.unroute(block);

    log('backbone picker: two classes of shapes on the ImageNet backbone, whole photos');
    for (const kind of KINDS) {
      await page.fill('[data-testid=person-name]', kind);
      await page.click('[data-testid=add-person]');
      await page.setInputFiles(`input[data-testid=person-files][data-person="${kind}"]`, pictures.train[kind]);
    }
    await page.waitForFunction(() => (window as any).facegpu.people.pending === 0, undefined, { timeout: 120_000, polling: 500 });
    await page.selectOption('[data-testid=crop]', 'none');
    // Picked again now that it is served: the failed load must not stick.
    await page.selectOption('[data-testid=backbone]', 'face');
    await page.selectOption('[data-testid=backbone]', 'imagenet');
    await page.fill('[data-testid=epochs]', String(EPOCHS));
    await page.click('[data-testid=train]');
    await page.waitForSelector('#train-status[data-state="trained"], #train-status[data-state="error"]', { timeout: 400_000 });
    const status = await page.locator('#train-status').innerText();
    const trained = (await page.locator('#train-status').getAttribute('data-state')) === 'trained';
    check('backbone picker: trains on the ImageNet backbone', trained && /backbone “imagenet”/.test(status), status);
    if (!trained) return;

    const downloads: Download[] = [];
    const got3 = new Promise<void>((done) => page.on('download', (d) => downloads.push(d) === 3 && done()));
    await page.click('[data-testid=download-model]');
    await Promise.race([got3, page.waitForTimeout(30_000)]);
    const metaDownload = downloads.find((d) => d.suggestedFilename() === 'facegpu.json');
    const meta = metaDownload ? JSON.parse(readFileSync((await metaDownload.path())!, 'utf8')) : null;
    check(
      'backbone picker: the model records the ImageNet backbone',
      meta?.backbone?.id === 'imagenet' && meta.backbone.weightsSha256 === expectedSha && meta.preprocessing?.crop?.method === 'none',
      meta ? `backbone ${meta.backbone.id} (sha256 ${String(meta.backbone.weightsSha256).slice(0, 12)}…, weights/imagenet has ${expectedSha.slice(0, 12)}…), crop ${meta.preprocessing?.crop?.method}` : 'no facegpu.json downloaded',
    );
    const scale = meta?.head?.inputScale;
    check('backbone picker: the descriptor scale is recorded (ImageNet descriptors brought down)', !!scale && scale.meanNorm > 15 && scale.scale < 1, JSON.stringify(scale ?? null));

    const right: string[] = [];
    for (const kind of KINDS) {
      // The note after the last prediction: wait for this picture's answer, not the one before.
      await page.evaluate(() => document.querySelectorAll('[data-testid=prediction]').forEach((e) => e.remove()));
      await page.setInputFiles('[data-testid=predict-file]', pictures.fresh[kind]);
      await page.waitForSelector('[data-testid=prediction], .predict-note[data-state="error"]', { timeout: 120_000 });
      const label = await page.locator('[data-testid=prediction]').first().getAttribute('data-label').catch(() => null);
      right.push(`${kind} -> ${label}`);
    }
    check('backbone picker: new pictures predicted with the ImageNet model', right.every((r) => r.split(' -> ')[0] === r.split(' -> ')[1]), right.join(', '));
    await page.screenshot({ path: join(opts.out, 'e2e-backbone.png'), fullPage: true });
  } finally {
    await browser.close().catch(() => undefined);
  }
}
