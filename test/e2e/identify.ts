// The Identify tab end to end (open-set identity in the page, src/browser/identity.ts): two
// people enrolled from 5-celebrity-faces train/ photos through the file input; a val/ photo of
// each named right; a third person's photo named only at or above the threshold ("unknown"
// below it); a picture with two faces (two val/ photos side by side, built here) gets two
// boxes on the overlay with both names; a face far off in a 4000x3000 picture is missed by the
// whole photo's view (the note names "Small faces") and found and named with "Small faces"
// set; the threshold of FAR 1e-3 is no lower than 1e-2's; a copy of an enrolled photo under
// another name is said under the people until removed;
// the live camera (Chromium's fake capture playing a video of a val/ photo made here) is
// identified frame after frame and its frames per second reported; the gallery downloads as
// a Node gallery folder that Node's Gallery API opens and identifies with the same names, and
// a gallery enrolled in Node (its USearch index, where USearch loads) is loaded in the page
// from its files; the gallery survives a reload (IndexedDB); a photo from the camera enrols.
// Screenshots: <out>/e2e-identify.png (desktop), <out>/e2e-identify-live.png (the live camera)
// and <out>/e2e-identify-phone.png (390 px). Used by run.e2e.ts and by identify.e2e.ts alone.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Download, Page } from 'playwright-core';
import type { Gpu } from '../../src/gpu/device.ts';
import type { MobileNetEngine } from '../../src/mobilenet/engine.ts';
import { enrollFiles, identifyFiles, openFaceGallery, saveFaceGallery } from '../../src/identity/node.ts';
import { LibraryStore } from '../../src/library/store-node.ts';
import { launchBrowser } from './chromium.ts';
import { farOff, scaledCopy, twoFaces, y4mOf } from './pictures.ts';
import type { PageCheckOptions } from './check.ts';

/** `out` also gets the pictures made here and the downloaded gallery. */
export interface IdentifyCheckOptions extends PageCheckOptions {
  /** 5-celebrity-faces: train/<person>/, val/<person>/. */
  dataset: string;
  /** Node's engine, to open the gallery the page downloads (skipped without). */
  node?: { gpu: Gpu; engine: MobileNetEngine };
}

const ENROLLED = [
  { folder: 'ben_afflek', name: 'Ben Affleck' },
  { folder: 'madonna', name: 'Madonna' },
];
const PHOTOS_EACH = 4;
/** val/ photos by the start of their file names (the names are long URLs). */
const PROBE = { ben_afflek: 'httpcsvkmeuadecafjpg', madonna: 'httpassetsrollingstonecomassetsarticlemadonnadavid' } as const;
const STRANGER = { folder: 'elton_john', prefix: 'httpafilesbiographycom' };
const PAIR = { ben_afflek: 'httpabsolumentgratuit', madonna: 'httpcdncdnjustjaredcom' } as const;
const VIDEO_OF = { folder: 'ben_afflek', prefix: 'httpafilesbiographycom' };
/** Live frames to identify before reading the frame rate. */
const LIVE_FRAMES = 6;

interface FaceRow {
  label: string;
  similarity: number;
  threshold: number;
  box: number[];
}

function pick(dataset: string, split: 'train' | 'val', folder: string, prefix?: string): string[] {
  const dir = join(dataset, split, folder);
  const all = readdirSync(dir).sort();
  const files = prefix ? all.filter((f) => f.startsWith(prefix)) : all;
  if (!files.length) throw new Error(`${dir}: no photo named ${prefix}*`);
  return files.map((f) => join(dir, f));
}

async function faces(page: Page): Promise<FaceRow[]> {
  return page.$$eval('[data-testid=identify-face]', (els) =>
    els.map((el) => {
      const d = (el as HTMLElement).dataset;
      return { label: d.label ?? '', similarity: Number(d.similarity), threshold: Number(d.threshold), box: (d.box ?? '').split(',').map(Number) };
    }),
  );
}

