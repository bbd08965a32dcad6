// Open-set identity in a page: the Gallery API of src/identity (FaceGallery: enroll,
// identify, verify, stats, people, remove) on the page's device, with photos taken from any
// <img>, canvas, video frame, ImageBitmap or File (decoded by a canvas, image.ts) and
// galleries kept in IndexedDB. A gallery is stored as the very files a Node gallery folder
// holds (gallery.json, descriptors.bin, calibration.json, index.<kind>; src/gallery/README.md),
// byte for byte as Node writes them, so a gallery downloaded from a page is a folder the CLI
// opens and a Node folder picked in a page loads here (a USearch index is rebuilt as the
// browser's exact FlatIndex, and says so).
//
//   const describer = await openFaceDescriber(gpu, engine);
//   const reference = await fetchReference();                     // the backbone's /calibration/face.json
//   const fg = (await listBrowserGalleries()).includes('friends')
//     ? await loadGalleryFromBrowser('friends', describer, reference)
//     : createGallery(describer, reference, { name: 'friends' });
//   await enrollImages(fg, 'Ada', files);                         // Files, <img>, canvases…
//   const [photo] = await identifyImages(fg, [video], { far: 1e-2 }); // every face: box, label | null, similarity
//   await saveGalleryToBrowser('friends', fg);
import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';
import { FaceWarper } from '../detect/warp.ts';
import { FaceDescriber, type DescriberOptions } from '../faces/describe.ts';
import { DEFAULT_PREPROCESSING, type FacePreprocessing } from '../faces/framing.ts';
import { compactJson, parseDefaultCalibration, validateCalibration, type Calibration, type DefaultCalibration } from '../gallery/calibration-record.ts';
import { Gallery, type GalleryOptions, type IdentifyOptions, type IndexProblem } from '../gallery/gallery.ts';
import { CALIBRATION_FILE, DESCRIPTORS_FILE, descriptorsFromBytes, descriptorsToBytes, GALLERY_FILE, LIBRARY_FILES_PREFIX, validateGalleryJson } from '../gallery/gallery-format.ts';
import { browserIndexProviders } from '../gallery/index-browser.ts';
import { sameNormalisation } from '../gallery/normalise.ts';
import { openStoredIndex, type IndexProvider } from '../gallery/vector-index.ts';
import type { Gpu } from '../gpu/device.ts';
import { enrollSources, FaceGallery, identifySources, type Decoded, type EnrollOptions, type EnrollReport, type IdentifiedSource, type NamedImage } from '../identity/face-gallery.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { useGpuForTfjs } from '../train/tf-backend.ts';
import { DEFAULT_DETECTOR_URL, fetchBlazeFace } from './detect.ts';
import { describeImage, imageToRgbImage, type ImageInput } from './image.ts';
import { SHADERS } from './shaders.ts';
import { offerDownloads } from './downloads.ts';

export { FaceGallery, preprocessingOf, checkPersonName, backboneRefOf, LOOKALIKE_FAR, type NamedImage, type IdentifiedFace, type EnrollReport, type EnrollOptions } from '../identity/face-gallery.ts';
export { FaceDescriber, largestFace, type DescribedFace, type DescribeTimes } from '../faces/describe.ts';
export { DEFAULT_PREPROCESSING, type FacePreprocessing, type FaceFraming } from '../faces/framing.ts';
export { Gallery, type GalleryStats, type IdentifyOptions, type MatchOptions, type Candidate, type ThresholdChoice, type ThresholdRestsOn, type FaceMoreLikeAnother, type PeopleAlike, type StrangerScore } from '../gallery/gallery.ts';
export type { DefaultCalibration, Calibration, KindSummary } from '../gallery/calibration-record.ts';

/** Where the demo page (and `npm run web`) serves the default backbone's reference (calibration/face.json). */
export const DEFAULT_REFERENCE_URL = '/calibration/face.json';

/**
 * A describer on `engine`'s device: every face found (BlazeFace, fetched from `detectorUrl`,
 * on tfjs' WebGPU backend put on the same device with our kernels), framed by one GPU warp
 * and embedded by the engine; `opts.minFace` finds small faces in big photos through tiles
 * (src/detect/tiles.ts). Destroy it (describer.destroy()) before the engine.
 */
