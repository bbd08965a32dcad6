// Step 2: train the head on the people's descriptors with a live loss/accuracy chart, then
// save the model (this browser's IndexedDB, or a download) or load one back.
import {
  checkModelBackbone, downloadModel, listSavedModels, loadFromBrowser, loadFromFiles, saveToBrowser, trainFaceModel, type FaceModel,
} from '../src/browser/index.ts';
import { TrainingChart } from './charts.ts';
import { $ } from './dom.ts';
import type { PageContext } from './main.ts';

const SAVED_NAME = 'demo';

export function setupTraining(ctx: PageContext): void {
  const { app, people } = ctx;
  const trainButton = $<HTMLButtonElement>('#train');
  const status = $('#train-status');
  const summary = $('#train-summary');
  const saveButton = $<HTMLButtonElement>('#save-browser');
  const downloadButton = $<HTMLButtonElement>('#download-model');
  const loadButton = $<HTMLButtonElement>('#load-browser');
  const loadFile = $<HTMLInputElement>('#load-file');
  const chart = new TrainingChart($<HTMLCanvasElement>('#train-chart'));
  let training = false;

  function refresh(): void {
    const ready = people.trainable;
    const can = !!app.engine && ready.length >= 2 && !training;
    trainButton.disabled = !can;
    saveButton.disabled = downloadButton.disabled = !ctx.model() || training;
    if (training || ctx.model()) return;
    if (!app.engine) status.textContent = 'Waiting for the face model to load…';
    else if (ready.length < 2) status.textContent = `Training needs photos of at least two people (${ready.length} so far).`;
    else status.textContent = `Ready to train on ${ready.reduce((n, p) => n + p.photos.filter((ph) => ph.descriptor).length, 0)} photos of ${ready.length} people.`;
  }
  people.addEventListener('change', refresh);
  const poll = setInterval(() => {
    if (!app.engine) return;
    clearInterval(poll);
    refresh();
  }, 200);

  function adopt(model: FaceModel, how: string): void {
    ctx.setModel(model);
    summary.textContent = `${how}: ${model.meta.labels.length} people`;
    summary.dataset.state = 'trained';
    refresh();
  }

  trainButton.addEventListener('click', async () => {
    if (!app.engine || !app.gpu) return;
    training = true;
    refresh();
    chart.reset();
    const epochs = Number($<HTMLInputElement>('#epochs').value) || 40;
    const learningRate = Number($<HTMLInputElement>('#learning-rate').value) || 0.001;
    try {
      if (people.pending) {
        status.textContent = `Reading ${people.pending} more photo(s) first…`;
        await people.settled();
      }
      const examples = people.trainable.flatMap((p) => p.photos.filter((ph) => ph.descriptor).map((ph) => ({ descriptor: ph.descriptor!, label: p.name })));
      status.textContent = `Training on ${examples.length} photos…`;
      const t0 = performance.now();
      const { model, result, trainCount, validationCount } = await trainFaceModel(app.gpu, app.engine.manifest, examples, {
        epochs,
        learningRate,
        patience: 5,
        batchSize: 16,
        onEpoch: (log, config) => {
          chart.add({ epoch: log.epoch, loss: log.loss, accuracy: log.accuracy, valLoss: log.valLoss ?? undefined, valAccuracy: log.valAccuracy ?? undefined });
          status.textContent = `Epoch ${log.epoch}/${config.epochs} · loss ${log.loss.toFixed(3)} · accuracy ${(log.accuracy * 100).toFixed(0)}%` +
            (log.valAccuracy !== null ? ` · held-back ${(log.valAccuracy * 100).toFixed(0)}%` : '');
        },
      });
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      const b = result.best;
      status.textContent =
        `Trained in ${seconds} s on ${trainCount} photos (${validationCount} held back)` +
        `${result.stoppedEarly ? `, stopped early after epoch ${result.history.length}` : ''}; kept epoch ${b.epoch}: ` +
        `accuracy ${(b.accuracy * 100).toFixed(0)}%${b.valAccuracy !== null ? `, held-back ${(b.valAccuracy * 100).toFixed(0)}%` : ''}.`;
      status.dataset.state = 'trained';
      adopt(model, 'Trained');
    } catch (err) {
      status.textContent = `Training failed: ${(err as Error).message}`;
      status.dataset.state = 'error';
    } finally {
      training = false;
      refresh();
    }
  });

  saveButton.addEventListener('click', async () => {
    const model = ctx.model();
    if (!model) return;
    try {
      await saveToBrowser(model, SAVED_NAME);
      status.textContent = 'Saved in this browser. “Load saved” brings it back after a reload.';
    } catch (err) {
      status.textContent = `Could not save: ${(err as Error).message}`;
    }
  });

  downloadButton.addEventListener('click', async () => {
    const model = ctx.model();
    if (model) await downloadModel(model, 'facegpu-model').catch((err) => (status.textContent = `Could not download: ${(err as Error).message}`));
  });

  async function load(get: () => Promise<FaceModel>, how: string): Promise<void> {
    try {
      const model = await get();
      if (app.engine) checkModelBackbone(model, app.engine.manifest);
      adopt(model, how);
      chart.reset();
      status.textContent = `${how}: recognises ${model.meta.labels.join(', ')} (trained ${new Date(model.meta.trainedAt).toLocaleString()}).`;
    } catch (err) {
      status.textContent = `Could not load: ${(err as Error).message}`;
    }
  }

  loadButton.addEventListener('click', async () => {
    const names: string[] = await listSavedModels().catch(() => []);
    if (!names.includes(SAVED_NAME)) {
      status.textContent = 'No model is saved in this browser yet: train one and press “Save in browser”.';
      return;
    }
    await load(() => loadFromBrowser(SAVED_NAME), 'Loaded from this browser');
  });

  loadFile.multiple = true;
  loadFile.addEventListener('change', async () => {
    const files = [...(loadFile.files ?? [])];
    loadFile.value = '';
    if (files.length) await load(() => loadFromFiles(files), 'Loaded from file');
  });
}
