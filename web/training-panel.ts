// Step 2: train on the people's photos with a live loss/accuracy chart (src/train's
// trainOnImages: the pipeline the Node CLI runs, on the engine's GPU device), then save the
// model in this browser or download it (the files of a Node model folder), or load one back.
// As the CLI, by default the faces are located first (src/detect, BlazeFace) and the backbone
// sees a square around each; the crop is recorded in the model, and prediction repeats it.
// The backbone is picked here too (backbones.ts: face, or ImageNet for general pictures, as
// the CLI's --backbone); the model records it, and a model loaded back gets its own.
import {
  downloadModel, FaceClassifier, faceCropRecord, imageToRGB, listSavedModels, loadFromBrowser, loadFromFiles, locatedFaceLoader, saveToBrowser, stratifiedSplit, trainOnImages,
  type CropRecord, type FaceModelMeta, type StoredModel, type TrainingSet,
} from '../src/browser/index.ts';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TrainingChart } from './charts.ts';
import { PAGE_BACKBONES } from './backbones.ts';
import { $ } from './dom.ts';
import type { PageContext } from './main.ts';
import type { Photo } from './people.ts';

const SAVED_NAME = 'demo';
/** Share of each person's photos held back to watch for overfitting (early stopping). */
const VALIDATION_SPLIT = 0.2;
const SEED = 1;