export async function openFaceDescriber(
  gpu: Gpu,
  engine: MobileNetEngine,
  preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING,
  detectorUrl: string | URL = DEFAULT_DETECTOR_URL,
  opts: DescriberOptions = {},
): Promise<FaceDescriber> {
  if (engine.gpu.device !== gpu.device) throw new Error('openFaceDescriber: the engine runs on another device than the one given');
  await useGpuForTfjs(gpu, SHADERS);
  const detector = await fetchBlazeFace(detectorUrl, { minScore: preprocessing.minScore });
  return new FaceDescriber(detector, new FaceWarper(engine.runner, gpu), engine, preprocessing, opts);
}

/**
 * The backbone's reference (mean descriptor and default calibration, made by
 * scripts/calibrate-backbone.ts), fetched and checked. Errors name the URL. A gallery uses it
 * only when it was made for the engine's very weights (FaceGallery.create checks the sha256).
 */
export async function fetchReference(url: string | URL = DEFAULT_REFERENCE_URL, init?: RequestInit): Promise<DefaultCalibration> {
  const href = new URL(String(url), globalThis.location?.href).href;
  let res: Response;
  try {
    res = await fetch(href, init);
  } catch (err) {
    throw new Error(`${href}: cannot fetch the backbone's reference calibration (${(err as Error).message})`);
  }
  if (!res.ok) throw new Error(`${href}: cannot fetch the backbone's reference calibration (HTTP ${res.status} ${res.statusText})`);
  return parseDefaultCalibration(await res.text(), href);
}

/** A reference fit for a stored gallery (same backbone, size and normalisation), else null. */
function referenceFitting(gallery: { backbone: { id: string; sha256: string }; dim: number; normalisation: Gallery['normalisation'] }, reference: DefaultCalibration | null): DefaultCalibration | null {
  if (!reference) return null;
  const same = reference.backbone.id === gallery.backbone.id && reference.backbone.sha256 === gallery.backbone.sha256 && reference.dim === gallery.dim;
  return same && sameNormalisation(reference.normalisation, gallery.normalisation) ? reference : null;
}

/**
 * A new, empty gallery for `describer` with the browser's index (the exact FlatIndex).
 * Descriptors are normalised as `reference` says when it is this backbone's; its default
 * calibration sets the thresholds until the gallery has two people.
 */
export function createGallery(describer: FaceDescriber, reference: DefaultCalibration | null, opts: Omit<GalleryOptions, 'index'> = {}): FaceGallery {
  return FaceGallery.create(describer, reference, { ...opts, index: browserIndexProviders[0] });
}

/** Decode pictures for enroll/identify/verify, named by `names` or else by describeImage (a File's name). */
export async function namedImages(inputs: readonly ImageInput[], names?: readonly string[]): Promise<NamedImage[]> {
  return Promise.all(inputs.map(async (input, i) => ({ name: names?.[i] ?? describeImage(input), image: await imageToRgbImage(input) })));
}

async function decodeAll(inputs: readonly ImageInput[], names?: readonly string[]): Promise<Decoded[]> {
  return Promise.all(
    inputs.map((input, i) => {
      const name = names?.[i] ?? describeImage(input);
      return imageToRgbImage(input).then(
        (image) => ({ name, image }),
        (err: Error) => ({ name, error: err.message }),
      );
    }),
  );
}

/** Enroll pictures as `person` (Node: enrollFiles); pictures that cannot be decoded are skipped with their error. */
export function enrollImages(fg: FaceGallery, person: string, inputs: readonly ImageInput[], opts: EnrollOptions & { names?: readonly string[] } = {}): Promise<EnrollReport> {
  return enrollSources(fg, person, inputs, (batch, at) => decodeAll(batch, opts.names?.slice(at, at + batch.length)), opts);
}

export type IdentifiedImage = IdentifiedSource;

/** Every face of every picture (Node: identifyFiles); a picture that cannot be decoded gets `error`, the others are answered. */
export function identifyImages(fg: FaceGallery, inputs: readonly ImageInput[], opts: IdentifyOptions & { names?: readonly string[] } = {}): Promise<IdentifiedImage[]> {
  return identifySources(fg, inputs, (batch, at) => decodeAll(batch, opts.names?.slice(at, at + batch.length)), opts);
}

