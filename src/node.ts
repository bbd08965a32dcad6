/**
 * `facegpu`, the Node entry of the library: a WebGPU device (Dawn), the shaders from disk, a
 * backbone from the weights folder (the default one converted there on first use), and on top
 * of them descriptors ({@link openEngine}), galleries for open-set identity ({@link Gallery}),
 * training a recognizer ({@link train}) and face detection ({@link openFaceDescriber}).
 *
 * @packageDocumentation
 */
import { createNodeGpu, type NodeGpuOptions } from './gpu/node-gpu.ts';
import { loadShaders } from './gpu/shaders-node.ts';
import type { Gpu } from './gpu/device.ts';
import { noticeIfSlow } from './gpu/first-use.ts';
import { checkEngineOptions, MobileNetEngine, type EngineOptions } from './mobilenet/engine.ts';
import { loadBackbone } from './weights/store.ts';
import { DEFAULT_BACKBONE, facegpuHome, resolveBackboneDir, weightsDir } from './backbones.ts';
import { ensureDefaultBackbone } from './default-backbone.ts';
import { kernelsFor, type KernelSource } from './tune/engine-kernels.ts';
import { nodeTuningStore } from './tune/store-node.ts';
import { join } from 'node:path';

// The engine and its device.
export { MobileNetEngine, type EngineOptions } from './mobilenet/engine.ts';
export { createNodeGpu, type NodeGpuOptions } from './gpu/node-gpu.ts';
export { GpuUnavailableError, GpuLostError, type Gpu, type DeviceOptions, type AdapterSummary } from './gpu/device.ts';
export { RemedyError, type RemedyHint } from './remedy.ts';
export { loadShaders } from './gpu/shaders-node.ts';
export { loadImageRGB, loadImageRaw, ImageDecodeError, MAX_IMAGE_PIXELS, maxImagePixels, setMaxImagePixels, setMaxImagePixelsName } from './image/decode.ts';
// Weights: where they live, the default backbone, any tfjs MobileNet V1.
export { loadBackbone, saveBackbone } from './weights/store.ts';
export type { Backbone, BackboneManifest } from './weights/format.ts';
export { convertTfjsModel } from './weights/convert.ts';
export { facegpuHome, weightsDir, resolveBackboneDir, DEFAULT_BACKBONE } from './backbones.ts';
export { defaultBackboneDir, ensureDefaultBackbone, convertDefaultBackbone } from './default-backbone.ts';
// Open-set identity: galleries of enrolled people, 1:1 verification.
export { Gallery, openVerifier, referenceFor, type FaceGallery, type IdentifiedFile, type EnrollReport, type IdentifiedFace, type OpenGalleryOptions, type Verifier, type VerifiedPair } from './identity/node.ts';
export type { DefaultCalibration, Calibration, KindSummary } from './gallery/calibration-record.ts';
export type { IdentifyOptions, MatchOptions, GalleryStats, Candidate, ThresholdChoice, ThresholdRestsOn, FaceMoreLikeAnother, PeopleAlike, StrangerScore } from './gallery/gallery.ts';
export type { EnrollOptions } from './identity/face-gallery.ts';
// Faces: detection (BlazeFace), framing on the GPU and descriptors of every face.
export { DEFAULT_PREPROCESSING, type FacePreprocessing, type FaceFraming } from './faces/framing.ts';
export { openFaceDescriber, describeFiles, type FileFaces, type OpenDescriberOptions } from './faces/node.ts';
export type { FaceDescriber, DescribedFace } from './faces/describe.ts';
export { annotatedJpeg, colourOf, type FaceMark } from './faces/annotate-node.ts';
export { loadBlazeFace } from './detect/node.ts';
export { BlazeFaceDetector, type FaceDetection, type DetectorOptions } from './detect/blazeface.ts';
// Training a recognizer (a classifier head over the descriptors) and using it.
export { train, load, predict, evaluate, type EngineOnGpu, type NodeTrainOptions, type FilePrediction, type FacePrediction, type PredictOptions, type EvaluationResult } from './train/index.ts';
export type { SplitOptions } from './train/dataset-node.ts';
export type { SkippedFile } from './train/extract.ts';
export { FaceClassifier, type TrainResult, type Prediction, type EpochLog, type FitConfig } from './train/index.ts';

