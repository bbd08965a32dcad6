// The Gallery API in Node: photos are files (decoded with sharp), galleries are folders
// (src/gallery/store-node.ts: written atomically, one writer at a time under a lock beside
// the folder), the backbone's reference (mean descriptor and default calibration) is read
// from calibration/<backbone>.json of this package.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../backbones.ts';
import { assertNoUncaughtError, type Gpu } from '../gpu/device.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { DEFAULT_PREPROCESSING, type FacePreprocessing } from '../faces/framing.ts';
import { decodeFiles, openFaceDescriber } from '../faces/node.ts';
import { describeFailure, largestFace } from '../faces/describe.ts';
import type { DefaultCalibration } from '../gallery/calibration-record.ts';
import { nodeIndexProviders } from '../gallery/index-node.ts';
import { checkGalleryFolder, galleryExists, galleryVersion, loadGallery, readGalleryJson, readDefaultCalibration, saveGallery, withGalleryLock, type GalleryLock } from '../gallery/store-node.ts';
import type { Gallery as GalleryCore, IdentifyOptions, MatchOptions } from '../gallery/gallery.ts';
import type { BackboneRef } from '../gallery/gallery-format.ts';
import { backboneRefOf, DECODE_BATCH, enrollSources, FaceGallery, identifySources, noFaceError, preprocessingOf, type EnrollOptions, type IdentifySourcesOptions, type EnrollReport, type IdentifiedFace, type NamedImage } from './face-gallery.ts';
import { BACKBONE_ID } from '../train/model-format.ts';
import { RemedyError } from '../remedy.ts';

export { FaceGallery, type EnrollReport, type IdentifiedFace } from './face-gallery.ts';

export const CALIBRATION_DIR = join(PROJECT_ROOT, 'calibration');

/**
 * The reference shipped for a backbone (calibration/<id>.json: its mean descriptor and
 * default calibration, made by scripts/calibrate-backbone.ts), or null when there is none for
 * these very weights (another sha256, another size).
 */
export async function referenceOf(backbone: BackboneRef, dim: number, dir = CALIBRATION_DIR): Promise<DefaultCalibration | null> {
  const file = join(dir, `${backbone.id}.json`);
  if (!BACKBONE_ID.test(backbone.id) || !existsSync(file)) return null;
  const ref = await readDefaultCalibration(file);
  return ref.backbone.sha256 === backbone.sha256 && ref.dim === dim ? ref : null;
}

/** The reference shipped for an engine's backbone (calibration/<id>.json), or null. */
export const referenceFor = (engine: MobileNetEngine): Promise<DefaultCalibration | null> => referenceOf(backboneRefOf(engine), engine.outputDim);

/** A stored gallery with its backbone's reference, for reading and editing without a GPU. */
export async function loadStoredGallery(dir: string, onNotice?: (message: string) => void): Promise<GalleryCore> {
  const json = await readGalleryJson(dir);
  return loadGallery(dir, { onNotice, defaultCalibration: await referenceOf(json.backbone, json.dim) });
}

export interface OpenGalleryOptions {
  gpu: Gpu;
  engine: MobileNetEngine;
  /** Make a new gallery when there is none at dir (enrolment); otherwise a missing one is an error. */
  create?: boolean;
  /** How a new gallery frames faces (default DEFAULT_PREPROCESSING). */
  preprocessing?: FacePreprocessing;
  /** Told when stored derived data (index, calibration) is rebuilt. */
  onNotice?: (message: string) => void;
  /** Find faces down to this many pixels wide in big photos (DescriberOptions.minFace). */
  minFace?: number;
}