// ---- the files of a gallery, as a Node gallery folder holds them (src/gallery/store-node.ts) ----

const utf8 = new TextEncoder();

/**
 * A gallery's files by name: gallery.json, descriptors.bin, calibration.json and the index
 * file, with the bytes saveGallery writes in Node.
 */
export function galleryToFiles(source: FaceGallery | Gallery): Map<string, Uint8Array> {
  const g = source instanceof FaceGallery ? source.gallery : source;
  const files = g.toFiles();
  const out = new Map<string, Uint8Array>();
  out.set(GALLERY_FILE, utf8.encode(JSON.stringify(files.json, null, 1) + '\n'));
  out.set(DESCRIPTORS_FILE, descriptorsToBytes(files.descriptors).slice()); // a copy: not the gallery's whole reserve
  if (files.calibration) out.set(CALIBRATION_FILE, utf8.encode(compactJson(files.calibration) + '\n'));
  if (files.index && files.json.index.file) out.set(files.json.index.file, files.index.serialize().slice());
  return out;
}

export interface LoadGalleryFilesOptions {
  /** Index kinds available (default browserIndexProviders: the FlatIndex). */
  providers?: readonly IndexProvider[];
  /** The backbone's reference: thresholds below two people (used when it fits the gallery). */
  defaultCalibration?: DefaultCalibration | null;
  /** Told when the stored index or calibration is rebuilt (default: console.warn). */
  onNotice?: (message: string) => void;
}

