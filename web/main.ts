/// <reference types="vite/client" />
// The facegpu demo page: add people and photos, train a head on their descriptors, recognise
// new photos; or enrol people in a gallery and identify every face of photos and of the
// camera's frames, strangers included (no training); and benchmark our shaders against
// tfjs-webgpu on the visitor's GPU.
import {
  BrowserFaceCropping, createBrowserGpu, DEFAULT_DETECTOR_URL, DEFAULT_WEIGHTS_URL, SHADERS, useGpuForTfjs, imageToRGB, imagesToRGB, openEngine, webgpuSupportProblem,
  type FaceClassifier, type Gpu, type MobileNetEngine, type WeightsProgress,
} from '../src/browser/index.ts';
import { cameraAvailable, detectCamera, openCamera } from './camera.ts';
import { $, colorFor, formatBytes, h, icon, onFileDrop } from './dom.ts';
import { People, type Person } from './people.ts';
import { setupTraining } from './training-panel.ts';
import { setupPrediction } from './predict-panel.ts';
import { setupBenchmark } from './bench-panel.ts';
import { setupIdentify } from './identify-panel.ts';
import { BackboneEngines } from './backbones.ts';
import { EngineHolders } from './engine-holders.ts';

interface App {
  gpu: Gpu | null;
  engine: MobileNetEngine | null;
  /** Face detection and cropping in front of the backbone (src/detect), as the CLI does. */
  cropping: BrowserFaceCropping | null;
  /** Engines per backbone for training and models (the face one is `engine`; ImageNet on demand). */
  backbones: BackboneEngines | null;
}
const app: App = { gpu: null, engine: null, cropping: null, backbones: null };
const people = new People();

// ---- status line and fatal errors ----

function setStatus(state: 'loading' | 'ready' | 'error', text: string, progress?: number): void {
  const el = $('#status');
  el.dataset.state = state;
  $('.status-text', el).textContent = text;
  const bar = $<HTMLProgressElement>('#load-progress');
  bar.hidden = progress === undefined;
  if (progress !== undefined) bar.value = progress;
}

function showFatal(title: string, detail: string): void {
  const box = $('#fatal');
  box.replaceChildren(h('h3', {}, title), h('div', {}, detail));
  box.hidden = false;
}

// ---- tabs ----

const tabs = [...document.querySelectorAll<HTMLButtonElement>('.tabs button')];
for (const tab of tabs) {
  tab.addEventListener('click', () => {
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute('aria-selected', String(on));
      // One tab stop for the tab list (the selected tab); the arrow keys move between tabs.
      other.tabIndex = on ? 0 : -1;
      $(`#tab-${other.dataset.tab}`).hidden = !on;
    }
  });
  tab.tabIndex = tab.getAttribute('aria-selected') === 'true' ? 0 : -1;
  tab.addEventListener('keydown', (ev) => {
    const at = tabs.indexOf(tab);
    const to = ev.key === 'ArrowRight' ? at + 1 : ev.key === 'ArrowLeft' ? at - 1 : ev.key === 'Home' ? 0 : ev.key === 'End' ? tabs.length - 1 : null;
    if (to === null) return;
    ev.preventDefault();
    const next = tabs[(to + tabs.length) % tabs.length];
    next.focus();
    next.click();
  });
}

// ---- people ----

function renderPeople(): void {
  const list = $('#people');
  const photos = people.list.reduce((n, p) => n + p.photos.length, 0);
  $('#people-summary').textContent = people.list.length
    ? `${people.list.length} ${people.list.length === 1 ? 'person' : 'people'}, ${photos} photo${photos === 1 ? '' : 's'}${people.pending ? ` · checking ${people.pending}…` : ''}`
    : 'No one yet';
  if (!people.list.length) {
    list.replaceChildren(h('li', { class: 'empty' }, 'Nobody here yet. Type a name above to start.'));
    return;
  }
  list.replaceChildren(...people.list.map((p, i) => personCard(p, i)));
}

function personCard(person: Person, index: number): HTMLElement {
  const input = h('input', { type: 'file', accept: 'image/*', multiple: true, 'data-testid': 'person-files', 'data-person': person.name });
  input.addEventListener('change', () => {
    if (input.files?.length) people.addPhotos(person, [...input.files]);
    input.value = '';
  });
  const failed = person.photos.filter((ph) => ph.state === 'error').length;
  const count = `${person.photos.length} photo${person.photos.length === 1 ? '' : 's'}${failed ? ` · ${failed} unreadable` : ''}`;
  const thumbs = person.photos.map((ph) =>
    h('div', { class: `thumb ${ph.state}`, title: ph.error ?? ph.file.name },
      h('img', { src: ph.url, alt: ph.file.name, loading: 'lazy' }),
      h('button', { class: 'remove', title: 'Remove photo', 'aria-label': 'Remove photo', onclick: () => people.removePhoto(person, ph) }, '×'),
    ),
  );
  const card = h('li', { class: 'person', 'data-testid': 'person', 'data-person': person.name },
    h('div', { class: 'person-head' },
      h('span', { class: 'avatar', style: `background:${colorFor(index)}` }, person.name[0].toUpperCase()),
      h('span', { class: 'person-name' }, person.name),
      h('span', { class: 'person-count', 'data-testid': 'person-count' }, count),
      h('button', { class: 'link', title: `Remove ${person.name}`, onclick: () => confirm(`Remove ${person.name} and their photos?`) && people.remove(person) }, '✕'),
    ),
    person.photos.length ? h('div', { class: 'thumbs' }, ...thumbs) : h('p', { class: 'hint' }, 'Drop photos here.'),
    h('div', { class: 'person-actions' },
      h('label', { class: 'button' }, icon('plus'), 'Photos', input),
      cameraAvailable()
        ? h('button', { 'data-testid': 'person-camera', onclick: () => openCamera(`Photos of ${person.name}`, (f) => people.addPhotos(person, [f])) }, icon('camera'), 'Camera')
        : null,
    ),
  );
  onFileDrop(card, (files) => people.addPhotos(person, files));
  return card;
}

