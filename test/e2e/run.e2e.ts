// End-to-end test of the demo page in a real browser (npm run test:e2e): Debian's Chromium,
// headless, WebGPU on SwiftShader. It builds and serves the page on 127.0.0.1, adds two
// people with a few photos each through the page's file inputs, trains (faces cropped by
// BlazeFace, as the CLI does, and recorded in the model), recognises a photo that was held
// back, warns about a photo without a face, checks that the page's descriptor of an image
// equals Node's for the same pixels, exchanges face-crop models with Node both ways (page ->
// Node predict, Node train -> page predict), asserts that no request left the machine, and
// saves a screenshot to test-output/e2e.png. First, on a phone-size screen (390x844, touch;
// phone.ts), it checks that the page fits the screen's width and its controls are touch
// targets, and saves test-output/e2e-phone.png; then the Identify tab (identify.ts): people
// enrolled in a gallery, photos and the live (fake) camera identified, strangers, two faces
// in one picture, the gallery opened in Node and kept across a reload, with screenshots
// test-output/e2e-identify.png and e2e-identify-phone.png; then the training tab's backbone
// picker (backbone.ts): ImageNet picked, two classes of shapes trained, the model records it;
// then the Benchmark tab's kernel tuning (tune.ts): hand-picked before, a kernel per layer
// after tuning, the tuning read back from IndexedDB after a reload with nothing timed, and
// the benchmark running it.
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Download } from 'playwright-core';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { openEngine } from '../../src/node.ts';
import { cropRecordFor, load as loadModel, predict as predictFiles, train as trainModel } from '../../src/train/index.ts';
import { decodeImageRGB } from '../../src/image/decode.ts';
import { checkBenchmark } from './bench.ts';
import { launchBrowser, launchChromium } from './chromium.ts';
import { checkIdentify } from './identify.ts';
import { checkBackbonePicker } from './backbone.ts';
import { checkTuning } from './tune.ts';
import { checkPhoneLayout } from './phone.ts';
import { buildAndServe, ROOT } from './serve.ts';

const DATASET = resolve(ROOT, process.env.FACEGPU_E2E_DATASET ?? '../shared/datasets/5-celebrity-faces');
const OUT = resolve(ROOT, 'test-output');
/** The two people (folder -> name typed into the page) and how many training photos each. */
const PEOPLE = [
  { folder: 'ben_afflek', name: 'Ben Affleck' },
  { folder: 'mindy_kaling', name: 'Mindy Kaling' },
];
const PHOTOS_EACH = 5;
const EPOCHS = 20;
/** A photo of the first person the page never saw (from val/). */
const HELD_BACK = { person: PEOPLE[0], file: 'httpafilesbiographycomimageuploadcfillcssrgbdprgfacehqwMTENDgMDUODczNDcNTcjpg.jpg' };
const MIN_COSINE = 0.999;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
const checks: Check[] = [];
function check(name: string, ok: boolean, detail: string): void {
  checks.push({ name, ok, detail });
  console.log(`${ok ? '✓' : '✗'} ${name}: ${detail}`);
}

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
const log = (msg: string) => console.log(`[e2e ${elapsed()}] ${msg}`);