function parseJson(bytes: Uint8Array | undefined, where: string, what: string): unknown {
  if (!bytes) throw new Error(`${where}: ${what} is missing`);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new Error(`${where}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * A gallery from its files (as galleryToFiles gives them, or a Node gallery folder's),
 * checked as Node's loadGallery checks a folder; `where` names it in messages. A missing or
 * stale calibration or index is rebuilt and onNotice says so.
 */
export function galleryFromFiles(files: ReadonlyMap<string, Uint8Array>, where: string, opts: LoadGalleryFilesOptions = {}): Gallery {
  const notice = opts.onNotice ?? ((m: string) => console.warn(m));
  if (!files.has(GALLERY_FILE)) throw new Error(`${where}: not a facegpu gallery (no ${GALLERY_FILE})`);
  const json = parseJson(files.get(GALLERY_FILE), `${where}/${GALLERY_FILE}`, 'the gallery');
  validateGalleryJson(json, `${where}/${GALLERY_FILE}`);
  const bytes = files.get(DESCRIPTORS_FILE);
  if (!bytes) throw new Error(`${where}/${DESCRIPTORS_FILE}: the gallery's descriptors are missing`);
  const descriptors = descriptorsFromBytes(bytes, json.faces.length, json.dim, `${where}/${DESCRIPTORS_FILE}`);

  let calibration: Calibration | null = null;
  try {
    const c = parseJson(files.get(CALIBRATION_FILE), `${where}/${CALIBRATION_FILE}`, 'the calibration');
    validateCalibration(c, `${where}/${CALIBRATION_FILE}`);
    calibration = c;
  } catch (err) {
    notice(`${(err as Error).message}: re-calibrating`);
  }

  const { provider, index, problem: indexProblem } = openStoredIndex(json.index, json.dim, opts.providers ?? browserIndexProviders, (p, file) => {
    const data = files.get(file);
    if (!data) throw new Error('missing');
    return p.deserialize(data, json.dim);
  });
  return Gallery.fromFiles(
    { json, descriptors, calibration, index, indexProblem },
    { name: where, index: provider, defaultCalibration: referenceFitting(json, opts.defaultCalibration ?? null), onNotice: notice },
  );
}

// ---- IndexedDB ----

interface GalleryRecord {
  format: 'facegpu-browser-gallery';
  version: 1;
  /** File name -> bytes, the files of a Node gallery folder. */
  files: Record<string, Uint8Array>;
  savedAt: string;
}

/** A database of its own: idb-keyval creates a store only with its database ('facegpu' holds the models). */
let store: UseStore | null = null;
const galleryStore = () => (store ??= createStore('facegpu-galleries', 'galleries'));

/** Save in this browser's IndexedDB under `name`, replacing a gallery of that name, in one write (never half done). */
export async function saveGalleryToBrowser(name: string, fg: FaceGallery | Gallery): Promise<void> {
  const record: GalleryRecord = { format: 'facegpu-browser-gallery', version: 1, files: Object.fromEntries(galleryToFiles(fg)), savedAt: new Date().toISOString() };
  await set(name, record, galleryStore());
}

/** Names of the galleries saved in this browser. */
export async function listBrowserGalleries(): Promise<string[]> {
  return (await keys(galleryStore())).map(String).sort();
}

export async function removeGalleryFromBrowser(name: string): Promise<void> {
  await del(name, galleryStore());
}

/** The stored gallery alone (no GPU needed: listing, stats, export). */
export async function readGalleryFromBrowser(name: string, opts: LoadGalleryFilesOptions = {}): Promise<Gallery> {
  const where = `browser gallery "${name}"`;
  const record = (await get(name, galleryStore())) as GalleryRecord | undefined;
  if (!record) throw new Error(`${where}: not in this browser (saved galleries: ${(await listBrowserGalleries()).join(', ') || 'none'})`);
  if (record.format !== 'facegpu-browser-gallery' || !record.files) throw new Error(`${where}: not a facegpu gallery record`);
  const g = galleryFromFiles(new Map(Object.entries(record.files)), where, opts);
  g.name = name;
  return g;
}

/**
 * A gallery saved with saveGalleryToBrowser, joined to `describer` (refused when it was made
 * with another backbone or frames faces otherwise: make the describer with
 * preprocessingOf(await readGalleryFromBrowser(name))).
 */
export async function loadGalleryFromBrowser(name: string, describer: FaceDescriber, reference: DefaultCalibration | null, opts: Omit<LoadGalleryFilesOptions, 'defaultCalibration'> = {}): Promise<FaceGallery> {
  return FaceGallery.attach(await readGalleryFromBrowser(name, { ...opts, defaultCalibration: reference }), describer);
}

// ---- files: download, and pick back (a page's download or a Node gallery folder) ----

/** The gallery's files as File objects (what a Node gallery folder holds). */
export function galleryFiles(fg: FaceGallery | Gallery): File[] {
  return [...galleryToFiles(fg)].map(([name, bytes]) => new File([bytes as Uint8Array<ArrayBuffer>], name, { type: name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }));
}

/** Offer the gallery's files as downloads (put them in one folder for `facegpu identify <folder> …`). */
export function downloadGallery(fg: FaceGallery | Gallery): File[] {
  const files = galleryFiles(fg);
  offerDownloads(files);
  return files;
}

/** A gallery from files the visitor picked (a download of this page, or a Node gallery folder), joined to `describer`. */
export async function loadGalleryFromFiles(files: readonly File[], describer: FaceDescriber, reference: DefaultCalibration | null, opts: Omit<LoadGalleryFilesOptions, 'defaultCalibration'> & { name?: string } = {}): Promise<FaceGallery> {
  const byName = new Map<string, Uint8Array>();
  // A Node gallery folder may hold a photo library (library.sqlite, its search index: up to
  // gigabytes). The page identifies against the gallery's people only: those are not read.
  for (const f of files) if (!f.name.startsWith(LIBRARY_FILES_PREFIX)) byName.set(f.name, new Uint8Array(await f.arrayBuffer()));
  if (!byName.has(GALLERY_FILE) || !byName.has(DESCRIPTORS_FILE)) {
    throw new Error(`pick the files of a gallery folder (${GALLERY_FILE}, ${DESCRIPTORS_FILE}, and ${CALIBRATION_FILE} and its index file if there); missing ${[GALLERY_FILE, DESCRIPTORS_FILE].filter((n) => !byName.has(n)).join(', ')}`);
  }
  const g = galleryFromFiles(byName, opts.name ?? 'picked gallery', { ...opts, defaultCalibration: reference });
  return FaceGallery.attach(g, describer);
}
