// The Benchmark tab's check (npm run test:e2e, or alone: bench.e2e.ts). At batch 1 on
// SwiftShader it runs the tab twice:
// 1. the default clock (GPU timestamps where the device has them): every layer must have a
//    facegpu and a tfjs time above zero, in the result and in the table the page shows (the
//    tfjs column once read 0.00 ms throughout: the page's tfjs backend ran our kernels, outside
//    tfjs' timers), tfjs must have run its own kernels (none of ours dispatched meanwhile), its
//    descriptors must match ours, the page must say which clock it used, show our kernel of
//    every layer and say whether they were tuned or hand-picked;
// 2. with `ort`: the wall clock (each layer alone to queue idle) and the ONNX Runtime WebGPU
//    column, one run after the warm-up: again every per-layer time above zero, and ORT's
//    descriptors matching ours.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { PageCheckOptions } from './check.ts';

/** Descriptors of the same pixels on another runtime: float32 rounding only. */
const MIN_COSINE = 0.9999;

interface Row {
  label: string;
  ours: number;
  tfjs: number;
  kernel: string;
  fusedInto?: string;
}
interface Result {
  batch: number;
  clock: 'gpu' | 'wall';
  clockNote: string;
  layers: Row[];
  network: { ours: number; tfjs: number; ortWebgpu: number | null };
  cosine: { tfjs: number; ortWebgpu: number | null };
  oursDuringTfjs: number;
  ortSetupSeconds: number | null;
  kernels: { source: 'tuned' | 'hand-picked'; tunedBatch: number | null; where: string | null };
}

export type BenchCheckContext = Pick<PageCheckOptions, 'out' | 'check' | 'log'>;

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const ms = (v: number | null) => (v === null ? 'none' : `${v.toFixed(1)} ms`);

async function runTab(page: Page, opts: { clock: 'auto' | 'wall'; ort: boolean; runs: string; timeout: number }): Promise<{ result: Result | null; status: string; table: string[][]; seconds: number }> {
  await page.selectOption('#bench-batch', '1');
  await page.selectOption('#bench-runs', opts.runs);
  await page.selectOption('#bench-clock', opts.clock);
  await page.setChecked('#bench-ort', opts.ort);
  const t0 = Date.now();
  await page.click('[data-testid=bench-run]');
  await page.waitForSelector('#bench-summary[data-done="true"], #bench-status[data-state="error"]', { timeout: opts.timeout });
  const seconds = (Date.now() - t0) / 1000;
  const status = await page.locator('#bench-status').innerText();
  const json = await page.locator('#bench-summary').getAttribute('data-result');
  const table = await page.locator('[data-testid=bench-layer]').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  return { result: json ? (JSON.parse(json) as Result) : null, status, table, seconds };
}

