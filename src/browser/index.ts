/**
 * `facegpu/browser`, the browser entry of the library: the same engine as in Node, with the
 * device taken from navigator.gpu, the shaders bundled as strings and the backbone fetched
 * from a URL; images from `<img>`, canvases, bitmaps, video frames or Files.
 *
 * @example
 * ```ts
 * import { openEngine, imagesToRGB, openFaceDescriber, fetchReference, createGallery, enrollImages, identifyImages } from 'facegpu/browser';
 * const { gpu, engine } = await openEngine({ weightsUrl: '/weights/face/' });
 * const descriptors = await engine.embed(await imagesToRGB(files, engine.inputSize), files.length);
 * // open-set identity (identity.ts): a gallery in the page
 * const fg = createGallery(await openFaceDescriber(gpu, engine), await fetchReference('/calibration/face.json'));
 * await enrollImages(fg, 'Ada', adaFiles);
 * const [photo] = await identifyImages(fg, [videoElement], { far: 1e-2 });
 * ```
 *
 * @packageDocumentation
 */
import { createGpuFrom, GpuUnavailableError, isCpuAdapter, type DeviceOptions, type Gpu } from '../gpu/device.ts';
import { checkEngineOptions, MobileNetEngine, type EngineOptions } from '../mobilenet/engine.ts';
import { SHADERS } from './shaders.ts';
import { fetchBackbone, type FetchBackboneOptions } from './weights.ts';
import { kernelsFor, type KernelSource } from '../tune/engine-kernels.ts';
import { browserTuningStore } from './tuning-store.ts';

export { MobileNetEngine } from '../mobilenet/engine.ts';
export { createGpuFrom, GpuUnavailableError, GpuLostError, type Gpu, type AdapterSummary } from '../gpu/device.ts';
export { RemedyError, type RemedyHint } from '../remedy.ts';
export { SHADERS } from './shaders.ts';
export { browserTuningStore } from './tuning-store.ts';
export { tuneBackbone, savedTuning, type TuningRecord, type TuneResult } from '../tune/tuner.ts';
export { fetchBackbone, sha256Hex, WEIGHTS_CACHE, type WeightsProgress, type FetchedBackbone } from './weights.ts';
export { imageToRGB, imagesToRGB, imageToRgbImage, cutRGB, describeImage, ImageInputError, type ImageInput } from './image.ts';
export { fetchBlazeFace, BrowserFaceCropping, BROWSER_CROP_IO, DEFAULT_DETECTOR_URL } from './detect.ts';
export { BlazeFaceDetector, type FaceDetection, type RgbImage } from '../detect/blazeface.ts';
export { FaceCropper, faceCropRecord, locatedFaceLoader, DEFAULT_FACE_MARGIN, type CropRecord, type FaceCrop } from '../detect/face-crop.ts';

/** Where the default backbone is served by the demo page (and by `npm run web`). */
export const DEFAULT_WEIGHTS_URL = '/weights/face/';

/** Why WebGPU is not there, in words a visitor can act on; null when it is. */
export function webgpuSupportProblem(): string | null {
  if (typeof window !== 'undefined' && !window.isSecureContext) {
    return 'WebGPU needs a secure context: open this page over https or from localhost.';
  }
  if (typeof navigator === 'undefined' || !('gpu' in navigator)) {
    return 'This browser does not expose WebGPU (navigator.gpu). Use a recent Chrome, Edge or Safari 26+, or Firefox 141+ on Windows; on Linux Chrome needs chrome://flags/#enable-unsafe-webgpu.';
  }
  return null;
}

/** A device from navigator.gpu, with limits raised to the adapter's. */
export async function createBrowserGpu(opts: DeviceOptions = {}): Promise<Gpu> {
  const problem = webgpuSupportProblem();
  if (problem) throw new GpuUnavailableError(problem);
  const gpu = await createGpuFrom(navigator.gpu, opts, 'this browser supports WebGPU but offers no adapter: the GPU may be blocklisted or its driver missing (see chrome://gpu); on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu and #enable-vulkan');
  // A page sees no CPU model or SIMD flags; the core count is what it can tell of a CPU adapter's host.
  if (isCpuAdapter(gpu.device)) gpu.adapter.host = `${navigator.hardwareConcurrency} cores`;
  return gpu;
}