// Kernels tuned by measuring on this adapter (facegpu tune), saved under <home>/tuning.
// The photo library: every face of a folder tree indexed into a gallery, grouped into people,
// named, searched (src/library/README.md).
export { indexLibrary, type IndexOptions, type IndexSummary } from './library/index-run-node.ts';
export { watchLibrary, type WatchOptions, type LibraryWatch } from './library/watch-node.ts';
export { runIndexWorker, type IndexWorkerOptions } from './library/worker-node.ts';
export type { WorkerHandle } from './library/queue-node.ts';
export { clusterLibrary, type ClusterLibraryOptions, type ClusterReport, type LibraryCluster } from './library/cluster-node.ts';
export { nameCluster, nameFaces, unnameFaces, removePerson, removePersonPhotos, renamePerson, type NameReport, type FacesReport, type PersonPhotosReport, type RenameReport } from './library/people-node.ts';
export { searchLibraryByPhoto, searchLibraryByPerson, type LibrarySearchOptions, type PhotoSearchOptions, type PhotoSearchResult } from './library/search-run-node.ts';
export type { SearchResult, PhotoHit } from './library/search-node.ts';
export { exportXmpRegions, importXmpNames, type XmpOptions, type XmpExportReport, type XmpImportReport } from './library/xmp-node.ts';

export { tuneBackbone, savedTuning, type TuningRecord, type TuneResult, type TuneOptions } from './tune/tuner.ts';
export { nodeTuningStore } from './tune/store-node.ts';

export interface OpenEngineOptions extends EngineOptions, NodeGpuOptions {
  /** Backbone name in the weights folder, or a folder with manifest.json; default "face". */
  backbone?: string;
  /** facegpu's folder for converted backbones (<home>/weights); default $FACEGPU_HOME, else the user's cache folder. */
  home?: string;
  /**
   * Told before the default backbone is converted on first use, and when the warm-up is long
   * (a driver compiling the kernels on its first use): one line each; default: stderr.
   */
  onNotice?: (line: string) => void;
  /**
   * Run every kernel once before returning (default true; `MobileNetEngine.warmUp`), so that a
   * driver that compiles pipelines at their first dispatch (lavapipe: 15-18 s for the
   * backbone's kernels the first time on a 2-core machine) does it here, told through
   * `onNotice`, and not silently inside the first call. Once compiled: one image's pass.
   */
  warmUp?: boolean;
  /** Reuse a device (tfjs training shares ours). */
  gpu?: Gpu;
  /** The saved tuning of this adapter (`facegpu tune`, in <home>/tuning) if any (default), measured now if none ('tune'), or none; `tuned` overrides. */
  kernels?: KernelSource;
}

/**
 * Device + backbone + engine in one call. The first call converts the default backbone from
 * the installed `@vladmandic/human` into the weights folder (a second or so, said once on
 * stderr). Destroy the engine, then the device, when done.
 *
 * @example
 * ```ts
 * import { openEngine, loadImageRGB } from 'facegpu';
 * const { gpu, engine } = await openEngine();
 * const pixels = await loadImageRGB('photo.jpg', engine.inputSize);
 * const descriptors = await engine.embed(pixels, 1);   // Float32Array, 1024 numbers
 * engine.destroy(); gpu.destroy();
 * ```
 */
export async function openEngine(opts: OpenEngineOptions = {}): Promise<{ gpu: Gpu; engine: MobileNetEngine }> {
  checkEngineOptions(opts); // before the weights are read or a device opened
  const weights = weightsDir(opts.home);
  const dir = resolveBackboneDir(opts.backbone, weights);
  if (dir === join(weights, DEFAULT_BACKBONE)) await ensureDefaultBackbone(dir, opts.onNotice);
  const backbone = await loadBackbone(dir);
  const gpu = opts.gpu ?? (await createNodeGpu(opts));
  try {
    const tuned = opts.tuned !== undefined ? opts.tuned : await kernelsFor(gpu, backbone, loadShaders(), nodeTuningStore(join(facegpuHome(opts.home), 'tuning')), opts.kernels);
    const engine = new MobileNetEngine(gpu, backbone, loadShaders(), { ...opts, tuned });
    if (opts.warmUp !== false) {
      const notice = opts.onNotice ?? ((line: string) => console.error(line));
      try {
        await noticeIfSlow(() => engine.warmUp(), "the backbone's kernels", gpu.adapter.id, (line) => notice(`facegpu: ${line}`));
      } catch (err) {
        engine.destroy();
        throw err;
      }
    }
    return { gpu, engine };
  } catch (err) {
    // A device opened here is not the caller's to release when no engine comes back.
    if (!opts.gpu) gpu.destroy();
    throw err;
  }
}
