// "Who is this?": a new photo is embedded by the engine and classified by the trained head;
// the top labels are shown with their probabilities.
import { imageToRGB } from '../src/browser/index.ts';
import { detectCamera, openCamera } from './camera.ts';
import { $, h, icon, onFileDrop } from './dom.ts';
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
      const [prediction] = await model.predict(await imageToRGB(file, engine.inputSize), 1, { top: TOP });
      list.replaceChildren(
        ...prediction.top.map((g, i) =>
          h('li', { class: `prediction${i === 0 ? ' best' : ''}`, 'data-testid': 'prediction', 'data-label': g.label, 'data-probability': g.probability.toFixed(4) },
            h('span', { class: 'label' }, g.label),
            h('span', { class: 'pct' }, `${(g.probability * 100).toFixed(1)}%`),
            h('div', { class: 'bar' }, h('span', { style: `width:${Math.max(g.probability * 100, 1).toFixed(1)}%` })),
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
  const cam = $<HTMLButtonElement>('#predict-camera');
  cam.prepend(icon('camera'));
  cam.addEventListener('click', () =>
    openCamera('Who is this?', (photo) => {
      $<HTMLDialogElement>('#camera-dialog').close();
      void predict(photo);
    }),
  );
  void detectCamera().then((found) => (cam.hidden = !found));
}
