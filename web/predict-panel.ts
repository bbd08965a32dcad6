// "Who is this?": a new photo is embedded by the engine and classified by the trained head;
// the top labels are shown with their probabilities.
import { imageToRGB, predictProbabilities } from '../src/browser/index.ts';
import { cameraAvailable, openCamera } from './camera.ts';
import { $, h, onFileDrop } from './dom.ts';
import type { PageContext } from './main.ts';

const TOP = 3;

export function setupPrediction(ctx: PageContext): void {
  const input = $<HTMLInputElement>('#predict-file');
  const img = $<HTMLImageElement>('#predict-image');
  const list = $('#predictions');
  let shown: string | null = null;

  const note = (text: string, state = '') => list.replaceChildren(h('li', { class: 'predict-note', 'data-state': state }, text));
  note('Train first, then drop a photo that was not used for training.');

  async function predict(file: File): Promise<void> {
    if (shown) URL.revokeObjectURL(shown);
    shown = URL.createObjectURL(file);
    img.src = shown;
    img.hidden = false;
    const { engine } = ctx.app;
    const model = ctx.model();
    if (!engine) return note('The face model is still loading…');
    if (!model) return note('Nothing to compare with yet: add people and train first.');
    note('Looking…', 'busy');
    try {
      const pixels = await imageToRGB(file, engine.inputSize);
      const descriptor = await engine.embed(pixels, 1);
      const probs = await predictProbabilities(model, descriptor, 1);
      const ranked = [...probs].map((p, i) => ({ label: model.meta.labels[i], p })).sort((a, b) => b.p - a.p).slice(0, TOP);
      list.replaceChildren(
        ...ranked.map((r, i) =>
          h('li', { class: `prediction${i === 0 ? ' top' : ''}`, 'data-testid': 'prediction', 'data-label': r.label, 'data-probability': r.p.toFixed(4) },
            h('span', { class: 'label' }, r.label),
            h('span', { class: 'pct' }, `${(r.p * 100).toFixed(1)}%`),
            h('div', { class: 'bar' }, h('span', { style: `width:${Math.max(r.p * 100, 1).toFixed(1)}%` })),
          ),
        ),
      );
    } catch (err) {
      note(`Could not read this photo: ${(err as Error).message}`, 'error');
    }
  }

  input.addEventListener('change', () => {
    if (input.files?.[0]) void predict(input.files[0]);
    input.value = '';
  });
  onFileDrop($('#predict-drop'), (files) => void predict(files[0]));
  if (cameraAvailable()) {
    const cam = $<HTMLButtonElement>('#predict-camera');
    cam.hidden = false;
    cam.addEventListener('click', () =>
      openCamera('Who is this?', (photo) => {
        ($<HTMLDialogElement>('#camera-dialog')).close();
        void predict(photo);
      }),
    );
  }
}