/** The gallery at `dir` with a face pipeline that frames faces as it records. */
export async function openFaceGallery(dir: string, opts: OpenGalleryOptions): Promise<FaceGallery> {
  if (!opts?.gpu || !opts.engine) throw new TypeError(`gallery ${dir}: the options need { gpu, engine } (from openEngine())`);
  if (typeof dir !== 'string') throw new TypeError(`gallery: the folder must be a path (string), got ${valueKind(dir)}`);
  const reference = await referenceFor(opts.engine);
  if (await galleryExists(dir)) {
    const gallery = await loadGallery(dir, { defaultCalibration: reference, onNotice: opts.onNotice });
    const describer = await openFaceDescriber(opts.gpu, opts.engine, preprocessingOf(gallery), { onNotice: opts.onNotice, minFace: opts.minFace });
    try {
      return FaceGallery.attach(gallery, describer);
    } catch (err) {
      describer.destroy();
      throw err;
    }
  }
  if (!opts.create) throw new RemedyError(`${dir}: no gallery here`, ': enroll people first (open it with create: true)', { case: 'no-gallery', dir });
  // A folder that holds something else is refused now, not at the save after the enrolment's work.
  await checkGalleryFolder(dir);
  const describer = await openFaceDescriber(opts.gpu, opts.engine, opts.preprocessing ?? DEFAULT_PREPROCESSING, { onNotice: opts.onNotice, minFace: opts.minFace });
  const fg = FaceGallery.create(describer, reference, { name: dir, onNotice: opts.onNotice, index: nodeIndexProviders[0] });
  return fg;
}

export async function saveFaceGallery(dir: string, fg: FaceGallery, lock?: GalleryLock): Promise<void> {
  // Descriptors of a device that met an uncaught WebGPU error may be wrong: not kept.
  assertNoUncaughtError(fg.describer.engine.gpu, `gallery ${dir}`);
  await saveGallery(dir, fg.gallery, { lock });
}

/**
 * Open (or create), change and save the gallery at `dir` as one writer: other writers wait
 * for the lock beside the folder, or are refused after its timeout (withGalleryLock).
 */
export async function updateFaceGallery<T>(dir: string, opts: OpenGalleryOptions, change: (fg: FaceGallery) => Promise<T>): Promise<T> {
  return withGalleryLock(dir, async (lock) => {
    await checkGalleryFolder(dir);
    const fg = await openFaceGallery(dir, opts);
    try {
      const out = await change(fg);
      await fg.exclusive(() => saveFaceGallery(dir, fg, lock)); // after any enrolment still under way
      return out;
    } finally {
      fg.describer.destroy();
    }
  }, { onWait: opts.onNotice });
}


/** Enroll image files as `person`; unreadable files are skipped with their error. */
export function enrollFiles(fg: FaceGallery, person: string, files: readonly string[], opts: EnrollOptions = {}): Promise<EnrollReport> {
  return enrollSources(fg, person, files, decodeFiles, opts);
}

export type IdentifiedFile = { file: string; faces: IdentifiedFace[] } | { file: string; error: string };

/** Every face of every file; a file that cannot be read gets `error` and the others are answered. */
export async function identifyFiles(fg: FaceGallery, files: readonly string[], opts: IdentifySourcesOptions = {}): Promise<IdentifiedFile[]> {
  return (await identifySources(fg, files, decodeFiles, opts)).map((r) => ('error' in r ? { file: r.name, error: r.error } : { file: r.name, faces: r.faces }));
}


/** The backbone a stored gallery was made with (to open the engine it needs). */
export async function peekGalleryBackbone(dir: string): Promise<BackboneRef> {
  return (await readGalleryJson(dir)).backbone;
}

/**
 * A pair's answer, or why there is none: `error` is the message, and `remedy` the error itself
 * where it is a RemedyError (a front end may word its remedy: no face found where minFace
 * would have looked for small ones).
 */
export type VerifiedPair =
  /** `faces`: how many faces each photo has (the largest is compared). */
  | { a: string; b: string; similarity: number; same: boolean; threshold: number; faces: [number, number] }
  | { a: string; b: string; error: string; remedy?: RemedyError };

export interface Verifier {
  readonly gallery: FaceGallery;
  /** Each distinct photo is found and embedded once, a batch at a time; results in pair order. */
  verifyPairs(pairs: readonly (readonly [string, string])[], opts?: MatchOptions): Promise<VerifiedPair[]>;
  /** Free the face pipeline's GPU buffers. */
  destroy(): void;
}

/**
 * 1:1 verification of files: with a gallery, its calibration and framing; without, an empty
 * gallery on the backbone's reference (its default calibration sets the thresholds).
 */