/** Do `act` (which has the tab look at a photo) and wait until it has: the faces then listed. */
async function looked(page: Page, act: () => Promise<unknown>, timeout: number): Promise<FaceRow[]> {
  const before = Number((await page.locator('#tab-identify').getAttribute('data-identified')) ?? 0);
  await act();
  await page.waitForFunction(
    (n) => Number(document.querySelector<HTMLElement>('#tab-identify')!.dataset.identified ?? 0) > n || !document.querySelector<HTMLElement>('#identify-warning')!.hidden,
    before,
    { timeout },
  );
  return faces(page);
}

/** Identify one photo through the tab's file input; the faces listed once it is done. */
const identifyPhoto = (page: Page, file: string) => looked(page, () => page.setInputFiles('[data-testid=identify-file]', file), 120_000);

/** Set "Small faces" (a minFace, 0: the whole photo), which looks at the shown photo again; its faces once done. */
const smallFaces = (page: Page, minFace: string) => looked(page, () => page.selectOption('[data-testid=identify-min-face]', minFace), 180_000);

async function enrol(page: Page, name: string, files: string[]): Promise<string> {
  await page.fill('[data-testid=enrol-name]', name);
  await page.setInputFiles('[data-testid=enrol-files]', files);
  await page.waitForFunction(
    (who) => {
      const el = document.querySelector<HTMLElement>('#enrol-status')!;
      return el.dataset.state !== 'busy' && (el.textContent ?? '').includes(who);
    },
    name,
    { timeout: 180_000 },
  );
  return page.locator('#enrol-status').innerText();
}

async function galleryPeople(page: Page): Promise<Record<string, number>> {
  const rows = await page.$$eval('[data-testid=gallery-person]', (els) => els.map((el) => [(el as HTMLElement).dataset.person!, Number((el as HTMLElement).dataset.faces)] as const));
  return Object.fromEntries(rows);
}

async function openTab(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready="true"], #fatal:not([hidden])', { timeout: 240_000 });
  if (await page.locator('#fatal').isVisible()) throw new Error(`the page did not load: ${await page.locator('#fatal').innerText()}`);
  await page.click('[data-testid=tab-identify]');
  await page.waitForSelector('#tab-identify[data-ready="true"], #enrol-status[data-state="error"]', { timeout: 120_000 });
  if (!(await page.locator('#tab-identify[data-ready="true"]').count())) throw new Error(`the Identify tab did not start: ${await page.locator('#enrol-status').innerText()}`);
}

const fmt = (f: FaceRow) => `${f.label || 'unknown'} ${f.similarity.toFixed(3)}`;

