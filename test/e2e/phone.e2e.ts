// The phone-layout check alone (npx tsx test/e2e/phone.e2e.ts, about a minute): builds and
// serves the page, runs phone.ts's check in headless Chromium and exits non-zero on a failure.
// npm run test:e2e runs the same check on its own server, among the others.
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchBrowser } from './chromium.ts';
import { checkPhoneLayout } from './phone.ts';
import { buildAndServe, ROOT } from './serve.ts';

const DATASET = resolve(ROOT, process.env.FACEGPU_E2E_DATASET ?? '../shared/datasets/5-celebrity-faces');
const OUT = resolve(ROOT, 'test-output');
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
const failed: string[] = [];
let count = 0;
const photos = (folder: string) => readdirSync(join(DATASET, 'train', folder)).sort().slice(0, 3).map((f) => join(DATASET, 'train', folder, f));

mkdirSync(OUT, { recursive: true });
const server = await buildAndServe();
const browser = await launchBrowser();
try {
  await checkPhoneLayout(browser, {
    url: server.url,
    out: OUT,
    people: [
      { name: 'Maria Fernanda de los Ángeles Rodríguez-Villanueva', photos: photos('ben_afflek') },
      { name: 'Wolfeschlegelsteinhausenbergerdorff', photos: photos('mindy_kaling') },
    ],
    check(name, ok, detail) {
      count++;
      if (!ok) failed.push(name);
      console.log(`${ok ? '✓' : '✗'} ${name}: ${detail}`);
    },
    log: (msg) => console.log(`[phone ${elapsed()}] ${msg}`),
    onConsoleError: (text) => console.log(`page console error: ${text}`),
  });
} catch (err) {
  count++;
  failed.push('phone check run');
  console.log(`✗ phone check run: ${(err as Error).stack ?? err}`);
} finally {
  await browser.close();
  await server.close();
}
console.log(`\nphone (${elapsed()}): ${count - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