export async function openVerifier(opts: { gpu: Gpu; engine: MobileNetEngine; gallery?: string; minFace?: number }): Promise<Verifier> {
  let fg: FaceGallery;
  if (opts.gallery) fg = await openFaceGallery(opts.gallery, { gpu: opts.gpu, engine: opts.engine, minFace: opts.minFace });
  else {
    const reference = await referenceFor(opts.engine);
    if (!reference) {
      const m = opts.engine.manifest;
      throw new RemedyError(`backbone "${m.id}" has no reference calibration (calibration/${m.id}.json for sha256 ${m.weightsSha256.slice(0, 12)}…)`, ': give a gallery to calibrate with (the gallery option)', { case: 'no-reference' });
    }
    fg = FaceGallery.create(await openFaceDescriber(opts.gpu, opts.engine, DEFAULT_PREPROCESSING, { minFace: opts.minFace }), reference);
  }
  return {
    gallery: fg,
    async verifyPairs(pairs, match = {}) {
      const files = [...new Set(pairs.flat())];
      const best = new Map<string, Float32Array | Error>();
      const count = new Map<string, number>();
      for (let at = 0; at < files.length; at += DECODE_BATCH) {
        const decoded = await decodeFiles(files.slice(at, at + DECODE_BATCH));
        const ok = decoded.filter((d): d is NamedImage => 'image' in d);
        const found = await fg.describer.describeEach(ok.map((d) => d.image));
        for (const d of decoded) if ('error' in d) best.set(d.name, new Error(d.error));
        ok.forEach((d, i) => {
          const f = found[i];
          if (f instanceof Error) return best.set(d.name, new Error(describeFailure(d.name, f)));
          count.set(d.name, f.length);
          best.set(d.name, f.length ? f[largestFace(f)].descriptor : noFaceError(d.name, fg.describer, d.image));
        });
      }
      return pairs.map(([a, b]) => {
        const da = best.get(a)!;
        const db = best.get(b)!;
        // Both photos' errors where both failed (only the first was said); a remedy where one did.
        const errs = [da, db].filter((d): d is Error => d instanceof Error).filter((e, i, all) => all.indexOf(e) === i);
        if (errs.length) return { a, b, error: errs.map((e) => e.message).join('; '), ...(errs.length === 1 && errs[0] instanceof RemedyError ? { remedy: errs[0] } : {}) };
        return { a, b, ...fg.gallery.verify(da as Float32Array, db as Float32Array, match), faces: [count.get(a)!, count.get(b)!] };
      });
    },
    destroy: () => fg.describer.destroy(),
  };
}

/** What a value given in place of another is, in a word: `null`, `a string`, `a number`. */
const valueKind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

/** A TypeError naming the call unless `files` is an array of paths (one path alone is the usual slip). */
function checkFiles(what: string, files: unknown): void {
  if (!Array.isArray(files)) throw new TypeError(`${what}: files must be an array of file paths, got ${typeof files === 'string' ? 'a string (one path: put it in an array)' : valueKind(files)}`);
  const bad = files.findIndex((f) => typeof f !== 'string');
  if (bad >= 0) throw new TypeError(`${what}: file ${bad} must be a path (string), got ${valueKind(files[bad])}`);
}

/**
 * The Gallery API for Node programs: a gallery folder with its face pipeline, photos as
 * files. `load` opens one (or starts a new one with `create`), `save` writes it back
 * atomically under the gallery's lock. For changes that must not race other writers
 * (enrolment from several processes), use `Gallery.update`, which holds the lock from load
 * to save. Within a program, calls may overlap (Promise.all): identify and verify each get
 * their own photos' faces, and enroll, remove and save run one after another in the order
 * they were called.
 *
 * @example
 * ```ts
 * import { openEngine, Gallery } from 'facegpu';
 * const { gpu, engine } = await openEngine();
 * const gallery = await Gallery.load('people/', { gpu, engine, create: true });
 * await gallery.enroll('alice', ['alice1.jpg', 'alice2.jpg']);
 * await gallery.save();
 * const [photo] = await gallery.identify(['party.jpg'], { far: 0.001 });   // faces: [{ box, label, similarity }]
 * gallery.close(); engine.destroy(); gpu.destroy();
 * ```
 */
