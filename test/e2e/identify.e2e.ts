// The Identify tab's check alone (npx tsx test/e2e/identify.e2e.ts, a few minutes): builds and
// serves the page, runs identify.ts's check in headless Chromium (with Node's engine for the
// downloaded gallery) and exits non-zero on a failure. npm run test:e2e runs the same check
// on its own server, among the others.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { openEngine } from '../../src/node.ts';
import { checkIdentify } from './identify.ts';
import { buildAndServe, ROOT } from './serve.ts';

const DATASET = resolve(ROOT, process.env.FACEGPU_E2E_DATASET ?? '../shared/datasets/5-celebrity-faces');
const OUT = resolve(ROOT, 'test-output');
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
const failed: string[] = [];
let count = 0;

mkdirSync(OUT, { recursive: true });
const { gpu, engine } = await openEngine();
const server = await buildAndServe({ build: process.env.FACEGPU_E2E_NO_BUILD !== '1' });
try {
  await checkIdentify({
    url: server.url,
    out: OUT,
    dataset: DATASET,
    node: { gpu, engine },
    check(name, ok, detail) {
      count++;
      if (!ok) failed.push(name);
      console.log(`${ok ? '✓' : '✗'} ${name}: ${detail}`);
    },
    log: (msg) => console.log(`[identify ${elapsed()}] ${msg}`),
    onConsoleError: (text) => console.log(`page console error: ${text}`),
  });
} catch (err) {
  count++;
  failed.push('identify check run');
  console.log(`✗ identify check run: ${(err as Error).stack ?? err}`);
} finally {
  await server.close();
  engine.destroy();
  gpu.destroy();
}
console.log(`\nidentify (${elapsed()}): ${count - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