export function setupTraining(ctx: PageContext): void {
  const { app, people } = ctx;
  const trainButton = $<HTMLButtonElement>('#train');
  const status = $('#train-status');
  const summary = $('#train-summary');
  const saveButton = $<HTMLButtonElement>('#save-browser');
  const downloadButton = $<HTMLButtonElement>('#download-model');
  const loadButton = $<HTMLButtonElement>('#load-browser');
  const loadFile = $<HTMLInputElement>('#load-file');
  const cropSelect = $<HTMLSelectElement>('#crop');
  const backboneSelect = $<HTMLSelectElement>('#backbone');
  const warning = $('#train-warning');
  const chart = new TrainingChart($<HTMLCanvasElement>('#train-chart'));
  let training = false;

  const say = (text: string, state?: 'busy' | 'trained' | 'loaded' | 'error') => {
    status.textContent = text;
    if (state) status.dataset.state = state;
    else delete status.dataset.state;
  };

  function refresh(): void {
    const ready = people.trainable;
    trainButton.disabled = !app.engine || ready.length < 2 || training;
    saveButton.disabled = downloadButton.disabled = !ctx.model() || training;
    if (training || ctx.model()) return;
    if (!app.engine) say('Waiting for the face model to load…');
    else if (ready.length < 2) say(`Training needs photos of at least two people (${ready.length} so far).`);
    else say(`Ready to train on ${ready.reduce((n, p) => n + p.photos.length, 0)} photos of ${ready.length} people.`);
  }
  people.addEventListener('change', refresh);
  const poll = setInterval(() => {
    if (!app.engine) return;
    clearInterval(poll);
    refresh();
  }, 200);

  /** The backbone picked for training, loaded on first use (a clear message when it is not installed). */
  async function pickedEngine() {
    if (!app.backbones) throw new Error('the face model is not loaded yet');
    const id = backboneSelect.value;
    const name = PAGE_BACKBONES[id]?.name ?? id;
    return app.backbones.get(id, (p) => say(p.phase === 'download' ? `Downloading the ${name} backbone: ${Math.round((100 * p.loaded) / p.total)}%…` : `Loading the ${name} backbone…`, 'busy'));
  }

  // Load a picked backbone at once, so that a missing one is said before anyone presses Train.
  backboneSelect.addEventListener('change', async () => {
    warning.hidden = true;
    if (!app.backbones || training) return;
    try {
      const engine = await pickedEngine();
      if (!training && !ctx.model()) refresh();
      if (!training) say(`Backbone “${engine.manifest.id}” ready: ${engine.manifest.layers.length} layers, ${engine.outputDim}-d descriptors.`);
    } catch (err) {
      warning.textContent = (err as Error).message;
      warning.hidden = false;
      say(`The ${PAGE_BACKBONES[backboneSelect.value]?.name ?? backboneSelect.value} backbone is not available.`, 'error');
    }
  });

  async function adopt(head: tfl.LayersModel, meta: FaceModelMeta, where: string): Promise<void> {
    if (!app.gpu || !app.backbones) throw new Error('the face model is not loaded yet');
    // The model's own backbone (by sha256); prediction (predict-panel.ts) uses it and crops as the model records.
    const engine = await app.backbones.forModel(meta);
    const done = ctx.engines.busy(engine); // until the model holds it
    try {
      ctx.setModel(await FaceClassifier.create(app.gpu, engine, head, meta, where, { facesCropped: true }));
    } finally {
      done();
    }
    summary.textContent = `Knows ${meta.labels.length} ${meta.backbone.id === 'face' ? 'people' : `classes (${meta.backbone.id} backbone)`}`;
    summary.dataset.state = 'trained';
    refresh();
  }

  trainButton.addEventListener('click', async () => {
    if (!app.engine || !app.gpu || !app.cropping) return;
    training = true;
    refresh();
    chart.reset();
    warning.hidden = true;
    // The engine the training runs on is kept until it ends (a tuning finishing meanwhile replaces app.engine).
    let done: (() => void) | null = null;
    try {
      const engine = await pickedEngine();
      done = ctx.engines.busy(engine);
      await people.settled();
      // One id per photo; ids sort in the order photos were added.
      const byId = new Map<string, Photo>();
      const byPerson = new Map<string, string[]>();
      for (const { person, photos } of people.trainable) {
        byPerson.set(person.name, photos.map((ph) => {
          const id = `${person.name}/${String(ph.id).padStart(6, '0')}-${ph.file.name}`;
          byId.set(id, ph);
          return id;
        }));
      }
      const split = stratifiedSplit(byPerson, VALIDATION_SPLIT, SEED);
      const set: TrainingSet = {
        classes: [...byPerson.keys()].sort(),
        train: split.train.map((f) => ({ id: f.file, label: f.label })),
        validation: split.validation.map((f) => ({ id: f.file, label: f.label })),
        load: (id) => imageToRGB(byId.get(id)!.file, engine.inputSize),
        layout: 'split',
        validationSplit: VALIDATION_SPLIT,
      };
      const t0 = performance.now();
      const crop: CropRecord = cropSelect.value === 'none' ? { method: 'none' } : faceCropRecord();
      const noFace: string[] = [];
      let detectMs = 0;
      if (crop.method === 'face') {
        // Faces first, as a phase of its own (as the CLI does), then each photo cut where its face is.
        const cropper = await app.cropping.cropper(crop);
        const ids = [...set.train, ...set.validation].map((i) => i.id);
        set.load = await locatedFaceLoader(cropper, ids, (id) => byId.get(id)!.file, engine.inputSize, {
          onNoFace: (id) => noFace.push(`${id.slice(0, id.indexOf('/'))}: ${byId.get(id)!.file.name}`),
          onProgress: (done, total) => say(`Finding faces: ${done} of ${total} photos…`, 'busy'),
        });
        detectMs = performance.now() - t0;
        if (noFace.length) {
          warning.textContent = `No face found in ${noFace.join(', ')}: the whole photo was used.`;
          warning.hidden = false;
        }
      }
      const result = await trainOnImages(app.gpu, engine, set, {
        crop,
        epochs: Number($<HTMLInputElement>('#epochs').value) || 30,
        learningRate: Number($<HTMLInputElement>('#learning-rate').value) || 0.001,
        augment: Number($<HTMLSelectElement>('#augment').value) || 0,
        patience: 5,
        seed: SEED,
        extractBatch: 8,
        onExtractProgress: (done, total, phase) => say(`Reading ${phase === 'train' ? 'training' : 'held-back'} photos: ${done} of ${total}…`, 'busy'),
        onEpoch: (log, config) => {
          chart.add({ epoch: log.epoch, loss: log.loss, accuracy: log.accuracy, valLoss: log.valLoss ?? undefined, valAccuracy: log.valAccuracy ?? undefined });
          say(
            `Epoch ${log.epoch}/${config.epochs} · loss ${log.loss.toFixed(3)} · accuracy ${(log.accuracy * 100).toFixed(0)}%` +
              (log.valAccuracy !== null ? ` · held-back ${(log.valAccuracy * 100).toFixed(0)}%` : ''),
            'busy',
          );
        },
      });
      await adopt(result.head, result.meta, 'the model trained in this page');
      const m = result.meta.metrics;
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      const cropText = crop.method === 'face' ? `faces cropped (margin ${crop.margin}, found in ${(detectMs / 1000).toFixed(1)} s${noFace.length ? `, none in ${noFace.length}` : ''})` : 'whole photos';
      say(
        `Trained in ${seconds} s on ${result.meta.split.train.length} photos (${result.meta.split.validation.length} held back), ${cropText}, backbone “${result.meta.backbone.id}”` +
          `${m.stoppedEarly ? `, stopped early after epoch ${m.epochsRun}` : ''}; kept epoch ${m.bestEpoch}: accuracy ${(m.accuracy * 100).toFixed(0)}%` +
          `${m.valAccuracy !== null ? `, held-back ${(m.valAccuracy * 100).toFixed(0)}%` : ''}.`,
        'trained',
      );
    } catch (err) {
      say(`Training failed: ${(err as Error).message}`, 'error');
    } finally {
      training = false;
      done?.();
      refresh();
    }
  });

  saveButton.addEventListener('click', async () => {
    const model = ctx.model();
    if (!model) return;
    try {
      await saveToBrowser(SAVED_NAME, model.head, model.meta);
      say('Saved in this browser: “Load saved” brings it back after a reload.', 'trained');
    } catch (err) {
      say(`Could not save: ${(err as Error).message}`, 'error');
    }
  });

  downloadButton.addEventListener('click', async () => {
    const model = ctx.model();
    if (!model) return;
    try {
      await downloadModel(model.head, model.meta);
      say('Downloaded facegpu.json, model.json and weights.bin: keep them in one folder (the CLI reads it with --model).', 'trained');
    } catch (err) {
      say(`Could not download: ${(err as Error).message}`, 'error');
    }
  });

  async function load(get: () => Promise<StoredModel>, how: string): Promise<void> {
    // A warning of the training before (a photo without a face) is not this model's.
    warning.hidden = true;
    try {
      const { head, meta } = await get();
      await adopt(head, meta, how);
      chart.reset();
      for (const log of meta.metrics.history) {
        chart.add({ epoch: log.epoch, loss: log.loss, accuracy: log.accuracy, valLoss: log.valLoss ?? undefined, valAccuracy: log.valAccuracy ?? undefined });
      }
      const crop = meta.preprocessing.crop;
      const cropText = crop.method === 'face' ? `faces cropped, margin ${crop.margin}` : 'whole photos';
      say(`Loaded ${how}: recognises ${meta.labels.join(', ')} (trained ${new Date(meta.createdAt).toLocaleString()}, ${cropText}, backbone “${meta.backbone.id}”).`, 'loaded');
    } catch (err) {
      say(`Could not load: ${(err as Error).message}`, 'error');
    }
  }

  loadButton.addEventListener('click', async () => {
    const names = await listSavedModels().catch(() => [] as string[]);
    if (!names.includes(SAVED_NAME)) return say('No model is saved in this browser yet: train one and press “Save in browser”.');
    await load(() => loadFromBrowser(SAVED_NAME), 'from this browser');
  });

  loadFile.addEventListener('change', async () => {
    const files = [...(loadFile.files ?? [])];
    loadFile.value = '';
    if (files.length) await load(() => loadFromFiles(files), 'from files');
  });
}