/** Checks of one run: per-layer times, the clock said, tfjs on its own kernels, tfjs' cosine. */
function checkRun(tag: string, run: Awaited<ReturnType<typeof runTab>>, expectClock: 'gpu' | 'wall', layerCount: number, ctx: BenchCheckContext): Result | null {
  const r = run.result;
  ctx.check(`benchmark (${tag}) runs`, !!r, r ? `${run.seconds.toFixed(0)} s` : run.status);
  if (!r) return null;
  const zeroTfjs = r.layers.filter((l) => !positive(l.tfjs)).map((l) => `${l.label}: ${l.tfjs}`);
  // A depthwise fused with the next layer (a tuned choice) is timed in that layer's row.
  const zeroOurs = r.layers.filter((l) => !positive(l.ours) && !l.fusedInto).map((l) => `${l.label}: ${l.ours}`);
  ctx.check(
    `benchmark (${tag}): a tfjs time above zero for each of the ${layerCount} layers`,
    r.layers.length === layerCount && zeroTfjs.length === 0,
    zeroTfjs.length ? `zero or missing: ${zeroTfjs.slice(0, 5).join(', ')}` : `${r.layers.length} layers, tfjs ${Math.min(...r.layers.map((l) => l.tfjs)).toFixed(2)}-${Math.max(...r.layers.map((l) => l.tfjs)).toFixed(1)} ms`,
  );
  ctx.check(`benchmark (${tag}): a facegpu time above zero for each layer`, r.layers.length === layerCount && zeroOurs.length === 0, zeroOurs.length ? `zero or missing: ${zeroOurs.join(', ')}` : `${Math.min(...r.layers.map((l) => l.ours)).toFixed(2)}-${Math.max(...r.layers.map((l) => l.ours)).toFixed(1)} ms`);
  const shownZero = run.table.filter((cells) => cells.length !== 4 || cells.slice(1, 3).some((c) => !/\d/.test(c) || /^0(\.0+)? ms$/.test(c.trim())));
  ctx.check(`benchmark (${tag}): the page's per-layer table shows no zero`, run.table.length === layerCount && shownZero.length === 0, shownZero.length ? shownZero.slice(0, 3).map((c) => c.join(' | ')).join('; ') : `${run.table.length} rows`);
  const unnamed = r.layers.filter((l, i) => !/^[a-z0-9_]+\(/.test(l.kernel) || run.table[i]?.[3] !== l.kernel).map((l) => l.label);
  const said = r.kernels.source === 'tuned' ? /Our kernels: tuned by measuring/.test(run.status) : /Our kernels: hand-picked/.test(run.status);
  ctx.check(
    `benchmark (${tag}): our kernel of each layer in the table, and which kernels ran (tuned or hand-picked) said`,
    unnamed.length === 0 && r.layers.length === layerCount && said,
    `${unnamed.length ? `no kernel shown for ${unnamed.slice(0, 3).join(', ')}; ` : ''}kernels ${r.kernels.source}; status "${run.status}"`,
  );
  ctx.check(`benchmark (${tag}): per-layer clock ${expectClock}, said in the page`, r.clock === expectClock && run.status.includes(r.clockNote), `clock ${r.clock}; status "${run.status}"`);
  ctx.check(`benchmark (${tag}): tfjs ran its own kernels`, r.oursDuringTfjs === 0, `${r.oursDuringTfjs} of our kernels dispatched while tfjs was measured`);
  ctx.check(`benchmark (${tag}): tfjs descriptors match ours (cosine >= ${MIN_COSINE})`, r.cosine.tfjs >= MIN_COSINE, `cosine ${r.cosine.tfjs.toFixed(6)}`);
  ctx.check(`benchmark (${tag}): whole network timed`, positive(r.network.ours) && positive(r.network.tfjs), `facegpu ${ms(r.network.ours)}, tfjs-webgpu ${ms(r.network.tfjs)} per image`);
  return r;
}

/** `page`: the demo page, loaded and ready. */
export async function checkBenchmark(page: Page, ctx: BenchCheckContext, opts: { ort: boolean }): Promise<void> {
  await page.click('[data-testid=tab-benchmark]');
  const { layers, timestamps } = await page.evaluate(() => {
    const f = (window as unknown as { facegpu: { gpu: { device: GPUDevice }; engine: { manifest: { layers: unknown[] } } } }).facegpu;
    return { layers: f.engine.manifest.layers.length, timestamps: f.gpu.device.features.has('timestamp-query') };
  });

  ctx.log('benchmark tab: batch 1, default clock');
  const first = await runTab(page, { clock: 'auto', ort: false, runs: '3', timeout: 600_000 });
  const r1 = checkRun('default clock', first, timestamps ? 'gpu' : 'wall', layers, ctx);
  if (r1) ctx.log(`benchmark: ${first.seconds.toFixed(0)} s; whole network facegpu ${ms(r1.network.ours)}, tfjs ${ms(r1.network.tfjs)}`);
  await page.screenshot({ path: join(ctx.out, 'e2e-benchmark.png'), fullPage: true });
  if (!opts.ort) return;

  ctx.log('benchmark tab: batch 1, wall clock, with ONNX Runtime WebGPU');
  // One run after the warm-up (the page's quick look): this run checks the clock and ORT's column, not medians.
  const second = await runTab(page, { clock: 'wall', ort: true, runs: '1', timeout: 900_000 });
  const r2 = checkRun('wall clock + ONNX Runtime', second, 'wall', layers, ctx);
  if (!r2) return;
  const cos = r2.cosine.ortWebgpu;
  ctx.check(
    `benchmark: ONNX Runtime WebGPU column, descriptors match ours (cosine >= ${MIN_COSINE})`,
    positive(r2.network.ortWebgpu) && cos !== null && cos >= MIN_COSINE,
    `${ms(r2.network.ortWebgpu)} per batch of 1, cosine ${cos?.toFixed(6)}, setup ${r2.ortSetupSeconds?.toFixed(0)} s`,
  );
  ctx.log(`benchmark: ${second.seconds.toFixed(0)} s; facegpu ${ms(r2.network.ours)}, tfjs ${ms(r2.network.tfjs)}, ORT WebGPU ${ms(r2.network.ortWebgpu)} (setup ${r2.ortSetupSeconds?.toFixed(0)} s)`);
  await page.screenshot({ path: join(ctx.out, 'e2e-benchmark-ort.png'), fullPage: true });
}
