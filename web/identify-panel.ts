// "Identify": open-set recognition without training (src/browser/identity.ts, the Gallery
// API the CLI's enroll/identify run). People are enrolled from a few photos each (file picker,
// drop, camera) into a gallery kept in this browser's IndexedDB; then every face of a photo,
// or of the camera's frames one after another, gets a box and a name, or "unknown" when no
// one enrolled reaches the threshold of the chosen false-accept rate.
import {
  checkPersonName, createGallery, downloadGallery, enrollImages, fetchReference, imageToRgbImage, listBrowserGalleries, loadGalleryFromBrowser, loadGalleryFromFiles,
  openFaceDescriber, saveGalleryToBrowser,
  type DefaultCalibration, type DescribedFace, type EnrollReport, type FaceDescriber, type FaceGallery, type IdentifiedFace, type ImageInput, type MobileNetEngine, type RgbImage,
} from '../src/browser/index.ts';
import { cameraAvailable, cameraStream, detectCamera, openCamera } from './camera.ts';
import { $, colorFor, h, icon, onFileDrop, onFirstOpen } from './dom.ts';
import { galleryNotes, lookalikeNotes } from './gallery-notes.ts';
import type { PageContext } from './main.ts';
import { counted, withoutFile } from '../src/wording.ts';

/** The page's gallery in IndexedDB. */
const GALLERY_NAME = 'page';
/** Frames per second are measured over this many frames. */
const FPS_WINDOW = 10;
const UNKNOWN_COLOR = '#9ca3af';

/**
 * The photo shown and its faces; `missedBelow`: none found, and faces under that width were not
 * looked for (FaceDescriber.missedBelow). Its pixels are kept to look again with other settings.
 */
type Shown = { name: string; image: RgbImage; faces: DescribedFace[]; missedBelow: number | null } | null;

/** Why a photo was not enrolled, in the page's words (its controls, not the library's options). */
function pageWording(s: EnrollReport['skipped'][number]): string {
  if (s.faces !== undefined) return `${s.faces} faces found; enrol photos of one face`;
  if (s.missedBelow !== undefined) return `no face found; faces under ~${s.missedBelow} pixels wide in a photo of its size are looked for only with "Small faces" set`;
  // Without the file's name, which the line starts with ("notes.jpg: notes.jpg: ..." was said).
  return withoutFile(s.reason, s.file);
}

