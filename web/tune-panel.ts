// The Benchmark tab's "Tune kernels for this GPU": the tuner of `facegpu tune`
// (src/tune/tuner.ts: every candidate kernel of each distinct layer shape timed on this device,
// the fastest kept only if the whole pass is faster with them) run on the page's own adapter,
// the result saved in this browser's IndexedDB (src/browser/tuning-store.ts) under the
// adapter, driver, limits, layer shapes and shaders. The page's face engine is then replaced
// by one on the tuned kernels (main.ts useEngine: the benchmark and training run them at
// once). On later visits openEngine (kernels: 'saved', its default) finds the tuning and
// nothing is timed; this panel says so ("from saved tuning") and lists the kernel of every
// layer, as `facegpu bench` does. Pressing again times afresh (`facegpu tune` without
// --if-missing).
//
// Left for test/e2e/tune.ts: #tune-source's data-source ('tuned' | 'hand-picked') and
// data-state ('saved': read from IndexedDB, 'tuned': measured in this page, 'none'),
// #tune-status's data-state ('tuning' | 'done' | 'error') and data-samples (timing samples
// taken in this page: 0 when the tuning came from the store), one [data-testid=tune-layer]
// row per layer with a [data-kernel] cell per tuned batch size, one #tune-log line per shape
// timed.
import { browserTuningStore, DEFAULT_WEIGHTS_URL, fetchBackbone, MobileNetEngine, savedTuning, SHADERS, tuneBackbone, type Gpu, type TuningRecord } from '../src/browser/index.ts';
import { candidatesFor } from '../src/tune/candidates.ts';
import { distinctShapes } from '../src/tune/tuner.ts';
import { $, adapterLabel, formatMs, h, onFirstOpen } from './dom.ts';
import type { PageContext } from './main.ts';

/** The benchmark and the tuning both time the GPU: one at a time. */
export class GpuTimingLock {
  private holder: string | null = null;
  private readonly listeners: (() => void)[] = [];

