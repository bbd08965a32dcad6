// `index`: a folder tree of photos into a gallery's photo library (Node). One run owns the
// gallery (its lock, held from start to end): it walks the tree against the store
// (scan-node.ts), applies what needs no GPU (unchanged, touched, moved or copied, deleted
// photos), then has the new and changed photos found and described a batch at a time, here on
// this process's device or by workers through a queue (queue-node.ts), storing each batch in
// one transaction as it comes back. A run killed at any point leaves every stored batch; the
// next run redoes only what is missing. Nothing to do means no device is opened at all.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { openEngine } from '../open-engine-node.ts';
import type { Gpu } from '../gpu/device.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { DEFAULT_PREPROCESSING, type FacePreprocessing } from '../faces/framing.ts';
import { openFaceDescriber } from '../faces/node.ts';
import type { FaceDescriber } from '../faces/describe.ts';
import { Gallery, assertBackbone } from '../gallery/gallery.ts';
import { defaultNodeIndex } from '../gallery/index-node.ts';
import { checkGalleryFolder, galleryExists, saveGallery, withGalleryLock } from '../gallery/store-node.ts';
import { backboneRefOf, preprocessingOf } from '../identity/face-gallery.ts';
import { loadStoredGallery, referenceFor } from '../identity/node.ts';
import { RemedyError } from '../remedy.ts';
import { minFaceProblem } from '../detect/tiles.ts';
import { normalise } from '../gallery/normalise.ts';
import { maxImagePixels } from '../image/decode.ts';
import { embedPhotos } from './embed-node.ts';
import { fromWire, type PhotoFaces } from './photo-faces.ts';
import { probeRedis, runOnQueue } from './queue-node.ts';
import { scanLibrary } from './scan-node.ts';
import { openSearchIndex } from './search-index-node.ts';
import { linkGallery } from './gallery-link.ts';
import { LibraryStore } from './store-node.ts';

/** The library's meta key for the minFace its photos are indexed with. */
const MIN_FACE_KEY = 'minFace';

/** Photos per batch: one detector run, one transaction, one queue job. */
export const INDEX_BATCH = 16;

export interface IndexOptions {
  /** Spread the batches over workers through this Redis (redis://host:port). */
  queue?: string;
  /** Backbone of a new gallery (name under weights/ or a folder; default "face"). */
  backbone?: string;
  /** How a new gallery frames faces (default DEFAULT_PREPROCESSING). */
  preprocessing?: FacePreprocessing;
  adapter?: string;
  batchSize?: number;
  /**
   * Look for faces down to this many pixels wide (DescriberOptions.minFace; 0: the whole photo
   * only). Kept by the library for later runs, which default to it; photos indexed with
   * another value are searched again (named faces keep their names). Default: the library's
   * (0 for a new one).
   */
  minFace?: number;
  /**
   * Let a tree with no photo under it remove the library's photos there (they were deleted).
   * Otherwise such a run is refused, nothing removed: an empty folder is more often a drive
   * not mounted, and removing a library's photos loses their faces, clusters and corrections.
   */
  allowEmpty?: boolean;
  /** Photos done so far of those to process (new + changed), after each stored batch. */
  onProgress?: (done: number, total: number) => void;
  /** Told once the work is known, before any is done. */
  onPlan?: (work: number) => void;
  onWarning?: (message: string) => void;
  onNotice?: (message: string) => void;
  /** With `queue`: told once when no worker takes the batches after a while (default: a notice). */
  onNoWorker?: (url: string) => void;
  /**
   * Stop once aborted (a Ctrl-C): after the batch under way here, or, through a queue, at once,
   * its batches still waiting taken off it (those in a worker's hand are left undone there).
   * What was stored is kept and the run ends as any run does (the gallery saved, the search
   * index caught up); `left` counts the photos not done.
   */
  signal?: AbortSignal;
}

export interface IndexSummary {
  /** Photo files under the root. */
  photos: number;
  /** Faces stored in the library after the run (all roots). */
  faces: number;
  new: number;
  changed: number;
  removed: number;
  /** Photos left as they were (unchanged, or only touched). */
  skipped: number;
  /**
   * Photos that could not be read or decoded, or whose batch failed for good: {file, error};
   * `remedy`: the same error as a RemedyError (its message is `error`) when a worker's
   * failure was one, for a front end to word its remedy; `again`: a photo that failed on an
   * earlier run and is unchanged (its stored error; not read again).
   */
  failed: { file: string; error: string; remedy?: RemedyError; again?: true }[];
  /** Of the new photos, those whose bytes were stored already (faces copied, no GPU work). */
  copied: number;
  /** Photos found and described on a GPU in this run (0 when there was nothing new). */
  embedded: number;
  /** Of the photos to process, those not done because the run was stopped (IndexOptions.signal). */
  left: number;
  seconds: number;
}