export async function checkIdentify(o: IdentifyCheckOptions): Promise<void> {
  const { check, log } = o;
  mkdirSync(o.out, { recursive: true });
  const pairFile = join(o.out, 'e2e-identify-two-faces.jpg');
  await twoFaces(pick(o.dataset, 'val', 'ben_afflek', PAIR.ben_afflek)[0], pick(o.dataset, 'val', 'madonna', PAIR.madonna)[0], pairFile);
  const farFile = join(o.out, 'e2e-identify-far-off.jpg');
  await farOff(pick(o.dataset, 'val', 'ben_afflek', PROBE.ben_afflek)[0], farFile);
  const copyFile = join(o.out, 'e2e-identify-copy.jpg');
  await scaledCopy(pick(o.dataset, 'train', ENROLLED[0].folder)[0], copyFile);
  const videoFile = join(o.out, 'e2e-identify-camera.y4m');
  await y4mOf(pick(o.dataset, 'val', VIDEO_OF.folder, VIDEO_OF.prefix)[0], videoFile);

  const browser = await launchBrowser({ fakeVideo: videoFile });
  const context = await browser.newContext({ viewport: { width: 1440, height: 960 }, deviceScaleFactor: 1, acceptDownloads: true });
  if (o.onRequest) context.on('request', (r) => o.onRequest!(r.url()));
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && o.onConsoleError?.(`[identify] ${m.text()}`));
  page.on('pageerror', (e) => o.onConsoleError?.(`[identify] ${e.message}`));
  /** What a prompt() is answered (a rename); confirm() is accepted. */
  let promptAnswer = '';
  page.on('dialog', (d) => void d.accept(d.type() === 'prompt' ? promptAnswer : undefined));
  try {
    await page.goto(o.url);
    await openTab(page);

    // Keyboard users reach the file pickers: Tab from the name field lands on the enrol
    // photos' input (hidden, every picker was skipped), and the tab's pickers can all take focus.
    await page.focus('#enrol-name');
    await page.keyboard.press('Tab');
    const next = await page.evaluate(() => document.activeElement?.id ?? '');
    const unfocusable = await page.$$eval('input[type=file]', (els) =>
      els.filter((el) => !el.parentElement?.closest('[hidden]')).filter((el) => {
        (el as HTMLElement).focus();
        return document.activeElement !== el;
      }).map((el) => el.id || (el as HTMLElement).dataset.testid || '?'),
    );
    check('identify: keyboard: Tab from the name field reaches the photo picker, and every file picker takes focus', next === 'enrol-files' && unfocusable.length === 0, `after the name field: "${next}"; not focusable: ${unfocusable.join(', ') || 'none'}`);
    // The tab list: the arrow keys move between tabs (one tab stop), each tab names its panel;
    // results are announced (a live region), warnings as alerts.
    await page.focus('[data-testid=tab-identify]');
    await page.keyboard.press('ArrowLeft');
    const leftTab = await page.evaluate(() => document.querySelector('[role=tab][aria-selected=true]')?.getAttribute('data-tab'));
    await page.keyboard.press('ArrowRight');
    const back = await page.evaluate(() => ({
      tab: document.querySelector('[role=tab][aria-selected=true]')?.getAttribute('data-tab'),
      focused: (document.activeElement as HTMLElement | null)?.dataset.tab,
      stops: [...document.querySelectorAll<HTMLElement>('[role=tab]')].filter((t) => t.tabIndex === 0).length,
      controls: document.querySelector('[data-testid=tab-identify]')?.getAttribute('aria-controls'),
      live: document.querySelector('#enrol-status')?.getAttribute('aria-live'),
      alert: document.querySelector('#identify-warning')?.getAttribute('role'),
    }));
    check(
      'identify: keyboard: ArrowLeft and ArrowRight move between tabs (one tab stop); the tab names its panel; the enrol status is a live region, the warning an alert',
      leftTab === 'recognize' && back.tab === 'identify' && back.focused === 'identify' && back.stops === 1 && back.controls === 'tab-identify' && back.live === 'polite' && back.alert === 'alert',
      `ArrowLeft: ${leftTab}; then ArrowRight: ${JSON.stringify(back)}`,
    );

    log('identify: enrolling two people from their train/ photos');
    for (const p of ENROLLED) {
      const status = await enrol(page, p.name, pick(o.dataset, 'train', p.folder).slice(0, PHOTOS_EACH));
      log(`identify: ${status}`);
    }
    const people = await galleryPeople(page);
    check(
      'identify: two people enrolled from the file input',
      ENROLLED.every((p) => people[p.name] === PHOTOS_EACH) && Object.keys(people).length === 2,
      Object.entries(people).map(([n, k]) => `${n}: ${k} faces`).join(', ') || 'nobody listed',
    );
    const threshold2 = Number(await page.locator('#identify-threshold').getAttribute('data-threshold'));
    log(`identify: ${await page.locator('#identify-threshold').innerText()}`);

    for (const p of ENROLLED) {
      const file = pick(o.dataset, 'val', p.folder, PROBE[p.folder as keyof typeof PROBE])[0];
      const got = await identifyPhoto(page, file);
      check(`identify: a val/ photo of ${p.name} is named`, got.length === 1 && got[0].label === p.name, got.map(fmt).join(', ') || 'no face listed');
    }

    const strangerFile = pick(o.dataset, 'val', STRANGER.folder, STRANGER.prefix)[0];
    const stranger = await identifyPhoto(page, strangerFile);
    const s = stranger[0];
    check(
      'identify: a third person is named only at or above the threshold',
      stranger.length === 1 && (s.similarity < s.threshold ? s.label === '' : ENROLLED.some((p) => p.name === s.label)),
      s ? `${STRANGER.folder}: ${s.label ? `"${s.label}"` : 'unknown'}, similarity ${s.similarity.toFixed(3)}, threshold ${s.threshold.toFixed(3)}` : 'no face listed',
    );

    const pair = await identifyPhoto(page, pairFile);
    // Every face's box is drawn: the overlay is painted on the left edge of each box.
    const painted = await page.evaluate((boxes) => {
      const c = document.querySelector<HTMLCanvasElement>('#identify-overlay')!;
      if (c.hidden) return boxes.map(() => false);
      const g = c.getContext('2d')!;
      return boxes.map(([x, y, , h]) => g.getImageData(Math.round(x), Math.round(y + h / 2), 1, 1).data[3] > 0);
    }, pair.map((f) => f.box));
    const names = pair.map((f) => f.label).sort();
    check(
      'identify: a picture of two faces gets two boxes and both names',
      pair.length === 2 && names.join() === ENROLLED.map((p) => p.name).sort().join() && painted.every(Boolean),
      `${pair.map(fmt).join(', ')}; boxes drawn: ${painted.filter(Boolean).length} of ${pair.length}`,
    );

    await page.selectOption('[data-testid=identify-far]', '0.001');
    const threshold3 = Number(await page.locator('#identify-threshold').getAttribute('data-threshold'));
    const text3 = await page.locator('#identify-threshold').innerText();
    check('identify: the FAR selector sets the threshold (1e-3 no lower than 1e-2)', Number.isFinite(threshold3) && threshold3 >= threshold2, `FAR 1e-2: ${threshold2.toFixed(3)}, FAR 1e-3: ${threshold3.toFixed(3)} (${text3})`);
    await page.selectOption('[data-testid=identify-far]', '0.01');
    await page.screenshot({ path: join(o.out, 'e2e-identify.png'), fullPage: true });
    log(`screenshot: ${join(o.out, 'e2e-identify.png')}`);

    // One of Ben Affleck's photos again, scaled, enrolled as a new person: the page says, under
    // the people, that the copy is his face under another name (the CLI's warning, with the
    // page's remedy), and at enrolling that it looks like him; removing the new name ends it.
    const copyName = 'Not Ben';
    await enrol(page, copyName, [copyFile]);
    const copyEnrolNote = await page.locator('#enrol-warning').innerText();
    const notesOf = () =>
      page.$$eval('[data-testid=gallery-note]', (els) =>
        els.map((el) => {
          const d = (el as HTMLElement).dataset;
          return { kind: d.kind ?? '', person: d.person ?? '', other: d.other ?? '', file: d.file ?? '', text: el.textContent ?? '' };
        }),
      );
    const copyNotes = await notesOf();
    await page.click(`[data-testid=gallery-person][data-person="${copyName}"] [data-testid=gallery-person-remove]`);
    await page.waitForFunction((who) => !document.querySelector(`[data-testid=gallery-person][data-person="${who}"]`), copyName);
    const notesAfter = await notesOf();
    const copyNote = copyNotes.find((n) => n.kind === 'same-face');
    check(
      'identify: a copy of an enrolled photo under another name is said under the people (whose face, which photo, how to mend it) and at enrolling, until removed',
      copyNote?.person === copyName && copyNote.other === ENROLLED[0].name && copyNote.file === basename(copyFile) && copyNote.text.includes(`remove it from ${copyName}’s photos`) &&
        copyEnrolNote.includes(`looks like “${ENROLLED[0].name}”`) && !notesAfter.some((n) => n.person === copyName || n.other === copyName),
      `notes: ${copyNotes.map((n) => n.text).join(' | ') || 'none'}; at enrolling: ${copyEnrolNote || 'nothing'}; after removing ${copyName}: ${notesAfter.map((n) => n.text).join(' | ') || 'none'}`,
    );

    // A face far off in a 4000x3000 photo: missed by the whole photo's view, which the note says;
    // "Small faces" looks at the same photo again, through tiles, and finds and names it. Enrolled
    // from that photo: skipped, told in the page's words, then enrolled with "Small faces" set
    // (under a name of its own, removed after, so the gallery stays as the checks below expect).
    const farWhole = await identifyPhoto(page, farFile);
    const note = (await page.locator('[data-testid=identify-none]').count()) ? await page.locator('[data-testid=identify-none]').innerText() : '';
    const farName = 'Far Off';
    const skipped = await enrol(page, farName, [farFile]);
    const skippedNote = await page.locator('#enrol-warning').innerText();
    const t = Date.now();
    const farClose = await smallFaces(page, '80');
    const took = Date.now() - t;
    const added = await enrol(page, farName, [farFile]);
    // A second photo, then the first removed alone from the person's photo list.
    await enrol(page, farName, [strangerFile]);
    const row = `[data-testid=gallery-person][data-person="${farName}"]`;
    await page.click(`${row} [data-testid=gallery-person-photos-toggle]`);
    const listed = await page.$$eval(`${row} [data-testid=gallery-person-photo]`, (els) => els.map((el) => (el as HTMLElement).dataset.file!));
    await page.click(`${row} [data-testid=gallery-person-photo][data-file="${basename(farFile)}"] [data-testid=gallery-person-photo-remove]`);
    await page.waitForFunction((sel) => document.querySelector<HTMLElement>(sel)?.dataset.faces === '1', row);
    const left = await page.$$eval(`${row} [data-testid=gallery-person-photo]`, (els) => els.map((el) => (el as HTMLElement).dataset.file!));
    check(
      "identify: a person's photos are listed, and one removed alone leaves the others (and the person)",
      listed.join() === [basename(farFile), basename(strangerFile)].join() && left.join() === basename(strangerFile),
      `listed: ${listed.join(', ')}; after removing ${basename(farFile)}: ${left.join(', ')}`,
    );
    // Renamed (the prompt answered), then removed under the new name.
    const renamed = 'Far Away';
    promptAnswer = renamed;
    await page.click(`${row} [data-testid=gallery-person-rename]`);
    await page.waitForFunction((who) => document.querySelector<HTMLElement>(`[data-testid=gallery-person][data-person="${who}"]`)?.dataset.faces === '1', renamed);
    const renamedPeople = await galleryPeople(page);
    check(
      'identify: a person renamed keeps their faces, under the new name only',
      renamedPeople[renamed] === 1 && !(farName in renamedPeople),
      Object.entries(renamedPeople).map(([n, f]) => `${n}: ${f}`).join(', '),
    );
    await page.click(`[data-testid=gallery-person][data-person="${renamed}"] [data-testid=gallery-person-remove]`);
    await page.waitForFunction((who) => !document.querySelector(`[data-testid=gallery-person][data-person="${who}"]`), renamed);
    await smallFaces(page, '0');
    check(
      'identify: "Small faces" finds and names a face far off in a big photo that the whole photo misses (and the note says so)',
      farWhole.length === 0 && note.includes('"Small faces"') && farClose.length === 1 && farClose[0].label === 'Ben Affleck',
      `whole photo: ${farWhole.length} faces ("${note}"); down to 80 px: ${farClose.map(fmt).join(', ') || 'none'} in ${took} ms`,
    );
    check(
      'identify: a photo enrolled with its face far off is skipped, said in the page\'s words, and enrolled with "Small faces" set',
      skipped.includes('0 faces added, 1 photo skipped') && skippedNote.includes('"Small faces" set') && !/minFace|option/.test(skippedNote) && added.includes('1 face added'),
      `${skipped} ${skippedNote} | ${added}`,
    );

    log('identify: live camera (fake capture of a val/ photo)');
    await page.click('[data-testid=identify-live]');
    await page.waitForFunction((n) => Number(document.querySelector<HTMLElement>('#identify-fps')!.dataset.frames ?? 0) >= n || !document.querySelector<HTMLElement>('#identify-warning')!.hidden, LIVE_FRAMES, { timeout: 180_000 });
    const live = await page.locator('#identify-fps').evaluate((el) => {
      const d = (el as HTMLElement).dataset;
      return { fps: d.fps, frames: d.frames, ms: d.ms, stages: d.stages, text: el.textContent ?? '' };
    });
    const liveFaces = await faces(page);
    await page.screenshot({ path: join(o.out, 'e2e-identify-live.png') });
    await page.click('[data-testid=identify-live]');
    const fps = Number(live.fps);
    log(`identify: LIVE ${live.text} over the last of ${live.frames} frames (SwiftShader, headless Chromium; last frame: ${live.stages}); faces in the last frame: ${liveFaces.map(fmt).join(', ') || 'none'}`);
    check(
      'identify: live camera frames identified, frames per second reported',
      fps > 0 && liveFaces.some((f) => f.label === 'Ben Affleck'),
      `${live.text || 'no frame rate'} (${live.frames ?? 0} frames); last frame: ${liveFaces.map(fmt).join(', ') || 'no face'}${(await page.locator('#identify-warning').isVisible()) ? `; warning: ${await page.locator('#identify-warning').innerText()}` : ''}`,
    );

    if (o.node) {
      log('identify: downloading the gallery and opening it in Node');
      const dir = join(o.out, 'e2e-identify-gallery');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const downloads: Download[] = [];
      const got4 = new Promise<void>((done) => page.on('download', (d) => downloads.push(d) === 4 && done()));
      await page.click('[data-testid=gallery-download]');
      await Promise.race([got4, page.waitForTimeout(30_000)]);
      for (const d of downloads) await d.saveAs(join(dir, d.suggestedFilename()));
      const files = downloads.map((d) => d.suggestedFilename()).sort();
      const probes = ENROLLED.map((p) => pick(o.dataset, 'val', p.folder, PROBE[p.folder as keyof typeof PROBE])[0]);
      let detail = files.join(', ') || 'no download';
      let ok = files.join() === 'calibration.json,descriptors.bin,gallery.json,index.flat';
      if (ok) {
        const notices: string[] = [];
        const fg = await openFaceGallery(dir, { ...o.node, onNotice: (m) => notices.push(m) });
        try {
          const found = await identifyFiles(fg, probes, { far: 0.01 });
          const labels = found.map((f) => ('faces' in f ? f.faces.map((x) => `${x.label ?? 'unknown'} ${x.similarity.toFixed(3)}`).join('+') : f.error));
          ok = found.every((f, i) => 'faces' in f && f.faces.length === 1 && f.faces[0].label === ENROLLED[i].name) && fg.people().length === 2;
          detail = `${files.join(', ')}; Node: ${fg.people().map((p) => `${p.name} ${p.faces}`).join(', ')}; identifies ${labels.join(', ')}${notices.length ? `; notices: ${notices.join(' ')}` : ''}`;
        } finally {
          fg.describer.destroy();
        }
      }
      check('identify: the gallery downloads as a folder Node opens and identifies with', ok, detail);

      log('identify: a gallery enrolled in Node, loaded in the page from its files');
      const nodeDir = join(o.out, 'e2e-identify-node-gallery');
      rmSync(nodeDir, { recursive: true, force: true });
      const made = await openFaceGallery(nodeDir, { ...o.node, create: true });
      try {
        for (const p of ENROLLED) await enrollFiles(made, p.name, pick(o.dataset, 'train', p.folder).slice(0, PHOTOS_EACH));
        await saveFaceGallery(nodeDir, made);
        // A gallery with a photo library (facegpu index) beside its people: the page must
        // open the gallery from the whole folder's files, library files included.
        const lib = LibraryStore.open(nodeDir, { create: { dim: made.gallery.dim, backbone: made.gallery.backbone } });
        const descriptor = new Float32Array(made.gallery.dim).fill(1 / Math.sqrt(made.gallery.dim));
        lib.storePhotos([{ path: '/photos/x.jpg', size: 1, mtimeMs: 0, sha256: '0'.repeat(64), width: 10, height: 10, faces: [{ box: [0, 0, 5, 5], score: 0.9, descriptor }] }]);
        lib.close();
      } finally {
        made.describer.destroy();
      }
      const nodeFiles = readdirSync(nodeDir).sort();
      if (!nodeFiles.includes('library.sqlite')) throw new Error(`${nodeDir}: no library.sqlite: ${nodeFiles.join(', ')}`);
      await page.setInputFiles('[data-testid=gallery-load]', nodeFiles.map((f) => join(nodeDir, f)));
      await page.waitForFunction(() => /Gallery loaded from files|Could not load/.test(document.querySelector('#enrol-status')!.textContent ?? ''), undefined, { timeout: 60_000 });
      const loaded = await page.locator('#enrol-status').innerText();
      const fromNode = await galleryPeople(page);
      const named = await identifyPhoto(page, probes[1]);
      check(
        'identify: a gallery made in Node loads in the page and identifies',
        /^Gallery loaded from files/.test(loaded) && ENROLLED.every((p) => fromNode[p.name] === PHOTOS_EACH) && named[0]?.label === ENROLLED[1].name,
        `files ${nodeFiles.join(', ')}; ${loaded}; then ${named.map(fmt).join(', ') || 'no face'}`,
      );
    }

    log('identify: reloading the page (the gallery is in IndexedDB)');
    await page.reload();
    await openTab(page);
    const after = await galleryPeople(page);
    const again = await identifyPhoto(page, pick(o.dataset, 'val', 'madonna', PROBE.madonna)[0]);
    check(
      'identify: the gallery survives a reload',
      ENROLLED.every((p) => after[p.name] === PHOTOS_EACH) && again[0]?.label === 'Madonna',
      `${Object.entries(after).map(([n, k]) => `${n}: ${k} faces`).join(', ') || 'nobody listed'}; then ${again.map(fmt).join(', ') || 'no face'}`,
    );

    log('identify: enrolling one more photo of Ben Affleck from the (fake) camera');
    await page.fill('[data-testid=enrol-name]', 'Ben Affleck');
    await page.click('[data-testid=enrol-camera]');
    await page.waitForFunction(() => (document.querySelector('#camera-video') as HTMLVideoElement).readyState >= 2, undefined, { timeout: 30_000 });
    await page.click('#camera-snap');
    await page.waitForFunction(() => /^Ben Affleck: \d+ faces? added|^Could not enrol/.test(document.querySelector('#enrol-status')!.textContent ?? ''), undefined, { timeout: 120_000 });
    await page.click('#camera-cancel');
    const camera = await galleryPeople(page);
    check('identify: enrolling from the camera adds a face', camera['Ben Affleck'] === PHOTOS_EACH + 1, `${await page.locator('#enrol-status').innerText()} Ben Affleck: ${camera['Ben Affleck']} faces`);

    log('identify: 390 px wide');
    await page.setViewportSize({ width: 390, height: 844 });
    const phonePair = await identifyPhoto(page, pairFile);
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    await page.screenshot({ path: join(o.out, 'e2e-identify-phone.png'), fullPage: true });
    log(`screenshot: ${join(o.out, 'e2e-identify-phone.png')}`);
    check('identify: 390 px wide, no sideways scroll', widths.scroll <= widths.client + 1 && phonePair.length === 2, `scrollWidth ${widths.scroll}, clientWidth ${widths.client}; ${phonePair.map(fmt).join(', ')}`);
  } finally {
    await context.close().catch(() => undefined);
    await browser.close().catch(() => undefined);
  }
}