  /** What is running ('the benchmark', 'the tuning'), or null. */
  get busy(): string | null {
    return this.holder;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async run<T>(what: string, job: () => Promise<T>): Promise<T> {
    if (this.holder) throw new Error(`${this.holder} is running: wait for it to finish`);
    this.holder = what;
    this.listeners.forEach((l) => l());
    try {
      return await job();
    } finally {
      this.holder = null;
      this.listeners.forEach((l) => l());
    }
  }
}

/** The saved tuning the page's engine runs, and where it is kept. */
export interface PageTuning {
  record: TuningRecord;
  where: string;
}

export interface TuneControl {
  /** The tuning the page's face engine runs (null: the hand-picked kernels, or not read yet). */
  current(): PageTuning | null;
}

/** "vendor architecture · description" of the adapter a tuning is keyed to. */
function adapterName(a: TuningRecord['key']['adapter']): string {
  const head = [a.vendor, a.architecture].filter(Boolean).join(' ');
  return [head, a.description].filter(Boolean).join(' · ') || a.device || 'unnamed adapter';
}

const sameKernels = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function setupTuning({ app, useEngine }: PageContext, lock: GpuTimingLock): TuneControl {
  const button = $<HTMLButtonElement>('#tune-run');
  const source = $('#tune-source');
  const status = $('#tune-status');
  const bar = $<HTMLProgressElement>('#tune-progress');
  const logBox = $<HTMLDetailsElement>('#tune-log-box');
  const logList = $('#tune-log');
  const tableBox = $<HTMLDetailsElement>('#tune-table-box');
  const store = browserTuningStore();
  let current: PageTuning | null = null;
  let read = false;

  const sync = () => {
    button.disabled = !read || !app.engine || lock.busy !== null;
    button.textContent = current ? 'Tune again' : 'Tune kernels for this GPU';
  };
  lock.onChange(sync);
  sync();

  const say = (text: string, state?: 'tuning' | 'done' | 'error') => {
    status.textContent = text;
    if (state) status.dataset.state = state;
    else delete status.dataset.state;
  };

  /** The line that says which kernels the page's engine runs, and from where. */
  function showSource(engine: MobileNetEngine, state: 'saved' | 'tuned' | 'none'): void {
    source.dataset.source = engine.tuned ? 'tuned' : 'hand-picked';
    source.dataset.state = state;
    if (!engine.tuned) {
      source.textContent = 'Kernels: hand-picked (no tuning saved in this browser for this adapter, driver and shaders; “Tune kernels for this GPU” makes one).';
      return;
    }
    if (!current) {
      source.textContent = 'Kernels: tuned, from the tuning saved in this browser when the page opened (its record could not be read again).';
      return;
    }
    const r = current.record;
    const counts = r.report.map((s) => s.candidates.length);
    const per = Math.min(...counts) === Math.max(...counts) ? `${counts[0]}` : `${Math.min(...counts)}-${Math.max(...counts)}`;
    const how = state === 'saved' ? 'from saved tuning, nothing timed now' : 'tuned now in this page';
    source.textContent =
      `Kernels: tuned by measuring (${how}). Made ${new Date(r.created).toLocaleString()} for batch size${r.key.batches.length > 1 ? 's' : ''} ${r.key.batches.join(' and ')} ` +
      `(${per} candidates per layer shape, ${r.rounds} round${r.rounds === 1 ? '' : 's'}); keyed to adapter ${adapterName(r.key.adapter)}; kept in ${current.where}.`;
    source.dataset.adapter = adapterName(r.key.adapter);
  }

  /** The kernel of every layer at each tuned batch size (engine.kernelChoices, as `facegpu bench` lists them), with the tuner's note. */
  function showTable(engine: MobileNetEngine, record: TuningRecord): void {
    const batches = Object.keys(record.kernels.batches).map(Number).sort((a, b) => a - b);
    const perBatch = batches.map((b) => engine.kernelChoices(b));
    const report = new Map(record.report.map((r) => [`${r.batch} ${r.shape}`, r]));
    const note = (b: number, shape: string) => {
      const r = report.get(`${b} ${shape}`);
      if (!r) return '';
      if (r.chosen === r.handPicked) return r.notKept ? `hand-picked (${r.notKept} not kept: the whole pass was not faster)` : 'hand-picked';
      return `${r.chosen}: ${r.speedup.toFixed(2)}× the hand-picked ${r.handPicked}`;
    };
    $('#tune-table').replaceChildren(
      h('tr', {}, h('th', {}, 'layer'), h('th', {}, 'shape'), ...batches.map((b) => h('th', {}, `batch ${b}`))),
      ...perBatch[0].layers.map((l, i) =>
        h('tr', { 'data-testid': 'tune-layer', 'data-layer': l.layer },
          h('td', {}, `${i + 1}. ${l.layer}`),
          h('td', {}, l.shape),
          ...perBatch.map((c, j) => h('td', { 'data-kernel': c.layers[i].kernel, 'data-batch': String(batches[j]) }, h('code', {}, c.layers[i].kernel), h('span', { class: 'note' }, note(batches[j], l.shape)))),
        ),
      ),
    );
    const passes = record.endToEnd.map((e) => `batch ${e.batch} whole pass: tuned ${formatMs(e.tunedMs)}, hand-picked ${formatMs(e.handPickedMs)} (median of ${e.rounds}): ${e.kept ? 'tuned kernels kept' : 'hand-picked kernels kept'}`);
    const same = batches.filter((b) => !record.endToEnd.some((e) => e.batch === b));
    if (same.length) passes.push(`batch ${same.join(', ')}: the hand-picked kernels were the fastest of every layer shape`);
    $('#tune-table-box summary').textContent = `Our kernel per layer (${passes.join('; ')})`;
    tableBox.hidden = false;
  }

  /** The engine on `record`'s kernels: the page's own when it runs them already, else a new one the page switches to. */
  async function engineFor(gpu: Gpu, record: TuningRecord, backbone: Awaited<ReturnType<typeof fetchBackbone>>): Promise<MobileNetEngine> {
    if (app.engine && sameKernels(app.engine.tuned, record.kernels)) return app.engine;
    const engine = new MobileNetEngine(gpu, backbone, SHADERS, { tuned: record.kernels });
    try {
      await engine.ready();
    } catch (err) {
      engine.destroy();
      throw err;
    }
    useEngine(engine);
    return engine;
  }

  /** The tuning saved in this browser for the page's adapter, driver and shaders, read without timing anything. */
  async function readSaved(): Promise<void> {
    const { engine, gpu } = app;
    if (!engine || !gpu) return;
    say('Looking for a tuning saved in this browser…');
    try {
      const backbone = await fetchBackbone(DEFAULT_WEIGHTS_URL);
      const record = await savedTuning(gpu, backbone, SHADERS, store);
      if (record) {
        current = { record, where: store.where(record.id) };
        // The page opened its engine on this tuning (openEngine's default); one saved since (another tab) is taken up now.
        const tuned = await engineFor(gpu, record, backbone);
        showSource(tuned, 'saved');
        showTable(tuned, record);
        say('');
      } else {
        showSource(engine, 'none');
        say('');
      }
      status.dataset.samples = '0';
    } catch (err) {
      say(`The saved tuning could not be read: ${(err as Error).message}`, 'error');
      showSource(engine, 'none');
    } finally {
      read = true;
      sync();
    }
  }

  button.addEventListener('click', () => {
    const { gpu } = app;
    if (!gpu || !app.engine) return;
    const batches = $<HTMLSelectElement>('#tune-batches').value.split(',').map(Number);
    const rounds = Number($<HTMLSelectElement>('#tune-rounds').value);
    const pick = $<HTMLSelectElement>('#tune-candidates').value;
    const keep = pick === 'all' ? Infinity : Number(pick);
    void lock
      .run('the tuning', async () => {
        logList.replaceChildren();
        logBox.hidden = false;
        delete status.dataset.samples;
        say('Reading the backbone…', 'tuning');
        const backbone = await fetchBackbone(DEFAULT_WEIGHTS_URL);
        const shapes = distinctShapes(backbone, 1).length * batches.length;
        let timed = 0;
        const t0 = performance.now();
        bar.value = 0;
        bar.hidden = false;
        say(`Timing the candidates of ${shapes} layer shapes (${batches.length > 1 ? `batch sizes ${batches.join(', ')}` : `batch ${batches[0]}`}, ${rounds} round${rounds === 1 ? '' : 's'})…`, 'tuning');
        const result = await tuneBackbone(gpu, backbone, SHADERS, {
          batches,
          rounds,
          store,
          force: true,
          candidates: (shape, base, limits, features) => candidatesFor(shape, base, limits, features).slice(0, keep),
          log: (line) => {
            logList.append(h('li', {}, line));
            if (!/whole pass/.test(line)) timed++;
            bar.value = timed / shapes;
            const secs = ((performance.now() - t0) / 1000).toFixed(0);
            say(timed < shapes ? `Timed ${timed} of ${shapes} layer shapes (${secs} s)…` : `Timed all ${shapes} layer shapes; the whole pass, tuned against hand-picked (${secs} s)…`, 'tuning');
          },
        });
        const seconds = (performance.now() - t0) / 1000;
        say(`Building the engine on the tuned kernels…`, 'tuning');
        current = { record: result.record, where: result.where ?? store.where(result.record.id) };
        const engine = await engineFor(gpu, result.record, backbone);
        showSource(engine, 'tuned');
        showTable(engine, result.record);
        status.dataset.samples = String(result.samples);
        say(`Tuned in ${seconds.toFixed(0)} s (${result.samples} samples, ${result.record.timing === 'gpu-timestamp' ? 'GPU timestamps' : 'wall clock'}) and saved in this browser. The benchmark and training run these kernels from now on, and every later visit does; the Identify tab, if already opened, and a model already trained or loaded keep the previous kernels until the page is reloaded.`, 'done');
      })
      .catch((err: Error) => say(`Tuning failed: ${err.message}`, 'error'))
      .finally(() => {
        bar.hidden = true;
        sync();
      });
  });

  // Read the first time the tab is opened (a visitor who never opens it reads nothing), once the page's engine is there.
  onFirstOpen('tab-benchmark', () => !!app.engine && !!app.gpu, () => {
    $('#tune-adapter').textContent = `adapter: ${adapterLabel(app.gpu!.adapter)}`;
    void readSaved();
  });

  return { current: () => (app.engine?.tuned ? current : null) };
}
