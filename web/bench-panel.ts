// The Benchmark tab: runs web/bench.ts and draws the result.
import { BenchChart } from './charts.ts';
import { $, formatMs, h } from './dom.ts';
import type { PageContext } from './main.ts';
import { runBenchmark } from './bench.ts';

export function setupBenchmark({ app }: PageContext): void {
  const button = $<HTMLButtonElement>('#bench-run');
  const status = $('#bench-status');
  const summary = $('#bench-summary');
  let chart: BenchChart | null = null;
  // Enabled once the engine is up.
  const poll = setInterval(() => {
    if (!app.engine || !app.gpu) return;
    clearInterval(poll);
    button.disabled = false;
    const a = app.gpu.adapter;
    $('#bench-adapter').textContent = `adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || a.id}`;
  }, 200);

  button.addEventListener('click', async () => {
    if (!app.engine || !app.gpu) return;
    button.disabled = true;
    summary.replaceChildren();
    delete summary.dataset.done;
    delete status.dataset.state;
    const batch = Number($<HTMLSelectElement>('#bench-batch').value);
    const runs = Number($<HTMLSelectElement>('#bench-runs').value);
    try {
      const r = await runBenchmark(app.gpu, app.engine, { batch, runs }, (text) => (status.textContent = text));
      chart ??= new BenchChart($<HTMLCanvasElement>('#bench-chart'));
      chart.show(r.layers.map((l) => ({ label: l.label, ours: l.ours, tfjs: l.tfjs })));
      const sum = (k: 'ours' | 'tfjs') => r.layers.reduce((s, l) => s + l[k], 0);
      const speedup = r.network.tfjs / r.network.ours;
      summary.replaceChildren(
        stat(formatMs(r.network.ours), `facegpu, whole network, batch ${r.batch}`),
        stat(formatMs(r.network.tfjs), `tfjs-webgpu, whole network, batch ${r.batch}`),
        stat(`${speedup >= 1 ? speedup.toFixed(2) + '× faster' : (1 / speedup).toFixed(2) + '× slower'}`, 'facegpu vs tfjs-webgpu (whole network)'),
        stat(`${((r.batch / r.network.ours) * 1000).toFixed(1)} img/s`, `facegpu throughput · layers sum ${formatMs(sum('ours'))} vs ${formatMs(sum('tfjs'))}`),
      );
      summary.dataset.done = 'true';
      Object.assign(summary.dataset, { ours: r.network.ours.toFixed(2), tfjs: r.network.tfjs.toFixed(2), layers: String(r.layers.length) });
      status.textContent = `Median of ${r.runs} runs after a warm-up; per-layer times from ${r.clock === 'gpu' ? 'GPU timestamps' : 'wall clock to queue idle'}.`;
    } catch (err) {
      status.textContent = `Benchmark failed: ${(err as Error).message}`;
      status.dataset.state = 'error';
    } finally {
      button.disabled = false;
    }
  });
}

function stat(value: string, label: string): HTMLElement {
  return h('div', { class: 'stat' }, h('b', {}, value), h('span', {}, label));
}