function photos(split: 'train' | 'val', folder: string): string[] {
  const dir = join(DATASET, split, folder);
  return readdirSync(dir).sort().map((f) => join(dir, f));
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const heldBackFile = join(DATASET, 'val', HELD_BACK.person.folder, HELD_BACK.file);

  // Node's descriptor of the held-back photo, from a 224x224 PNG of it: the page gets the same
  // PNG, so canvas decoding is lossless and both sides embed identical pixels.
  log('Node: embedding the reference image');
  const { gpu, engine } = await openEngine();
  const size = engine.inputSize;
  const nodePixels = await decodeImageRGB(readFileSync(heldBackFile), size, heldBackFile);
  const pngFile = join(OUT, 'e2e-reference-224.png');
  writeFileSync(pngFile, await sharp(nodePixels, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer());
  const nodeDescriptor = await engine.embed(nodePixels, 1);

  // A face-crop model trained in Node on the same photos (the CLI's default crop), for the page to load.
  log('Node: training a face-crop model on the same photos');
  const nodeData = join(OUT, 'e2e-node-data');
  const nodeModelDir = join(OUT, 'e2e-node-model');
  rmSync(nodeData, { recursive: true, force: true });
  rmSync(nodeModelDir, { recursive: true, force: true });
  for (const p of PEOPLE) {
    mkdirSync(join(nodeData, p.folder), { recursive: true });
    for (const f of photos('train', p.folder).slice(0, PHOTOS_EACH)) symlinkSync(f, join(nodeData, p.folder, f.slice(f.lastIndexOf('/') + 1)));
  }
  const nodeTrained = await trainModel(nodeData, { gpu, engine }, { out: nodeModelDir, epochs: EPOCHS, seed: 1, crop: 'face' });
  nodeTrained.head.dispose();
  const nodeClassifier = await loadModel(nodeModelDir, { gpu, engine });
  const nodeOnHeldBack = (await predictFiles(nodeClassifier, [heldBackFile])).predictions[0];
  nodeClassifier.head.dispose();
  log(`Node model: crop ${JSON.stringify(nodeTrained.meta.preprocessing.crop)}, held-back photo -> "${nodeOnHeldBack?.label}" (${((nodeOnHeldBack?.probability ?? 0) * 100).toFixed(1)}%)`);

  // A photo with no face in it: flat grey.
  const greyFile = join(OUT, 'e2e-no-face-grey.png');
  writeFileSync(greyFile, await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer());

  log('building and serving the page');
  let server = await buildAndServe();
  log(`page at ${server.url}`);
  const requests: string[] = [];
  const consoleErrors: string[] = [];

  log('phone: the page at 390x844 with touch');
  const phoneBrowser = await launchBrowser();
  try {
    await checkPhoneLayout(phoneBrowser, {
      url: server.url,
      out: OUT,
      // Long names on purpose: they must wrap or shorten inside their card.
      people: [
        { name: 'Maria Fernanda de los Ángeles Rodríguez-Villanueva', photos: photos('train', PEOPLE[0].folder).slice(0, 3) },
        { name: 'Wolfeschlegelsteinhausenbergerdorff', photos: photos('train', PEOPLE[1].folder).slice(0, 3) },
      ],
      check,
      log,
      onRequest: (url) => requests.push(url),
      onConsoleError: (text) => consoleErrors.push(text),
    });
  } catch (err) {
    check('phone layout run', false, (err as Error).stack ?? String(err));
  } finally {
    await phoneBrowser.close().catch(() => undefined);
  }

  log('identify: the Identify tab (open-set identity in the page)');
  try {
    await checkIdentify({
      url: server.url,
      out: OUT,
      dataset: DATASET,
      node: { gpu, engine },
      check,
      log,
      onRequest: (url) => requests.push(url),
      onConsoleError: (text) => consoleErrors.push(text),
    });
  } catch (err) {
    check('identify run', false, (err as Error).stack ?? String(err));
  }

  log('backbone picker: training on the ImageNet backbone (backbone.ts)');
  try {
    await checkBackbonePicker({ url: server.url, out: OUT, check, log, onRequest: (url) => requests.push(url), onConsoleError: (text) => consoleErrors.push(text) });
  } catch (err) {
    check('backbone picker run', false, (err as Error).stack ?? String(err));
  }

  log('tuning: the Benchmark tab tunes the kernels, a reload reads the tuning back (tune.ts)');
  try {
    await checkTuning({ url: server.url, out: OUT, check, log, onRequest: (url) => requests.push(url), onConsoleError: (text) => consoleErrors.push(text) });
  } catch (err) {
    check('tuning run', false, (err as Error).stack ?? String(err));
  }

  let chrome = await launchChromium();
  chrome.context.on('request', (r) => requests.push(r.url()));
  const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  try {
    await page.goto(server.url);
    const adapter = await page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter();
      return a ? `${a.info.vendor} ${a.info.architecture}` : null;
    });
    check('WebGPU adapter in the page', !!adapter, adapter ?? 'navigator.gpu.requestAdapter() gave nothing');
    if (!adapter) return;
    await page.waitForSelector('body[data-ready="true"], #fatal:not([hidden])', { timeout: 240_000 });
    const fatal = await page.locator('#fatal').isVisible();
    check('page loads the face model', !fatal, fatal ? await page.locator('#fatal').innerText() : await page.locator('#status').innerText());
    if (fatal) return;

    log('adding people and photos');
    for (const p of PEOPLE) {
      await page.fill('[data-testid=person-name]', p.name);
      await page.click('[data-testid=add-person]');
      await page.setInputFiles(`input[data-testid=person-files][data-person="${p.name}"]`, photos('train', p.folder).slice(0, PHOTOS_EACH));
    }
    await page.waitForFunction(() => (window as any).facegpu.people.pending === 0, undefined, { timeout: 300_000, polling: 500 });
    const counts = await page.locator('[data-testid=person-count]').allInnerTexts();
    check('photos added to the people', counts.every((c) => c.startsWith(`${PHOTOS_EACH} photos`) && !c.includes('unreadable')), counts.join(' | '));
    log(`photos: ${counts.join(' | ')}`);

    log('training');
    await page.fill('[data-testid=epochs]', String(EPOCHS));
    await page.click('[data-testid=train]');
    await page.waitForSelector('#train-status[data-state="trained"], #train-status[data-state="error"]', { timeout: 400_000 });
    const trainStatus = await page.locator('#train-status').innerText();
    const trained = (await page.locator('#train-status').getAttribute('data-state')) === 'trained';
    check('training in the page', trained, trainStatus);
    if (!trained) return;

    log('predicting the held-back photo');
    await page.setInputFiles('[data-testid=predict-file]', heldBackFile);
    await page.waitForSelector('[data-testid=prediction]', { timeout: 120_000 });
    const top = page.locator('[data-testid=prediction]').first();
    const label = await top.getAttribute('data-label');
    const p = Number(await top.getAttribute('data-probability'));
    check('held-back photo recognised', label === HELD_BACK.person.name, `top label "${label}" (${(p * 100).toFixed(1)}%), expected "${HELD_BACK.person.name}"`);
    const seen = await page.locator('#predict-crop figcaption').innerText();
    const heldBackWarned = await page.locator('#predict-warning').isVisible();
    check('the page predicts on the face it found', /the face the network saw/.test(seen) && !heldBackWarned, `crop preview "${seen}"${heldBackWarned ? `, warning "${await page.locator('#predict-warning').innerText()}"` : ''}`);

    log('predicting a photo without a face');
    await page.setInputFiles('[data-testid=predict-file]', greyFile);
    await page.waitForSelector('#predict-warning:not([hidden])', { timeout: 60_000 }).catch(() => undefined);
    const greyWarning = (await page.locator('#predict-warning').isVisible()) ? await page.locator('#predict-warning').innerText() : '';
    check('a photo without a face: whole photo and a warning naming it', greyWarning.includes('e2e-no-face-grey.png') && /no face found/.test(greyWarning), greyWarning || 'no warning shown');

    log('comparing the page descriptor with Node');
    const png = readFileSync(pngFile).toString('base64');
    const fromPage = await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const f = (window as any).facegpu;
      const pixels: Uint8Array = await f.imageToRGB(new File([bytes], 'reference.png', { type: 'image/png' }), f.engine.inputSize);
      const descriptor: Float32Array = await f.engine.embed(pixels, 1);
      return { pixels: Array.from(pixels), descriptor: Array.from(descriptor) };
    }, png);
    const differing = fromPage.pixels.reduce((n, v, i) => n + (v !== nodePixels[i] ? 1 : 0), 0);
    check('page decodes the same pixels as Node', differing === 0, `${differing} of ${nodePixels.length} bytes differ`);
    const cos = cosine(fromPage.descriptor, nodeDescriptor);
    check(`page descriptor matches Node's (cosine >= ${MIN_COSINE})`, cos >= MIN_COSINE, `cosine ${cos.toFixed(6)} over ${nodeDescriptor.length} values`);

    await page.screenshot({ path: join(OUT, 'e2e.png'), fullPage: true });
    log(`screenshot: ${join(OUT, 'e2e.png')}`);

    log('downloading the model and loading it in Node');
    const modelDir = join(OUT, 'e2e-model');
    rmSync(modelDir, { recursive: true, force: true });
    mkdirSync(modelDir, { recursive: true });
    const downloads: Download[] = [];
    const got3 = new Promise<void>((done) => page.on('download', (d) => downloads.push(d) === 3 && done()));
    await page.click('[data-testid=download-model]');
    await Promise.race([got3, page.waitForTimeout(30_000)]);
    for (const d of downloads) await d.saveAs(join(modelDir, d.suggestedFilename()));
    const names = downloads.map((d) => d.suggestedFilename()).sort();
    check('model downloads as a Node model folder', names.join() === 'facegpu.json,model.json,weights.bin', names.join(', ') || 'no download');
    if (names.length === 3) {
      const recorded = JSON.parse(readFileSync(join(modelDir, 'facegpu.json'), 'utf8')).preprocessing?.crop;
      const expected = cropRecordFor('face');
      check('the page-trained model records the face crop as Node does', JSON.stringify(recorded) === JSON.stringify(expected), `page ${JSON.stringify(recorded)}, Node ${JSON.stringify(expected)}`);
      const classifier = await loadModel(modelDir, { gpu, engine });
      const { predictions } = await predictFiles(classifier, [heldBackFile]);
      const nodeLabel = predictions[0]?.label;
      check('Node predicts with the page-trained model', nodeLabel === label, `Node: "${nodeLabel}" (${((predictions[0]?.probability ?? 0) * 100).toFixed(1)}%), page: "${label}" (${(p * 100).toFixed(1)}%)`);
      classifier.head.dispose();
    }

    log('webcam: one photo of the second person from the (fake) camera');
    const second = PEOPLE[1].name;
    await page.click(`[data-testid=person][data-person="${second}"] [data-testid=person-camera]`);
    await page.waitForFunction(() => (document.querySelector('#camera-video') as HTMLVideoElement).readyState >= 2, undefined, { timeout: 30_000 });
    await page.click('#camera-snap');
    await page.waitForFunction((name) => {
      const card = document.querySelector(`[data-testid=person][data-person="${name}"]`);
      return card?.querySelectorAll('.thumb.ok').length === 6;
    }, second, { timeout: 30_000 }).catch(() => undefined);
    await page.click('#camera-cancel');
    const afterCamera = await page.locator(`[data-testid=person][data-person="${second}"] [data-testid=person-count]`).innerText();
    check('webcam capture adds a photo', afterCamera.startsWith(`${PHOTOS_EACH + 1} photos`), `${second}: ${afterCamera}`);

    log('benchmark tab (bench.ts): batch 1, GPU timestamps, then wall clock with ONNX Runtime WebGPU');
    await checkBenchmark(page, { out: OUT, check, log }, { ort: process.env.FACEGPU_E2E_ORT !== '0' });
    await page.click('[data-testid=tab-recognize]');

    log('saving in IndexedDB, reloading, loading it back');
    await page.click('[data-testid=save-browser]');
    await page.waitForFunction(() => /Saved in this browser/.test(document.querySelector('#train-status')!.textContent ?? ''), undefined, { timeout: 60_000 });
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 240_000 });
    await page.click('[data-testid=load-browser]');
    await page.waitForSelector('#train-status[data-state="loaded"], #train-status[data-state="error"]', { timeout: 60_000 });
    log(await page.locator('#train-status').innerText());
    await page.setInputFiles('[data-testid=predict-file]', heldBackFile);
    await page.waitForSelector('[data-testid=prediction], .predict-note[data-state="error"]', { timeout: 120_000 });
    const reloaded = await page.locator('[data-testid=prediction]').first().getAttribute('data-label');
    check('model saved in IndexedDB predicts after a reload', reloaded === label, `"${reloaded}" (${await page.locator('#train-status').innerText()})`);
    if (names.length === 3) {
      await page.setInputFiles('[data-testid=load-file]', names.map((n) => join(modelDir, n)));
      await page.waitForFunction(() => /Loaded from files|Could not load/.test(document.querySelector('#train-status')!.textContent ?? ''), undefined, { timeout: 60_000 });
      const text = await page.locator('#train-status').innerText();
      check('downloaded model loads back from files', text.startsWith('Loaded from files'), text);
    }

    log('loading the face-crop model trained in Node');
    // The status already says "Loaded from files" (the page's own model): wait for the Node model's labels.
    const nodeLabels = `Loaded from files: recognises ${nodeTrained.meta.labels.join(', ')} `;
    await page.setInputFiles('[data-testid=load-file]', ['facegpu.json', 'model.json', 'weights.bin'].map((n) => join(nodeModelDir, n)));
    await page.waitForFunction((expect) => {
      const text = document.querySelector('#train-status')!.textContent ?? '';
      return text.startsWith(expect) || /Could not load/.test(text);
    }, nodeLabels, { timeout: 60_000 });
    const nodeLoaded = await page.locator('#train-status').innerText();
    const nodeOk = nodeLoaded.startsWith(nodeLabels) && /faces cropped, margin 1\.3/.test(nodeLoaded);
    check('the page loads a face-crop model made in Node', nodeOk, nodeLoaded);
    if (nodeOk) {
      await page.setInputFiles('[data-testid=predict-file]', heldBackFile);
      await page.waitForSelector('[data-testid=prediction], .predict-note[data-state="error"]', { timeout: 120_000 });
      const first = page.locator('[data-testid=prediction]').first();
      const pageLabel = await first.getAttribute('data-label').catch(() => null);
      const pageP = Number(await first.getAttribute('data-probability').catch(() => NaN));
      check(
        'the page predicts as Node with the Node-trained model',
        pageLabel === nodeOnHeldBack?.label && pageLabel === HELD_BACK.person.folder,
        `page: "${pageLabel}" (${(pageP * 100).toFixed(1)}%), Node: "${nodeOnHeldBack?.label}" (${((nodeOnHeldBack?.probability ?? 0) * 100).toFixed(1)}%)`,
      );
    }

    log('offline: stopping the server and reloading the page');
    await server.close();
    await page.reload();
    await page.waitForSelector('body[data-ready="true"], #fatal:not([hidden])', { timeout: 240_000 });
    const offlineStatus = await page.locator('#status').innerText();
    await page.click('[data-testid=load-browser]');
    await page.waitForSelector('#train-status[data-state="loaded"], #train-status[data-state="error"]', { timeout: 60_000 });
    await page.setInputFiles('[data-testid=predict-file]', heldBackFile);
    await page.waitForSelector('[data-testid=prediction], .predict-note[data-state="error"]', { timeout: 120_000 });
    const offlineLabel = await page.locator('[data-testid=prediction]').first().getAttribute('data-label').catch(() => null);
    check('works offline once loaded', /model from cache/.test(offlineStatus) && offlineLabel === label, `status "${offlineStatus}", prediction "${offlineLabel}"`);

    log('without WebGPU: the page must say so');
    await chrome.close();
    chrome = await launchChromium({ webgpu: false });
    chrome.context.on('request', (r) => requests.push(r.url()));
    const noGpu = chrome.context.pages()[0] ?? (await chrome.context.newPage());
    server = await buildAndServe({ build: false });
    await noGpu.goto(server.url);
    await noGpu.waitForSelector('#fatal:not([hidden]), body[data-ready="true"]', { timeout: 120_000 });
    const fatalText = (await noGpu.locator('#fatal').isVisible()) ? await noGpu.locator('#fatal').innerText() : '';
    check('clear message where WebGPU is missing', /WebGPU/.test(fatalText) && /adapter|navigator\.gpu/.test(fatalText), fatalText.replace(/\s+/g, ' ') || 'no message shown');
    await noGpu.screenshot({ path: join(OUT, 'e2e-no-webgpu.png') });
  } finally {
    const outside = requests.filter((u) => {
      const url = new URL(u);
      return (url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'ws:' || url.protocol === 'wss:') && !LOCAL_HOSTS.has(url.hostname);
    });
    check('no request left localhost', outside.length === 0 && requests.length > 0, outside.length ? outside.slice(0, 5).join(', ') : `${requests.length} requests, all to localhost`);
    if (consoleErrors.length) console.log(`page console errors:\n  ${consoleErrors.slice(0, 10).join('\n  ')}`);
    await chrome.close();
    await server.close();
    engine.destroy();
    gpu.destroy();
  }
}

try {
  await main();
} catch (err) {
  check('e2e run', false, (err as Error).stack ?? String(err));
}
const failed = checks.filter((c) => !c.ok).length;
console.log(`\ne2e (${elapsed()}): ${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