export class Gallery {
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly faces: FaceGallery,
    /** The save of `dir` this gallery was loaded from, or last saved as (galleryVersion). */
    private version: string | null,
  ) {}

  /** Throw, naming the gallery, once it is closed (its face pipeline's buffers are gone). */
  private live(what: string): void {
    if (this.closed) throw new Error(`gallery ${this.dir}: cannot ${what}: it was closed (Gallery.close); load it again`);
  }

  /** Open the gallery at `dir` (a new empty one with `create: true`). */
  static async load(dir: string, opts: OpenGalleryOptions): Promise<Gallery> {
    // Before the load: a save between the two is then taken for one after it (refused at
    // save, safely), never the other way round.
    const version = await galleryVersion(dir);
    return new Gallery(dir, await openFaceGallery(dir, opts), version);
  }

  /** Load, change and save as one writer (other writers wait for the lock, or are refused). */
  static async update<T>(dir: string, opts: OpenGalleryOptions, change: (gallery: Gallery) => Promise<T>): Promise<T> {
    return updateFaceGallery(dir, opts, async (fg) => {
      const gallery = new Gallery(dir, fg, await galleryVersion(dir));
      try {
        return await change(gallery);
      } finally {
        // Its face pipeline goes with the update: used after it, it says so (as after close).
        gallery.closed = true;
      }
    });
  }

  /** Add photos of `person` (one face each, or the largest with `largest`); unreadable or faceless files are reported as skipped. */
  async enroll(person: string, files: readonly string[], opts: EnrollOptions = {}): Promise<EnrollReport> {
    this.live('enroll');
    checkFiles(`gallery ${this.dir}: enroll`, files);
    return enrollFiles(this.faces, person, files, opts);
  }

  /**
   * Every face of every file named, or `label: null` below the threshold for `far` (or
   * `threshold`). `signal` stops it before its next batch of photos (the call rejects with
   * the signal's reason).
   */
  async identify(files: readonly string[], opts: IdentifyOptions & { signal?: AbortSignal } = {}): Promise<IdentifiedFile[]> {
    this.live('identify');
    checkFiles(`gallery ${this.dir}: identify`, files);
    return identifyFiles(this.faces, files, opts);
  }

  /** Are the largest faces of two photos the same person (this gallery's calibration)? */
  async verify(a: string, b: string, opts: MatchOptions = {}): Promise<{ similarity: number; same: boolean; threshold: number }> {
    this.live('verify');
    checkFiles(`gallery ${this.dir}: verify`, [a, b]);
    const [ia, ib] = await decodeFiles([a, b]);
    for (const d of [ia, ib]) if ('error' in d) throw new Error(d.error);
    return this.faces.verify(ia as NamedImage, ib as NamedImage, opts);
  }

  /** People, faces, TAR at FAR, EER and warnings (FaceGallery.stats). */
  stats(): ReturnType<FaceGallery['stats']> {
    return this.faces.stats();
  }

  /** The enrolled people with their counts of faces and photos. */
  people(): ReturnType<FaceGallery['people']> {
    return this.faces.people();
  }

  /** Forget a person, after the enrolments begun before (call `save` to write it). */
  async remove(person: string): Promise<void> {
    await this.faces.exclusive(() => this.faces.remove(person));
  }

  /**
   * Write the gallery to its folder (or `dir`), atomically, under the folder's lock, after the
   * changes begun before. Refused where another writer saved the folder since this gallery
   * was loaded (or last saved) here: its save would be undone. Gallery.update is the way for
   * writers that may run at the same time.
   */
  async save(dir = this.dir): Promise<void> {
    const own = resolve(dir) === resolve(this.dir);
    await this.faces.exclusive(() =>
      withGalleryLock(dir, async (lock) => {
        // Another writer (another Gallery of the folder, another process) saved it since it
        // was loaded here: saving would undo their changes, silently.
        if (own && (await galleryVersion(dir)) !== this.version) {
          throw new Error(`gallery ${dir}: saved by another writer since it was loaded here; saving would undo their changes: load it again and redo the change, or make changes with Gallery.update (load, change and save under one lock)`);
        }
        await saveFaceGallery(dir, this.faces, lock);
        if (own) this.version = await galleryVersion(dir);
      }),
    );
  }

  /** Free the face pipeline's GPU buffers (the engine and device stay the caller's). */
  close(): void {
    this.closed = true;
    this.faces.describer.destroy();
  }
}