/** Index `root` into the gallery at `galleryDir` (created when missing). */
export async function indexLibrary(root: string, galleryDir: string, opts: IndexOptions = {}): Promise<IndexSummary> {
  const t0 = performance.now();
  const top = resolve(root);
  const st = await stat(top).catch(() => null);
  // A folder gone may be one the library holds photos of (deleted, renamed, or its drive not
  // mounted): told once the library is open. A new gallery has none.
  if (!st && !(await galleryExists(resolve(galleryDir)))) throw new Error(`${root}: no such folder`);
  if (st && !st.isDirectory()) throw new Error(`${root}: not a folder (index takes a folder tree of photos)`);
  const batchSize = opts.batchSize ?? INDEX_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const minFaceWrong = opts.minFace === undefined ? null : minFaceProblem(opts.minFace);
  if (minFaceWrong) throw new Error(`minFace ${minFaceWrong}`);
  if (opts.queue !== undefined) await probeRedis(opts.queue);
  const notice = opts.onNotice ?? (() => {});
  const dir = resolve(galleryDir);

  return withGalleryLock(dir, async (lock) => {
    let device: { gpu: Gpu; engine: MobileNetEngine } | null = null;
    let describer: FaceDescriber | null = null;
    let store: LibraryStore | null = null;
    try {
      let gallery: Gallery;
      if (await galleryExists(dir)) {
        gallery = await loadStoredGallery(dir, notice);
        // A gallery keeps the backbone it was made with: another one asked for is not used (a
        // run that took it silently left the caller thinking it was).
        if (opts.backbone !== undefined && opts.backbone !== gallery.backbone.id) opts.onWarning?.(`backbone "${opts.backbone}" not used: ${galleryDir} holds descriptors of backbone "${gallery.backbone.id}", which it goes on with`);
      } else {
        await checkGalleryFolder(dir);
        device = await openEngine({ backbone: opts.backbone, adapter: opts.adapter });
        const reference = await referenceFor(device.engine);
        gallery = Gallery.create({
          name: dir,
          backbone: backboneRefOf(device.engine),
          dim: device.engine.outputDim,
          preprocessing: { ...(opts.preprocessing ?? DEFAULT_PREPROCESSING) },
          normalisation: reference?.normalisation ?? { method: 'l2' },
          defaultCalibration: reference,
          index: defaultNodeIndex,
        });
        await saveGallery(dir, gallery, { lock });
      }
      store = LibraryStore.open(dir, { create: { dim: gallery.dim, backbone: gallery.backbone } });
      const lib = store;
      // A library it cannot write (its folder read-only to this user) is told before the GPU work.
      lib.checkWritable();

      const stored = Number(lib.getMeta(MIN_FACE_KEY) ?? 0);
      const minFace = opts.minFace ?? stored;
      if (minFace !== stored) lib.setMeta(MIN_FACE_KEY, String(minFace));
      // (A folder gone has nothing to walk: not said as a folder that cannot be opened.)
      const plan = await scanLibrary(top, lib, { onWarning: st ? opts.onWarning : undefined, minFace });
      if (!st && !plan.removed.length) throw new Error(`${root}: no such folder`);
      if (!plan.photos && plan.removed.length && !opts.allowEmpty) {
        const n = plan.removed.length;
        const where = st ? 'no photo under it' : 'no such folder';
        throw new RemedyError(`${root}: ${where}, where the library has ${n === 1 ? '1 photo' : `${n} photos`}: nothing removed (is its drive mounted?)`, '; if they were deleted, index again with allowEmpty to remove them from the library', { case: 'empty-tree', root, gallery: galleryDir });
      }
      if (plan.searchedAgain) {
        const which = plan.searchedAgain === 1 ? '1 photo indexed before is' : `${plan.searchedAgain} photos indexed before are`;
        notice(`${which} searched again for ${minFace ? `faces down to ${minFace} pixels` : 'faces on the whole photo only'} (named faces keep their names)`);
      }
      lib.setMinFace(plan.retagged, minFace);
      for (const t of plan.touched) lib.touchPhoto(t.id, t);
      // A photo moved (its bytes at a new path, the old path gone): the gallery's faces of it
      // (named through the library) follow it, saved before the library moves it, so that a
      // run stopped in between finds the move again and finds nothing left to re-point.
      const gone = new Set(plan.removed.map((p) => p.id));
      let moved = 0;
      for (const c of plan.copies) {
        if (!gone.delete(c.from.id)) continue;
        moved += gallery.moveFile(c.from.path, c.file.path);
      }
      if (moved) await saveGallery(dir, gallery, { lock });
      for (const c of plan.copies) lib.copyPhoto(c.from, c.file, minFace);
      lib.removePhotos(plan.removed.map((p) => p.id));

      const work = [...plan.added, ...plan.changed].map((f) => f.path);
      const batches: string[][] = [];
      for (let at = 0; at < work.length; at += batchSize) batches.push(work.slice(at, at + batchSize));
      // Photos that failed on an earlier run and are unchanged are failing still: told again
      // (else a second run reported 0 failed and exit status 0 for a library with unreadable
      // photos), not read again.
      const failed: IndexSummary['failed'] = plan.failing.map((f) => ({ file: f.path, error: f.error, again: true }));
      let done = 0;
      let embedded = 0;
      // Faces compared as the gallery compares them (a face searched again keeps its name only if it is that face).
      const unit = (raw: Float32Array) => normalise(raw, gallery.dim, gallery.normalisation);
      // The gallery's faces of photos outside the library (named there, then deleted, moved
      // out of the tree or on a drive not mounted; or enrolled): a new photo with that very
      // face (the same pixels) is theirs, and a face whose file is gone follows it.
      // Looked up before any photo of this run is stored (one back at its old path is in the
      // library once stored), and only by a run with photos to describe.
      const outside = batches.length ? lib.notInLibrary(gallery.faces()) : [];
      const returned = new Map<number, string>();
      const knownAs = (raw: Float32Array, path: string) => {
        const f = outside.length ? gallery.samePhotoAs(raw, outside) : null;
        // A face enrolled under a relative path (before enroll stored full ones) may well be
        // there still, relative to where it was enrolled: only a full path is known gone.
        if (f && isAbsolute(f.file) && !existsSync(f.file)) returned.set(f.id, path);
        return f?.person ?? null;
      };
      const store_ = (photos: PhotoFaces[]) => {
        lock.assertHeld();
        lib.storePhotos(photos, { minFace, unit, knownAs });
        for (const p of photos) {
          if ('error' in p) failed.push({ file: p.path, error: p.error });
          else embedded++;
        }
        done += photos.length;
        opts.onProgress?.(done, work.length);
      };
      opts.onPlan?.(work.length);

      if (batches.length && opts.queue) {
        await runOnQueue(opts.queue, { gallery: dir, backbone: gallery.backbone, preprocessing: preprocessingOf(gallery), minFace, maxPixels: maxImagePixels() }, batches, {
          onResult: (paths, result) => {
            const photos = result.photos.map((w) => fromWire(w, gallery.dim));
            const answered = new Set(photos.map((p) => p.path));
            const missing = paths.filter((p) => !answered.has(p));
            if (missing.length) throw new Error(`worker ${result.worker} answered a batch without ${missing.length} of its photos (${missing[0]}…)`);
            if ((result.minFace ?? 0) !== minFace) throw new Error(`worker ${result.worker} cannot look for faces down to ${minFace} pixels (a facegpu before minFace); update it`);
            store_(photos);
          },
          onFailed: (paths, reason, error) => {
            for (const p of paths) {
              const what = `${p}: in a batch that failed for good (refused, or failed on every try): `;
              failed.push({ file: p, error: what + reason, ...(error && { remedy: error.prefixed(what) }) });
            }
            done += paths.length;
            opts.onProgress?.(done, work.length);
          },
          onNotice: notice,
          onNoWorker: opts.onNoWorker,
        }, { signal: opts.signal });
      } else if (batches.length) {
        device ??= await openEngine({ backbone: gallery.backbone.id, adapter: opts.adapter });
        assertBackbone(gallery, backboneRefOf(device.engine));
        describer = await openFaceDescriber(device.gpu, device.engine, preprocessingOf(gallery), { onNotice: opts.onNotice, minFace: minFace || undefined });
        for (const batch of batches) {
          if (opts.signal?.aborted) break;
          store_(await embedPhotos(describer, batch));
        }
      }

      for (const [id, path] of returned) gallery.moveFaces([id], path);
      // The gallery's faces of photos searched again follow their named faces to where they
      // were found (a changed photo's boxes move), and library photos enrolled by hand are
      // named in the library too (gallery-link.ts). Every run: one stopped before saving the
      // gallery is caught up by the next.
      const link = linkGallery(gallery, lib);
      if (returned.size || link.refreshed) await saveGallery(dir, gallery, { lock });
      openSearchIndex(lib, dir, gallery.normalisation, { save: true, onNotice: notice }).close?.();
      return {
        photos: plan.photos,
        faces: lib.counts().faces,
        new: plan.added.length + plan.copies.length,
        changed: plan.changed.length,
        removed: plan.removed.length,
        skipped: plan.unchanged,
        failed,
        copied: plan.copies.length,
        embedded,
        left: work.length - done,
        seconds: (performance.now() - t0) / 1000,
      };
    } finally {
      store?.close();
      describer?.destroy();
      device?.engine.destroy();
      device?.gpu.destroy();
    }
  }, { onWait: notice });
}