export interface OpenEngineOptions extends EngineOptions, DeviceOptions, FetchBackboneOptions {
  /** Folder URL of a converted backbone (manifest.json + weights.bin); default DEFAULT_WEIGHTS_URL. */
  weightsUrl?: string | URL;
  /** Reuse a device (tfjs training shares ours). */
  gpu?: Gpu;
  /** The tuning saved in IndexedDB for this adapter if any (default), measured and saved now if none ('tune'), or none; `tuned` overrides. */
  kernels?: KernelSource;
}

/** Device + backbone + engine in one call. Destroy the engine, then the device, when done. */
export async function openEngine(opts: OpenEngineOptions = {}): Promise<{ gpu: Gpu; engine: MobileNetEngine; fromCache: boolean }> {
  checkEngineOptions(opts); // before the weights are fetched or a device opened
  const gpu = opts.gpu ?? (await createBrowserGpu(opts));
  try {
    const backbone = await fetchBackbone(opts.weightsUrl ?? DEFAULT_WEIGHTS_URL, opts);
    const tuned = opts.tuned !== undefined ? opts.tuned : await kernelsFor(gpu, backbone, SHADERS, browserTuningStore(), opts.kernels);
    return { gpu, engine: new MobileNetEngine(gpu, backbone, SHADERS, { ...opts, tuned }), fromCache: backbone.fromCache };
  } catch (err) {
    if (!opts.gpu) gpu.destroy();
    throw err;
  }
}
// Training and prediction: the browser-safe half of src/train, the code the Node CLI runs.
export { trainOnImages, type TrainingSet, type TrainOptions, type TrainResult } from '../train/pipeline.ts';
export type { ImageItem, PixelLoader, SkippedFile } from '../train/extract.ts';
export { FaceClassifier, rankProbabilities, UNKNOWN, type Prediction, type Guess } from '../train/classify.ts';
export { stratifiedSplit } from '../train/split.ts';
export { DEFAULT_FIT, type EpochLog, type FitConfig } from '../train/fit.ts';
export { KERAS_RECIPE, type AugmentRecipe } from '../train/augment.ts';
export { checkBackbone, type FaceModelMeta } from '../train/model-format.ts';
export { useGpuForTfjs } from '../train/tf-backend.ts';
export { saveToBrowser, loadFromBrowser, listSavedModels, removeSavedModel, downloadModel, loadFromFiles, modelFiles, type StoredModel } from './model-store.ts';
// Open-set identity: the Gallery API of src/identity (enroll, identify, verify, stats) on
// browser pictures, galleries kept in IndexedDB or downloaded as a Node gallery folder.
export {
  openFaceDescriber, fetchReference, createGallery, namedImages, enrollImages, identifyImages,
  saveGalleryToBrowser, loadGalleryFromBrowser, readGalleryFromBrowser, listBrowserGalleries, removeGalleryFromBrowser,
  galleryToFiles, galleryFromFiles, galleryFiles, downloadGallery, loadGalleryFromFiles, DEFAULT_REFERENCE_URL,
  FaceGallery, FaceDescriber, Gallery, DEFAULT_PREPROCESSING, preprocessingOf, checkPersonName, backboneRefOf, largestFace, LOOKALIKE_FAR,
  type IdentifiedImage, type LoadGalleryFilesOptions, type NamedImage, type IdentifiedFace, type EnrollReport, type EnrollOptions,
  type DescribedFace, type DescribeTimes, type FacePreprocessing, type FaceFraming, type GalleryStats, type IdentifyOptions, type MatchOptions,
  type Candidate, type ThresholdChoice, type ThresholdRestsOn, type FaceMoreLikeAnother, type PeopleAlike, type StrangerScore, type DefaultCalibration, type Calibration, type KindSummary,
} from './identity.ts';