export function setupIdentify(ctx: PageContext): void {
  const { app } = ctx;
  const root = $('#tab-identify');
  const nameInput = $<HTMLInputElement>('#enrol-name');
  const enrolFiles = $<HTMLInputElement>('#enrol-files');
  const enrolCamera = $<HTMLButtonElement>('#enrol-camera');
  const enrolStatus = $('#enrol-status');
  const enrolWarning = $('#enrol-warning');
  const peopleList = $('#gallery-people');
  const notesList = $('#gallery-notes');
  const summary = $('#gallery-summary');
  const downloadButton = $<HTMLButtonElement>('#gallery-download');
  const loadInput = $<HTMLInputElement>('#gallery-load');
  const farSelect = $<HTMLSelectElement>('#identify-far');
  const minFaceSelect = $<HTMLSelectElement>('#identify-min-face');
  const thresholdText = $('#identify-threshold');
  const fpsText = $('#identify-fps');
  const video = $<HTMLVideoElement>('#identify-video');
  const img = $<HTMLImageElement>('#identify-image');
  const overlay = $<HTMLCanvasElement>('#identify-overlay');
  const empty = $('#identify-empty');
  const stage = $('#identify-stage');
  const photoInput = $<HTMLInputElement>('#identify-file');
  const liveButton = $<HTMLButtonElement>('#identify-live');
  const warning = $('#identify-warning');
  const facesList = $('#identify-faces');

  let describer: FaceDescriber | null = null;
  let reference: DefaultCalibration | null = null;
  let fg: FaceGallery | null = null;
  /** The last photo's faces (described once: a new FAR or a changed gallery only re-matches them). */
  let shown: Shown = null;
  let photoUrl: string | null = null;
  let stream: MediaStream | null = null;
  let liveRun = 0;

  // GPU work one call at a time: the describer's buffers are shared by enrolment, photos and frames.
  let queue: Promise<unknown> = Promise.resolve();
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  const say = (text: string, state?: 'busy' | 'done' | 'error') => {
    enrolStatus.textContent = text;
    if (state) enrolStatus.dataset.state = state;
    else delete enrolStatus.dataset.state;
  };
  const warn = (el: HTMLElement, text: string) => {
    el.textContent = text;
    el.hidden = !text;
  };
  const far = () => Number(farSelect.value);
  /** Photos only: a frame of the camera is looked at whole, as the describer's default. */
  const minFace = () => Number(minFaceSelect.value);
  const colorOf = (label: string | null) => {
    if (label === null || !fg) return UNKNOWN_COLOR;
    const i = fg.people().findIndex((p) => p.name === label);
    return i < 0 ? UNKNOWN_COLOR : colorFor(i);
  };

  // ---- the gallery: people, threshold, persistence ----

  function renderGallery(): void {
    const people = fg?.people() ?? [];
    const faces = people.reduce((n, p) => n + p.faces, 0);
    summary.textContent = !fg ? summary.textContent : people.length ? `${people.length} ${people.length === 1 ? 'person' : 'people'}, ${faces} face${faces === 1 ? '' : 's'}` : 'Nobody enrolled';
    downloadButton.disabled = !fg || !people.length;
    if (!people.length) {
      peopleList.replaceChildren(h('li', { class: 'empty' }, fg ? 'Nobody enrolled yet. Type a name above, then add photos.' : 'Loading the gallery…'));
    } else {
      peopleList.replaceChildren(...people.map((p, i) => personRow(p, i)));
    }
    renderThreshold();
    renderNotes();
  }

  /**
   * Names that do not fit the faces (one person under two names, a face under two, a photo
   * more like someone else), as identify and `gallery stats` warn of them in the CLI: said
   * under the people they concern, until mended.
   */
  function renderNotes(): void {
    let said: ReturnType<typeof galleryNotes> = { notes: [], more: [] };
    try {
      if (fg && fg.people().length >= 2) said = galleryNotes(fg.gallery.stats().namedTwice);
    } catch (err) {
      said = { notes: [], more: [`The gallery’s photos could not be compared: ${(err as Error).message}`] };
    }
    notesList.replaceChildren(
      ...said.notes.map((n) => h('li', { 'data-testid': 'gallery-note', 'data-kind': n.kind, 'data-person': n.person, 'data-other': n.other, 'data-file': n.file ?? '' }, n.text)),
      ...said.more.map((m) => h('li', {}, m)),
    );
    notesList.hidden = !said.notes.length && !said.more.length;
  }

  /** People whose photo list is open (kept open across renders). */
  const photosShown = new Set<string>();

  function personRow(p: { name: string; faces: number; photos: number }, index: number): HTMLElement {
    const input = h('input', { type: 'file', accept: 'image/*', multiple: true, 'data-testid': 'gallery-person-files', 'data-person': p.name });
    input.addEventListener('change', () => {
      if (input.files?.length) void enrol(p.name, [...input.files]);
      input.value = '';
    });
    // Their photos, each removable alone (a wrong photo enrolled costs that photo, not the
    // person), and a rename: under the row, opened by the count of faces (the row itself stays
    // narrow enough for a phone).
    const open = photosShown.has(p.name);
    const details = h('div', { class: 'person-details', 'data-testid': 'gallery-person-photos', hidden: !open },
      h('ul', { class: 'person-photos' },
        ...(fg?.photosOf(p.name) ?? []).map((file) =>
          h('li', { 'data-testid': 'gallery-person-photo', 'data-file': file },
            h('span', { class: 'person-photo-name' }, file),
            h('button', { class: 'link', title: `Remove ${p.name}'s face${p.faces > p.photos ? 's' : ''} from ${file}`, 'aria-label': `Remove ${file}`, 'data-testid': 'gallery-person-photo-remove', onclick: () => void removePhoto(p.name, file) }, '✕'),
          ),
        ),
      ),
      h('button', { class: 'link', 'data-testid': 'gallery-person-rename', onclick: () => void renamePerson(p.name) }, `Rename ${p.name}…`),
    );
    const label = (shown: boolean) => `${p.faces} face${p.faces === 1 ? '' : 's'} ${shown ? '▴' : '▾'}`;
    const toggle = h('button', { class: 'link person-count', 'aria-expanded': String(open), 'data-testid': 'gallery-person-photos-toggle', title: `${p.name}'s photos (${p.photos})` }, label(open));
    toggle.addEventListener('click', () => {
      details.hidden = !details.hidden;
      toggle.setAttribute('aria-expanded', String(!details.hidden));
      toggle.textContent = label(!details.hidden);
      if (details.hidden) photosShown.delete(p.name);
      else photosShown.add(p.name);
    });
    const row = h('li', { class: 'person gallery-person', 'data-testid': 'gallery-person', 'data-person': p.name, 'data-faces': p.faces },
      h('div', { class: 'person-head' },
        h('span', { class: 'avatar', style: `background:${colorFor(index)}` }, p.name[0].toUpperCase()),
        h('span', { class: 'person-name' }, p.name),
        toggle,
        h('label', { class: 'button small-button', title: `More photos of ${p.name}` }, icon('plus'), input),
        h('button', { class: 'link', title: `Remove ${p.name}`, 'aria-label': `Remove ${p.name}`, 'data-testid': 'gallery-person-remove', onclick: () => void removePerson(p.name) }, '✕'),
      ),
      details,
    );
    onFileDrop(row, (files) => void enrol(p.name, files));
    return row;
  }

  function renderThreshold(): void {
    if (!fg || !fg.people().length) {
      thresholdText.textContent = fg ? 'Enrol someone to identify faces.' : '';
      delete thresholdText.dataset.threshold;
      return;
    }
    try {
      const t = fg.gallery.thresholdFor('identify', far());
      thresholdText.dataset.threshold = t.threshold.toFixed(4);
      const whose = {
        gallery: `this gallery's calibration, ${t.impostorPairs} impostor comparisons`,
        default: 'the backbone’s reference (enrol a second person for the gallery’s own)',
        'gallery+default': `the backbone’s reference as a floor: this gallery’s ${t.impostorPairs} impostor comparisons are too few`,
      }[t.source];
      thresholdText.textContent = `threshold ${t.threshold.toFixed(3)} · ${whose}${t.supported ? '' : ' — too few for this rate: enrol more people, strangers may be named'}`;
      thresholdText.dataset.supported = String(t.supported);
    } catch (err) {
      delete thresholdText.dataset.threshold;
      thresholdText.textContent = (err as Error).message;
    }
  }

  async function persist(): Promise<void> {
    if (!fg) return;
    try {
      await saveGalleryToBrowser(GALLERY_NAME, fg);
    } catch (err) {
      warn(enrolWarning, `The gallery could not be saved in this browser: ${(err as Error).message}`);
    }
  }

  /** Enrol `files` as `name` (a new person or more photos of one). */
  async function enrol(name: string, files: File[]): Promise<void> {
    if (!fg) return say('The face model is still loading…');
    const person = name.trim().replace(/\s+/g, ' ');
    try {
      checkPersonName(person);
    } catch {
      nameInput.setCustomValidity('Type the person’s name first.');
      nameInput.reportValidity();
      nameInput.addEventListener('input', () => nameInput.setCustomValidity(''), { once: true });
      return;
    }
    const gallery = fg;
    say(`Enrolling ${person}: ${files.length} photo${files.length === 1 ? '' : 's'}…`, 'busy');
    warn(enrolWarning, '');
    try {
      const report = await exclusive(() => enrollImages(gallery, person, files, { minFace: minFace() }));
      if (gallery !== fg) return;
      await persist();
      // The next photos are most likely someone else's: the name is typed again (a person's + adds more of theirs).
      if (nameInput.value.trim().replace(/\s+/g, ' ') === person && report.added) nameInput.value = '';
      say(`${person}: ${report.added} face${report.added === 1 ? '' : 's'} added${report.skipped.length ? `, ${report.skipped.length} photo${report.skipped.length === 1 ? '' : 's'} skipped` : ''}.`, 'done');
      warn(enrolWarning, [...report.skipped.map((s) => `${s.file}: ${pageWording(s)}`), ...lookalikeNotes(report)].join('\n'));
      renderGallery();
      rematch();
    } catch (err) {
      say(`Could not enrol ${person}: ${(err as Error).message}`, 'error');
    }
  }

  async function removePhoto(name: string, file: string): Promise<void> {
    if (!fg) return;
    try {
      fg.removePhotos(name, [file]);
    } catch (err) {
      return say((err as Error).message, 'error');
    }
    await persist();
    say(`${file} removed from ${name}${fg.hasPerson(name) ? '' : `, who had no other photo`}.`, 'done');
    renderGallery();
    rematch();
  }

  /** Rename a person; to the name of someone enrolled, the two become one. */
  async function renamePerson(name: string): Promise<void> {
    if (!fg) return;
    const to = prompt(`Rename ${name} to (the name of someone enrolled merges the two):`, name)?.trim().replace(/\s+/g, ' ');
    if (!to || to === name) return;
    let result;
    try {
      result = fg.rename(name, to);
    } catch (err) {
      return say((err as Error).message, 'error');
    }
    if (photosShown.delete(name)) photosShown.add(to);
    await persist();
    say(result === 'merged' ? `${name} merged into ${to}.` : `${name} is now ${to}.`, 'done');
    renderGallery();
    rematch();
  }

  async function removePerson(name: string): Promise<void> {
    if (!fg || !confirm(`Remove ${name} from the gallery?`)) return;
    fg.remove(name);
    await persist();
    say(`${name} removed.`, 'done');
    renderGallery();
    rematch();
  }

  // ---- photos and frames: boxes and names ----

  function match(faces: DescribedFace[]): IdentifiedFace[] {
    if (!fg || !faces.length) return [];
    if (!fg.people().length) return faces.map((f) => ({ box: f.box, score: f.score, label: null, similarity: NaN, candidates: [] }));
    return fg.identifyDescribed(['frame'], [faces], { far: far() })[0].faces;
  }

  /** Boxes and names on the overlay (sized as the picture, drawn in its pixels), and the list below. */
  function draw(width: number, height: number, faces: IdentifiedFace[], missedBelow: number | null = null): void {
    if (overlay.width !== width || overlay.height !== height) {
      overlay.width = width;
      overlay.height = height;
    }
    overlay.hidden = false;
    const g = overlay.getContext('2d')!;
    g.clearRect(0, 0, width, height);
    const scale = width / Math.max(1, overlay.clientWidth || width);
    const fontPx = Math.round(14 * scale);
    g.font = `600 ${fontPx}px system-ui, sans-serif`;
    g.textBaseline = 'top';
    for (const f of faces) {
      const [x, y, w, hgt] = f.box;
      const color = colorOf(f.label);
      g.lineWidth = Math.max(2, 2.5 * scale);
      g.strokeStyle = color;
      g.strokeRect(x, y, w, hgt);
      const text = `${f.label ?? 'unknown'}${Number.isFinite(f.similarity) ? ` ${f.similarity.toFixed(2)}` : ''}`;
      const tw = g.measureText(text).width + 8 * scale;
      const th = fontPx + 6 * scale;
      const ty = y - th >= 0 ? y - th : y + hgt;
      const tx = Math.min(Math.max(0, x - g.lineWidth / 2), Math.max(0, width - tw));
      g.fillStyle = color;
      g.fillRect(tx, ty, tw, th);
      g.fillStyle = 'white';
      g.fillText(text, tx + 4 * scale, ty + 3 * scale);
    }
    const threshold = fg && fg.people().length ? thresholdText.dataset.threshold : undefined;
    const sorted = [...faces].sort((a, b) => a.box[0] - b.box[0]);
    facesList.replaceChildren(
      ...sorted.map((f) =>
        h('li', { class: `identified${f.label === null ? ' unknown' : ''}`, 'data-testid': 'identify-face', 'data-label': f.label ?? '', 'data-similarity': Number.isFinite(f.similarity) ? f.similarity.toFixed(4) : '', 'data-threshold': threshold ?? '', 'data-box': f.box.map((v) => v.toFixed(1)).join(',') },
          h('span', { class: 'swatch', style: `background:${colorOf(f.label)}` }),
          h('span', { class: 'label' }, f.label ?? 'unknown'),
          h('span', { class: 'muted small' },
            Number.isFinite(f.similarity)
              ? `similarity ${f.similarity.toFixed(3)}${threshold ? ` (threshold ${Number(threshold).toFixed(3)})` : ''}${f.label === null && f.candidates[0] ? `, closest ${f.candidates[0].label}` : ''}`
              : 'nobody enrolled',
          ),
        ),
      ),
    );
    const none = missedBelow === null ? 'No face found.' : `No face found. In a photo of this size, faces under ~${missedBelow} pixels wide are looked for only with "Small faces" set.`;
    if (!faces.length) facesList.replaceChildren(h('li', { class: 'predict-note', 'data-testid': 'identify-none' }, none));
  }

  /** A changed gallery or FAR: the shown photo's faces matched again (no GPU work). */
  function rematch(): void {
    renderThreshold();
    if (shown && !stream) drawShown(shown);
  }

  const drawShown = (s: NonNullable<Shown>) => draw(s.image.width, s.image.height, match(s.faces), s.missedBelow);

  /** Find the faces of the shown photo (again, after "Small faces" changed) and draw them. */
  async function describeShown(name: string, image: RgbImage, d: FaceDescriber): Promise<void> {
    const opts = { minFace: minFace() };
    const [faces] = await exclusive(() => d.describe([image], opts));
    shown = { name, image, faces, missedBelow: faces.length ? null : d.missedBelow(image, opts) };
    await img.decode().catch(() => undefined);
    drawShown(shown);
    root.dataset.identified = String(Number(root.dataset.identified ?? 0) + 1);
  }

  async function identifyPhoto(file: File): Promise<void> {
    stopLive();
    if (photoUrl) URL.revokeObjectURL(photoUrl);
    photoUrl = URL.createObjectURL(file);
    img.src = photoUrl;
    img.hidden = false;
    stage.dataset.showing = 'photo';
    video.hidden = true;
    overlay.hidden = true;
    empty.hidden = true;
    warn(warning, '');
    const d = describer;
    if (!d || !fg) return warn(warning, 'The face model is still loading…');
    facesList.replaceChildren(h('li', { class: 'predict-note', 'data-state': 'busy' }, 'Looking…'));
    try {
      await describeShown(file.name, await imageToRgbImage(file as ImageInput), d);
    } catch (err) {
      facesList.replaceChildren();
      // The stage as before any photo (its prompt), not a broken image on black.
      img.hidden = true;
      empty.hidden = false;
      delete stage.dataset.showing;
      warn(warning, `Could not read this photo: ${(err as Error).message}`);
    }
  }

  // ---- live: the camera's frames, one at a time ----

  /** Resolves on the video's next new frame (or the next paint where requestVideoFrameCallback is missing). */
  const nextFrame = () =>
    new Promise<void>((resolve) => {
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => resolve());
      else requestAnimationFrame(() => resolve());
    });

  async function startLive(): Promise<void> {
    const d = describer;
    if (!d || !fg) return;
    try {
      stream = await cameraStream();
    } catch (err) {
      return warn(warning, `The camera could not be opened: ${(err as Error).message}`);
    }
    const run = ++liveRun;
    shown = null;
    video.srcObject = stream;
    video.hidden = false;
    stage.dataset.showing = 'live';
    img.hidden = true;
    empty.hidden = true;
    overlay.hidden = true;
    warn(warning, '');
    liveButton.textContent = 'Stop camera';
    liveButton.classList.remove('primary');
    facesList.replaceChildren();
    const done: number[] = [];
    const spent: number[] = [];
    let frames = 0;
    await video.play().catch(() => undefined);
    while (run === liveRun) {
      if (video.readyState < 2) {
        await nextFrame();
        continue;
      }
      const t = performance.now();
      const before = { ...d.times };
      let decodeMs = 0;
      try {
        const image = await imageToRgbImage(video);
        decodeMs = performance.now() - t;
        const [faces] = await exclusive(() => d.describe([image]));
        if (run !== liveRun) break;
        draw(image.width, image.height, match(faces));
      } catch (err) {
        if (run === liveRun) warn(warning, `Live identification stopped: ${(err as Error).message}`);
        stopLive();
        break;
      }
      const now = performance.now();
      frames++;
      done.push(now);
      spent.push(now - t);
      if (done.length > FPS_WINDOW) done.shift();
      if (spent.length > FPS_WINDOW) spent.shift();
      const ms = spent.reduce((a, b) => a + b, 0) / spent.length;
      // Frames per second over the last few frames (the time between the first and last finished), else 1 / this frame's time.
      const fps = done.length >= 2 ? ((done.length - 1) * 1000) / (done[done.length - 1] - done[0]) : 1000 / ms;
      fpsText.textContent = `${fps.toFixed(1)} frames/s · ${ms.toFixed(0)} ms a frame`;
      // This frame's time by stage (FaceDescriber's counters), for the curious and for the e2e test's log.
      const stages = { decode: decodeMs, detect: d.times.detectMs - before.detectMs, frame: d.times.alignMs - before.alignMs, embed: d.times.embedMs - before.embedMs };
      fpsText.title = Object.entries(stages).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ');
      fpsText.dataset.stages = fpsText.title;
      fpsText.dataset.fps = fps.toFixed(2);
      fpsText.dataset.ms = ms.toFixed(1);
      fpsText.dataset.frames = String(frames);
      await nextFrame();
    }
  }

  function stopLive(): void {
    liveRun++;
    if (!stream) return;
    stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    overlay.hidden = true;
    empty.hidden = !img.hidden;
    if (img.hidden) delete stage.dataset.showing;
    liveButton.textContent = 'Live camera';
    liveButton.classList.add('primary');
  }

  // ---- start: the describer on the page's engine, the reference, the stored gallery ----

  async function start(): Promise<void> {
    if (!app.gpu || !app.engine) return;
    summary.textContent = 'Loading…';
    // The describer runs on this engine for the rest of the visit (a later tuning does not free it).
    let on: MobileNetEngine | null = app.engine;
    ctx.engines.hold(() => on);
    try {
      describer = await openFaceDescriber(app.gpu, on);
    } catch (err) {
      on = null;
      ctx.engines.release();
      summary.textContent = 'Not available';
      return say(`The face detector could not be loaded: ${(err as Error).message}`, 'error');
    }
    try {
      reference = await fetchReference();
    } catch (err) {
      warn(enrolWarning, `${(err as Error).message}. Thresholds will come from the gallery itself once two people are enrolled.`);
    }
    const notices: string[] = [];
    try {
      if ((await listBrowserGalleries()).includes(GALLERY_NAME)) {
        fg = await loadGalleryFromBrowser(GALLERY_NAME, describer, reference, { onNotice: (m) => notices.push(m) });
        say(`Gallery loaded from this browser.${notices.length ? ` ${notices.join(' ')}` : ''}`, 'done');
      }
    } catch (err) {
      warn(enrolWarning, `The gallery saved in this browser could not be used (${(err as Error).message}); starting a new one: enrolling replaces it.`);
    }
    fg ??= createGallery(describer, reference, { name: GALLERY_NAME, onNotice: (m) => say(m) });
    root.dataset.ready = 'true';
    liveButton.disabled = false;
    renderGallery();
    Object.assign((window as { facegpu?: object }).facegpu ?? {}, { identify: { gallery: () => fg, describer } });
  }

  // ---- wiring ----

  $<HTMLFormElement>('#enrol-form').addEventListener('submit', (e) => e.preventDefault());
  enrolFiles.addEventListener('change', () => {
    const files = [...(enrolFiles.files ?? [])];
    enrolFiles.value = '';
    if (files.length) void enrol(nameInput.value, files);
  });
  onFileDrop($('#enrol-card'), (files) => void enrol(nameInput.value, files));
  $('#enrol-photos').prepend(icon('plus'));
  enrolCamera.prepend(icon('camera'));
  enrolCamera.addEventListener('click', () => {
    const person = nameInput.value.trim();
    if (!person) {
      nameInput.setCustomValidity('Type the person’s name first.');
      nameInput.reportValidity();
      nameInput.addEventListener('input', () => nameInput.setCustomValidity(''), { once: true });
      return;
    }
    void openCamera(`Photos of ${person}`, (photo) => void enrol(person, [photo]));
  });
  farSelect.addEventListener('change', rematch);
  minFaceSelect.addEventListener('change', async () => {
    const d = describer;
    if (!shown || stream || !d) return;
    warn(warning, '');
    facesList.replaceChildren(h('li', { class: 'predict-note', 'data-state': 'busy' }, 'Looking…'));
    try {
      await describeShown(shown.name, shown.image, d);
    } catch (err) {
      facesList.replaceChildren();
      warn(warning, `Could not look at this photo again: ${(err as Error).message}`);
    }
  });
  photoInput.addEventListener('change', () => {
    if (photoInput.files?.[0]) void identifyPhoto(photoInput.files[0]);
    photoInput.value = '';
  });
  onFileDrop(stage, (files) => void identifyPhoto(files[0]));
  liveButton.prepend(icon('camera'));
  liveButton.addEventListener('click', () => (stream ? stopLive() : void startLive()));
  downloadButton.addEventListener('click', () => fg && downloadGallery(fg));
  loadInput.addEventListener('change', async () => {
    const files = [...(loadInput.files ?? [])];
    loadInput.value = '';
    if (!files.length || !describer) return;
    const notices: string[] = [];
    try {
      const picked = await loadGalleryFromFiles(files, describer, reference, { name: GALLERY_NAME, onNotice: (m) => notices.push(m) });
      if (fg?.people().length && !confirm(`Replace the ${counted(fg.people().length, 'person', 'people')} enrolled here by the ${counted(picked.people().length, 'person', 'people')} of these files?`)) return;
      fg = picked;
      await persist();
      say(`Gallery loaded from files: ${counted(picked.people().length, 'person', 'people')}.${notices.length ? ` ${notices.join(' ')}` : ''}`, 'done');
      renderGallery();
      rematch();
    } catch (err) {
      // Why, in the warning box, as enrol's and identify's errors are (the grey status line was missed).
      say('Could not load the gallery (why: in the warning below).', 'error');
      warn(enrolWarning, `Could not load the gallery: ${(err as Error).message}`);
    }
  });
  // The camera stops when the visitor leaves the tab.
  for (const tab of document.querySelectorAll<HTMLButtonElement>('.tabs button')) {
    if (tab.dataset.tab !== 'identify') tab.addEventListener('click', stopLive);
  }
  // Names line up with the boxes however wide the picture is shown: redraw when the overlay is resized.
  new ResizeObserver(() => shown && !stream && drawShown(shown)).observe(overlay);

  void detectCamera().then((found) => {
    enrolCamera.hidden = !found || !cameraAvailable();
    liveButton.hidden = !found;
  });
  renderGallery();
  // Started the first time the tab is opened (a visitor who never opens it loads no second
  // detector), once the page's engine is there.
  onFirstOpen('tab-identify', () => !!app.engine && !!app.gpu, () => void start());
}
