// The Benchmark tab: runs web/bench.ts (and, when ticked, the ONNX Runtime column of
// web/ort-column.ts) and draws the result: chart, per-layer table with our kernel of each
// layer, whole-network figures, the clock used, and which kernels ran (tuned, from this
// browser's saved tuning, or hand-picked). The result is also left as JSON in #bench-summary's
// data-result (for the e2e test). The tab's tuning ("Tune kernels for this GPU") is
// tune-panel.ts; the two take turns on the GPU.
import { DEFAULT_WEIGHTS_URL, fetchBackbone, type Gpu, type MobileNetEngine } from '../src/browser/index.ts';
import { BenchChart } from './charts.ts';
import { $, adapterLabel, formatMs, h } from './dom.ts';
import type { PageContext } from './main.ts';
import { runBenchmark, type BenchResult, type ClockChoice } from './bench.ts';
import { GpuTimingLock, setupTuning } from './tune-panel.ts';

export function setupBenchmark(ctx: PageContext): void {
  const { app } = ctx;
  const button = $<HTMLButtonElement>('#bench-run');
  const status = $('#bench-status');
  const summary = $('#bench-summary');
  let chart: BenchChart | null = null;
  const lock = new GpuTimingLock();
  const tuning = setupTuning(ctx, lock);
  let up = false;
  const sync = () => (button.disabled = !up || lock.busy !== null);
  lock.onChange(sync);
  // Enabled once the engine is up.
  const poll = setInterval(() => {
    if (!app.engine || !app.gpu) return;
    clearInterval(poll);
    up = true;
    sync();
    $('#bench-adapter').textContent = `adapter: ${adapterLabel(app.gpu.adapter)}`;
  }, 200);

  button.addEventListener('click', () => {
    if (!app.engine || !app.gpu) return;
    void lock.run('the benchmark', bench).catch((err: Error) => {
      status.textContent = `Benchmark failed: ${err.message}`;
      status.dataset.state = 'error';
    });
  });

  async function bench(): Promise<void> {
    const { engine, gpu } = app;
    if (!engine || !gpu) return;
    // Kept while it runs: a tuning saved by another tab may replace app.engine meanwhile.
    const done = ctx.engines.busy(engine);
    try {
      await benchOn(engine, gpu);
    } finally {
      done();
    }
  }

  async function benchOn(engine: MobileNetEngine, gpu: Gpu): Promise<void> {
    summary.replaceChildren();
    delete summary.dataset.done;
    delete summary.dataset.result;
    delete status.dataset.state;
    const batch = Number($<HTMLSelectElement>('#bench-batch').value);
    const runs = Number($<HTMLSelectElement>('#bench-runs').value);
    const clock = $<HTMLSelectElement>('#bench-clock').value as ClockChoice;
    const ort = $<HTMLInputElement>('#bench-ort').checked;
    try {
      // The engine's backbone, as the page loaded it (the Cache API keeps it): tfjs' layers and
      // the ONNX model are built from the same weights.
      status.textContent = 'Reading the backbone…';
      const backbone = await fetchBackbone(DEFAULT_WEIGHTS_URL);
      if (backbone.manifest.id !== engine.manifest.id) throw new Error(`${DEFAULT_WEIGHTS_URL} holds backbone "${backbone.manifest.id}", the engine runs "${engine.manifest.id}"`);
      const say = (text: string) => (status.textContent = text);
      const r = await runBenchmark(gpu, engine, backbone, { batch, runs, clock, ort }, say, async () => (await import('./ort-column.ts')).openOrtColumn(backbone, say));
      const saved = tuning.current();
      r.kernels.where = r.kernels.source === 'tuned' ? (saved?.where ?? "this browser's saved tuning") : null;
      show(r);
      status.textContent = `${r.runs === 1 ? 'One run' : `Median of ${r.runs} runs`} after a warm-up. Per-layer times: ${r.clockNote}. Whole network: wall clock, pixels in to descriptors read back. ${kernelsNote(r)}`;
    } catch (err) {
      status.textContent = `Benchmark failed: ${(err as Error).message}`;
      status.dataset.state = 'error';
    }
  }

  function show(r: BenchResult): void {
    chart ??= new BenchChart($<HTMLCanvasElement>('#bench-chart'));
    chart.show(r.layers.map((l) => ({ label: l.label, ours: l.ours, tfjs: l.tfjs })));
    showTable(r);
    const sum = (k: 'ours' | 'tfjs') => r.layers.reduce((s, l) => s + l[k], 0);
    const per = (ms: number) => `${formatMs(ms / r.batch)} per image`;
    const times = (theirs: number) => {
      const x = theirs / r.network.ours;
      return x >= 1 ? `${x.toFixed(2)}× faster` : `${(1 / x).toFixed(2)}× slower`;
    };
    const net = r.network;
    summary.replaceChildren(
      stat(formatMs(net.ours), `facegpu, whole network, batch ${r.batch} (${per(net.ours)})`),
      stat(formatMs(net.tfjs), `tfjs-webgpu, whole network (${per(net.tfjs)}) · cosine to ours ${r.cosine.tfjs.toFixed(6)}`),
      stat(times(net.tfjs), `facegpu vs tfjs-webgpu (whole network) · layers sum ${formatMs(sum('ours'))} vs ${formatMs(sum('tfjs'))}`),
      ...(net.ortWebgpu !== null
        ? [
            stat(formatMs(net.ortWebgpu), `ONNX Runtime WebGPU, whole network (${per(net.ortWebgpu)}) · cosine to ours ${r.cosine.ortWebgpu!.toFixed(6)} · setup ${r.ortSetupSeconds!.toFixed(0)} s`),
            stat(times(net.ortWebgpu), 'facegpu vs ONNX Runtime WebGPU (whole network)'),
          ]
        : []),
      stat(`${((r.batch / net.ours) * 1000).toFixed(1)} img/s`, 'facegpu throughput'),
    );
    summary.dataset.done = 'true';
    Object.assign(summary.dataset, { ours: net.ours.toFixed(2), tfjs: net.tfjs.toFixed(2), layers: String(r.layers.length), result: JSON.stringify(r) });
  }
}

/** Which kernels the benchmark ran, in words. */
function kernelsNote(r: BenchResult): string {
  const k = r.kernels;
  if (k.source === 'hand-picked') return 'Our kernels: hand-picked (no tuning saved in this browser for this adapter; “Tune kernels for this GPU” below makes one).';
  return `Our kernels: tuned by measuring on this adapter, from this browser's saved tuning (${k.where}${k.tunedBatch !== r.batch ? `; its batch-${k.tunedBatch} choices serve batch ${r.batch}` : ''}).`;
}

function showTable(r: BenchResult): void {
  const table = $('#bench-table');
  table.replaceChildren(
    h('tr', {}, h('th', {}, 'layer'), h('th', {}, 'facegpu'), h('th', {}, 'tfjs-webgpu'), h('th', {}, `our kernel (${r.kernels.source})`)),
    ...r.layers.map((l) =>
      h('tr', { 'data-testid': 'bench-layer' },
        h('td', {}, l.label),
        h('td', {}, l.fusedInto ? `in ${l.fusedInto}` : formatMs(l.ours)),
        h('td', {}, formatMs(l.tfjs)),
        h('td', { class: 'kernel' }, h('code', {}, l.kernel)),
      ),
    ),
  );
  $('#bench-table-box').hidden = false;
}

function stat(value: string, label: string): HTMLElement {
  return h('div', { class: 'stat' }, h('b', {}, value), h('span', {}, label));
}
