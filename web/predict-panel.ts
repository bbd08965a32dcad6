// "Who is this?": a new photo is cropped as the model records (its face, found by BlazeFace,
// or the whole photo), embedded by the engine and classified by the trained head; the top
// labels are shown with their probabilities, and beside the photo what the network saw.
import { imageToRGB, type FaceClassifier, type ImageInput } from '../src/browser/index.ts';
import { detectCamera, openCamera } from './camera.ts';
import { $, h, icon, onFileDrop } from './dom.ts';
import type { PageContext } from './main.ts';

const TOP = 3;

export function setupPrediction(ctx: PageContext): void {
  const input = $<HTMLInputElement>('#predict-file');
  const img = $<HTMLImageElement>('#predict-image');
  const list = $('#predictions');
  const warning = $('#predict-warning');
  const preview = $('#predict-crop');
  let shown: string | null = null;

  /** The model's input for `file`: its face crop (null face: none found, the whole photo) or the whole photo. */
  async function inputFor(model: FaceClassifier, file: File): Promise<{ pixels: Uint8Array; face: boolean | null }> {
    const size = model.engine.inputSize;
    const crop = model.meta.preprocessing.crop;
    if (crop.method === 'none') return { pixels: await imageToRGB(file, size), face: null };
    if (!ctx.app.cropping) throw new Error('the face detector is not loaded');
    const cropper = await ctx.app.cropping.cropper(crop);
    const r = await cropper.crop(file as ImageInput, size);
    return { pixels: r.pixels, face: r.face !== null };
  }

  /** What the network saw, as a thumbnail (the crop is already at hand: one putImageData). */
  function showInput(pixels: Uint8Array, size: number, caption: string): void {
    const canvas = $<HTMLCanvasElement>('canvas', preview);
    canvas.width = canvas.height = size;
    const rgba = new Uint8ClampedArray(size * size * 4);
    for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) {
      rgba[j] = pixels[i];
      rgba[j + 1] = pixels[i + 1];
      rgba[j + 2] = pixels[i + 2];
      rgba[j + 3] = 255;
    }
    canvas.getContext('2d')!.putImageData(new ImageData(rgba, size, size), 0, 0);
    $('figcaption', preview).textContent = caption;
    preview.hidden = false;
  }

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
    warning.hidden = true;
    preview.hidden = true;
    try {
      const { pixels, face } = await inputFor(model, file);
      showInput(pixels, engine.inputSize, face === null ? 'the whole photo (this model was trained on whole photos)' : face ? 'the face the network saw' : 'no face found: the whole photo');
      if (face === false) {
        warning.textContent = `${file.name}: no face found; the whole photo is used, so the answer is less reliable.`;
        warning.hidden = false;
      }
      const [prediction] = await model.predict(pixels, 1, { top: TOP });
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
