/**
 * `facegpu`, the Node entry of the library: a WebGPU device (Dawn), the shaders from disk, a
 * backbone from the weights folder (the default one converted there on first use), and on top
 * of them descriptors ({@link openEngine}), galleries for open-set identity ({@link Gallery}),
 * training a recognizer ({@link train}) and face detection ({@link openFaceDescriber}).
 *
 * @packageDocumentation
 */

// The engine and its device.
export { openEngine, type OpenEngineOptions } from './open-engine-node.ts';
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

// Kernels tuned by measuring on this adapter (facegpu tune), saved under <home>/tuning.
export { tuneBackbone, savedTuning, type TuningRecord, type TuneResult, type TuneOptions } from './tune/tuner.ts';
export { nodeTuningStore } from './tune/store-node.ts';
