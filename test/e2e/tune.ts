// The Benchmark tab's "Tune kernels for this GPU" end to end, in a browser context of its own
// (an empty IndexedDB): before tuning the panel says the kernels are hand-picked; tuning
// (batch 1, one round, the first 3 candidates of each layer shape: the page's quick setting,
// since every candidate at batch sizes 1 and 8 takes many minutes on SwiftShader) lists a
// kernel for every layer and swaps the page's engine for one on the tuned kernels; after a
// reload the tuning comes from IndexedDB with nothing timed (the panel says "from saved
// tuning", shows no timing log, counts no sample, and the page created no command encoder
// labelled "tuner sample": counted by a script wrapped around GPUDevice before the page
// loads), lists the same kernels, and the benchmark (batch 1, one run) reports that it ran the
// tuned kernels, those of the list. Used by run.e2e.ts and by tune.e2e.ts alone.
import type { Page } from 'playwright-core';
import { join } from 'node:path';
import { launchBrowser } from './chromium.ts';
import type { PageCheckOptions } from './check.ts';

export type TuneCheckOptions = PageCheckOptions;

/**
 * Counts the tuner's timing samples (its command encoders are labelled "tuner sample") in
 * window.__tunerSamples, from before the page's own scripts run. A string: functions handed
 * to the page must not carry the helpers tsx adds to named functions.
 */
const COUNT_TUNER_SAMPLES = `
  window.__tunerSamples = 0;
  if (globalThis.GPUDevice) {
    const create = GPUDevice.prototype.createCommandEncoder;
    GPUDevice.prototype.createCommandEncoder = function (desc) {
      if (desc && desc.label === 'tuner sample') window.__tunerSamples++;
      return create.call(this, desc);
    };
  }
`;

interface PanelState {
  source: string | null;
  state: string | null;
  text: string;
  status: string;
  statusState: string | null;
  samples: string | null;
  logLines: number;
  /** Per layer: [layer, kernel at each tuned batch]. */
  layers: { layer: string; kernels: string[] }[];
  tunerSamples: number;
  engineTuned: boolean;
  layerCount: number;
}

async function panel(page: Page): Promise<PanelState> {
  // No named functions inside: tsx would add a helper the page does not have.
  return page.evaluate(() => {
    const source = document.querySelector<HTMLElement>('#tune-source')!;
    const status = document.querySelector<HTMLElement>('#tune-status')!;
    const f = (window as unknown as { facegpu: { engine: { tuned: unknown; manifest: { layers: unknown[] } } } }).facegpu;
    return {
      source: source.dataset.source ?? null,
      state: source.dataset.state ?? null,
      text: source.textContent ?? '',
      status: status.textContent ?? '',
      statusState: status.dataset.state ?? null,
      samples: status.dataset.samples ?? null,
      logLines: document.querySelectorAll('#tune-log li').length,
      layers: [...document.querySelectorAll<HTMLElement>('[data-testid=tune-layer]')].map((tr) => ({
        layer: tr.dataset.layer ?? '',
        kernels: [...tr.querySelectorAll<HTMLElement>('[data-kernel]')].map((td) => td.dataset.kernel ?? ''),
      })),
      tunerSamples: (window as unknown as { __tunerSamples: number }).__tunerSamples,
      engineTuned: f.engine.tuned !== null,
      layerCount: f.engine.manifest.layers.length,
    };
  });
}

/** The page loaded, its Benchmark tab open and the saved tuning looked for. */
async function openTab(page: Page): Promise<PanelState> {
  await page.waitForSelector('body[data-ready="true"], #fatal:not([hidden])', { timeout: 240_000 });
  if (await page.locator('#fatal').isVisible()) throw new Error(`the page did not load: ${await page.locator('#fatal').innerText()}`);
  await page.click('[data-testid=tab-benchmark]');
  await page.waitForSelector('#tune-source[data-state], #tune-status[data-state="error"]', { timeout: 60_000 });
  return panel(page);
}

/** A kernel as the engine names it (kernelKey): shader(CONSTANTS), maybe <TYPES>, maybe " rows=n". */
const KERNEL = /^[a-z0-9_]+\([A-Za-z0-9_=,]*\)(<[A-Za-z0-9_=,]*>)?( rows=\d+)?$/;

