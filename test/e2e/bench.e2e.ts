// The Benchmark tab's check alone (npx tsx test/e2e/bench.e2e.ts, a few minutes): builds and
// serves the page, runs bench.ts's check in headless Chromium and exits non-zero on a failure.
// FACEGPU_E2E_ORT=0 leaves out the ONNX Runtime run. npm run test:e2e runs the same check
// among the others.
import { launchChromium } from './chromium.ts';
import { checkBenchmark } from './bench.ts';
import { runStandalone } from './standalone.ts';

await runStandalone(
  'bench',
  async (ctx) => {
    const chrome = await launchChromium();
    try {
      const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
      page.on('console', (m) => m.type() === 'error' && ctx.onConsoleError(m.text()));
      page.on('pageerror', (e) => ctx.onConsoleError(e.message));
      await page.goto(ctx.url);
      await page.waitForSelector('body[data-ready="true"], #fatal:not([hidden])', { timeout: 240_000 });
      await checkBenchmark(page, ctx, { ort: process.env.FACEGPU_E2E_ORT !== '0' });
    } finally {
      await chrome.close();
    }
  },
  { build: process.env.FACEGPU_E2E_NO_BUILD !== '1' },
);