$('#add-person').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('#person-name');
  try {
    people.add(input.value);
    input.value = '';
  } catch (err) {
    input.setCustomValidity((err as Error).message);
    input.reportValidity();
    input.addEventListener('input', () => input.setCustomValidity(''), { once: true });
  }
});

people.addEventListener('change', renderPeople);
renderPeople();

// ---- boot ----

function describeProgress(p: WeightsProgress): [string, number | undefined] {
  switch (p.phase) {
    case 'manifest': return ['Loading the face model…', undefined];
    case 'download': return [`Downloading the face model · ${formatBytes(p.loaded)} of ${formatBytes(p.total)}`, p.loaded / p.total];
    case 'cache': return ['Loading the face model from this browser’s cache…', 1];
    case 'verify': return ['Checking the face model…', 1];
  }
}

async function boot(): Promise<void> {
  const problem = webgpuSupportProblem();
  if (problem) {
    setStatus('error', 'WebGPU is not available');
    showFatal('This browser cannot run facegpu', problem);
    return;
  }
  setStatus('loading', 'Starting WebGPU…');
  try {
    app.gpu = await createBrowserGpu({
      onLost: (info) => {
        setStatus('error', 'The GPU device was lost');
        showFatal('The GPU device was lost', `${info.message || info.reason}. Reload the page to start again.`);
      },
    });
  } catch (err) {
    setStatus('error', 'WebGPU is not available');
    showFatal('No WebGPU device', (err as Error).message);
    return;
  }
  try {
    const { engine, fromCache } = await openEngine({
      gpu: app.gpu,
      weightsUrl: DEFAULT_WEIGHTS_URL,
      onProgress: (p) => setStatus('loading', ...describeProgress(p)),
    });
    // tfjs (training, the head, the face detector) runs on the engine's own device from here on.
    await useGpuForTfjs(app.gpu, SHADERS);
    setStatus('loading', 'Loading the face detector…');
    const cropping = new BrowserFaceCropping(DEFAULT_DETECTOR_URL);
    try {
      await cropping.preload();
    } catch (err) {
      engine.destroy();
      setStatus('error', 'The face detector could not be loaded');
      showFatal('The face detector could not be loaded', (err as Error).message);
      return;
    }
    app.cropping = cropping;
    app.backbones = new BackboneEngines(app.gpu, engine);
    app.engine = engine;
    const a = app.gpu.adapter;
    const adapterName = [a.vendor, a.architecture || a.description].filter(Boolean).join(' ') || a.id;
    setStatus('ready', `Ready · WebGPU on ${adapterName}${fromCache ? ' · model from cache' : ''}`);
    $('#foot-backbone').textContent = `backbone “${engine.manifest.id}”: ${engine.manifest.layers.length} layers, ${engine.outputDim}-d descriptors`;
    // For tinkering from the console (and for the end-to-end test): the page's own engine.
    Object.assign(window, { facegpu: { gpu: app.gpu, engine, cropping, people, imageToRGB, imagesToRGB } });
    document.body.dataset.ready = 'true';
  } catch (err) {
    setStatus('error', 'The face model could not be loaded');
    showFatal('The face model could not be loaded', (err as Error).message);
  }
}

/**
 * Run the page on another face engine from now on (the Benchmark tab's tuning: the same
 * backbone on tuned kernels). Training, the benchmark, the console's `facegpu.engine` and the
 * Identify tab when it starts take it. What already runs on the old engine (a model trained or
 * loaded, the Identify tab once opened, a training or benchmark in flight) keeps it; the old
 * engine's GPU buffers are freed as soon as none of those holds it (engine-holders.ts).
 */
function useEngine(engine: MobileNetEngine): void {
  if (!app.engine || !app.backbones) throw new Error('the face model is not loaded yet');
  if (engine.manifest.id !== app.engine.manifest.id) throw new Error(`the page runs backbone "${app.engine.manifest.id}", not "${engine.manifest.id}"`);
  const old = app.engine;
  app.engine = engine;
  app.backbones.use(engine);
  const f = (window as { facegpu?: { engine?: MobileNetEngine } }).facegpu;
  if (f) f.engine = engine;
  engines.replace(old);
}

/** Engines useEngine replaced, freed once nothing runs on them; a model holds the one it was made with. */
const engines = new EngineHolders<MobileNetEngine>(() => app.engine);
engines.hold(() => model?.engine);

let model: FaceClassifier | null = null;
const ctx = {
  app,
  people,
  setStatus,
  useEngine,
  engines,
  model: () => model,
  setModel: (m: FaceClassifier | null) => {
    if (model && model !== m) model.head.dispose();
    model = m;
    engines.release();
  },
};
setupTraining(ctx);
setupPrediction(ctx);
setupIdentify(ctx);
setupBenchmark(ctx);
void detectCamera().then(renderPeople);
void boot();

// The static build works offline once loaded: a service worker keeps the page's files.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./service-worker.js').catch((err) => console.warn(`facegpu: offline support is off (${err.message})`));
}

export type PageContext = typeof ctx;