export async function checkTuning(opts: TuneCheckOptions): Promise<void> {
  const { check, log } = opts;
  const browser = await launchBrowser();
  const t0 = Date.now();
  const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 960 } });
    await context.addInitScript({ content: COUNT_TUNER_SAMPLES });
    if (opts.onRequest) context.on('request', (r) => opts.onRequest!(r.url()));
    const page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && opts.onConsoleError?.(m.text()));
    page.on('pageerror', (e) => opts.onConsoleError?.(e.message));
    await page.goto(opts.url);

    const before = await openTab(page);
    check(
      'tune: before tuning, the panel says the kernels are hand-picked',
      before.source === 'hand-picked' && before.state === 'none' && /hand-picked/.test(before.text) && !before.engineTuned,
      `data-source ${before.source}, state ${before.state}: "${before.text}"${before.statusState === 'error' ? `; error "${before.status}"` : ''}`,
    );

    log('tune: tuning in the page (batch 1, 1 round, 3 candidates per layer shape)');
    await page.selectOption('#tune-batches', '1');
    await page.selectOption('#tune-rounds', '1');
    await page.selectOption('#tune-candidates', '3');
    // The engine the page runs before tuning: nothing else holds it here (no model, the Identify tab never opened).
    await page.evaluate(() => {
      const w = window as unknown as { facegpu: { engine: unknown }; replacedEngine?: unknown };
      w.replacedEngine = w.facegpu.engine;
    });
    const tuneStart = Date.now();
    await page.click('[data-testid=tune-run]');
    await page.waitForSelector('#tune-status[data-state="done"], #tune-status[data-state="error"]', { timeout: 900_000 });
    const tuneTime = seconds(tuneStart);
    const tuned = await panel(page);
    check('tune: the tuning runs in the page', tuned.statusState === 'done', `${tuneTime}: "${tuned.status}"`);
    const missing = tuned.layers.filter((l) => l.kernels.length !== 1 || !l.kernels.every((k) => KERNEL.test(k)));
    check(
      `tune: a kernel named for each of the ${tuned.layerCount} layers`,
      tuned.layers.length === tuned.layerCount && tuned.layerCount > 0 && missing.length === 0,
      missing.length ? `no kernel name: ${missing.slice(0, 3).map((l) => `${l.layer} [${l.kernels.join(', ')}]`).join('; ')}` : `${tuned.layers.length} rows, e.g. ${tuned.layers[1]?.layer}: ${tuned.layers[1]?.kernels[0]}`,
    );
    check(
      'tune: the candidates were timed in the page, and the page now runs the tuning',
      tuned.tunerSamples > 0 && Number(tuned.samples) > 0 && tuned.logLines > 0 && tuned.source === 'tuned' && tuned.state === 'tuned' && tuned.engineTuned,
      `${tuned.tunerSamples} samples counted (${tuned.samples} said), ${tuned.logLines} log lines; data-source ${tuned.source}, state ${tuned.state}, engine tuned ${tuned.engineTuned}: "${tuned.text}"`,
    );
    const freed = await page.evaluate(() => {
      const w = window as unknown as { facegpu: { engine: unknown }; replacedEngine: { destroyed?: boolean } };
      return { replaced: w.facegpu.engine !== w.replacedEngine, destroyed: w.replacedEngine.destroyed === true };
    });
    check('tune: the engine the tuning replaced was freed (nothing else ran on it)', freed.replaced && freed.destroyed, `replaced ${freed.replaced}, destroyed ${freed.destroyed}`);
    check('tune: the panel names the adapter the tuning is keyed to and where it is kept', /keyed to adapter \S/.test(tuned.text) && /IndexedDB facegpu-tuning\/tunings\//.test(tuned.text), tuned.text);
    await page.screenshot({ path: join(opts.out, 'e2e-tune.png'), fullPage: true });

    log('tune: reloading the page (the tuning is in IndexedDB)');
    const reloadStart = Date.now();
    await page.reload();
    await page.waitForSelector('body[data-ready="true"], #fatal:not([hidden])', { timeout: 240_000 });
    // The engine the page opened at load (openEngine's default: the saved tuning), before the tab is opened.
    const atLoad = await page.evaluate(() => (window as unknown as { facegpu?: { engine: { tuned: unknown } } }).facegpu?.engine.tuned != null);
    check('tune: after a reload the page opens its engine on the saved tuning', atLoad, `engine.tuned ${atLoad ? 'set' : 'null'} at load`);
    const after = await openTab(page);
    const sameList = JSON.stringify(after.layers) === JSON.stringify(tuned.layers);
    check(
      'tune: after a reload the saved tuning is used, nothing timed',
      after.source === 'tuned' && after.state === 'saved' && /from saved tuning/.test(after.text) && after.engineTuned && after.tunerSamples === 0 && after.samples === '0' && after.logLines === 0 && after.statusState !== 'tuning',
      `${seconds(reloadStart)} to the panel; data-source ${after.source}, state ${after.state}, engine tuned ${after.engineTuned}, ${after.tunerSamples} tuner samples, ${after.logLines} log lines: "${after.text}"`,
    );
    check('tune: after a reload the panel lists the same kernel per layer', sameList, sameList ? `${after.layers.length} layers` : `before ${JSON.stringify(tuned.layers.slice(0, 2))}, after ${JSON.stringify(after.layers.slice(0, 2))}`);

    log('tune: the benchmark on the saved tuning (batch 1, one run)');
    await page.selectOption('#bench-batch', '1');
    await page.selectOption('#bench-runs', '1');
    await page.selectOption('#bench-clock', 'auto');
    await page.setChecked('#bench-ort', false);
    const benchStart = Date.now();
    await page.click('[data-testid=bench-run]');
    await page.waitForSelector('#bench-summary[data-done="true"], #bench-status[data-state="error"]', { timeout: 600_000 });
    const benchStatus = await page.locator('#bench-status').innerText();
    const json = await page.locator('#bench-summary').getAttribute('data-result');
    const r = json ? (JSON.parse(json) as { kernels: { source: string; where: string | null }; layers: { label: string; kernel: string }[] }) : null;
    const expected = tuned.layers.map((l) => l.kernels[0]);
    const differ = r ? r.layers.filter((l, i) => l.kernel !== expected[i]).map((l) => l.label) : [];
    check(
      'tune: the benchmark reports the tuned kernels, from this browser\'s saved tuning',
      !!r && r.kernels.source === 'tuned' && /IndexedDB/.test(r.kernels.where ?? '') && /tuned by measuring/.test(benchStatus) && r.layers.length === expected.length && differ.length === 0,
      r ? `${seconds(benchStart)}; kernels ${r.kernels.source} (${r.kernels.where}); ${differ.length ? `layers whose kernel is not the tuned one: ${differ.slice(0, 3).join(', ')}` : 'every layer on its tuned kernel'}; status "${benchStatus}"` : `no result: "${benchStatus}"`,
    );
    const samplesAfter = (await panel(page)).tunerSamples;
    check('tune: nothing was timed by the tuner after the reload', samplesAfter === 0, `${samplesAfter} tuner samples`);
    log(`tune: ${seconds(t0)} in all (tuning ${tuneTime})`);
  } finally {
    await browser.close().catch(() => undefined);
  }
}
