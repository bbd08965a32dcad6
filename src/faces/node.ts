// Faces of image files (Node): files decoded with sharp (EXIF orientation applied, formats
// known by content), BlazeFace on tfjs' WebGPU backend on the engine's own device, the warp
// and the backbone on our shaders.
import type { Gpu } from '../gpu/device.ts';
import { noticeIfSlow } from '../gpu/first-use.ts';
import { loadShaders } from '../gpu/shaders-node.ts';
import { loadBlazeFace } from '../detect/node.ts';
import { FaceWarper } from '../detect/warp.ts';
import { loadImageRaw } from '../image/decode.ts';
import type { RgbImage } from '../image/rgb.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { useGpuForTfjs } from '../train/tf-backend.ts';
import { DETECT_BATCH, FaceDescriber, describeFailure, type DescribedFace } from './describe.ts';
import { DEFAULT_PREPROCESSING, type FacePreprocessing } from './framing.ts';

export type FileFaces = { file: string; faces: DescribedFace[]; width: number; height: number } | { file: string; error: string };

/** A file decoded, or why not (the message names the file). */
export type DecodedFile = { name: string; image: RgbImage } | { name: string; error: string };

/** Decode files at once, each to its image or its error: one bad file never fails the others. */
export function decodeFiles(files: readonly string[]): Promise<DecodedFile[]> {
  return Promise.all(files.map((name) => loadImageRaw(name).then((image) => ({ name, image }), (err: Error) => ({ name, error: err.message }))));
}

/** Devices whose detector and warp kernels have run (tfjs and the runner keep their pipelines per device). */
const detectorWarmed = new WeakSet<GPUDevice>();

export interface OpenDescriberOptions {
  /**
   * Run the detector's and the warp's kernels once before returning (default true;
   * FaceDescriber.warmUp): a driver that compiles at first dispatch (lavapipe: 16-18 s the
   * first time on a 2-core machine) does it here, told through `onNotice` when it is long.
   */
  warmUp?: boolean;
  /** Told when the warm-up is long (a message, then its time); default: stderr, as `facegpu: message`. */
  onNotice?: (message: string) => void;
  /** DescriberOptions.minFace: find faces down to this many pixels wide, through tiles. */
  minFace?: number;
}

/**
 * A describer on `engine`'s device: tfjs is put on that device (with our kernels) for the
 * detector. `preprocessing` defaults to DEFAULT_PREPROCESSING (as the page's openFaceDescriber).
 */
export async function openFaceDescriber(gpu: Gpu, engine: MobileNetEngine, preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING, opts: OpenDescriberOptions = {}): Promise<FaceDescriber> {
  await useGpuForTfjs(gpu, loadShaders());
  const detector = await loadBlazeFace({ minScore: preprocessing.minScore });
  const describer = new FaceDescriber(detector, new FaceWarper(engine.runner, gpu.device), engine, preprocessing, { minFace: opts.minFace });
  if (opts.warmUp !== false) {
    try {
      await warmDetector(gpu, () => describer.warmUp(), opts.onNotice);
    } catch (err) {
      describer.destroy();
      throw err;
    }
  }
  return describer;
}

/**
 * Run `warm` (a warm-up of the face detector's kernels on `gpu`: FaceDescriber's, or
 * FaceCropper's for training) unless one has run on this device, telling `onNotice` (default:
 * stderr) when it is long.
 */
export async function warmDetector(gpu: Gpu, warm: () => Promise<void>, onNotice?: (message: string) => void): Promise<void> {
  if (detectorWarmed.has(gpu.device)) return;
  const notice = onNotice ?? ((message: string) => console.error(`facegpu: ${message}`));
  await noticeIfSlow(warm, "the face detector's kernels", gpu.adapter.id, notice);
  detectorWarmed.add(gpu.device);
}

/**
 * Every face of every file, in file order. A file that cannot be decoded gets `error` (its
 * message names the file) and the others are still answered. Photos are decoded a batch at a
 * time; the decode time is counted in `decodeMs`.
 */
export async function describeFiles(
  describer: FaceDescriber,
  files: readonly string[],
  opts: { onProgress?: (done: number, total: number) => void; times?: { decodeMs: number } } = {},
): Promise<FileFaces[]> {
  const out: FileFaces[] = [];
  for (let at = 0; at < files.length; at += DETECT_BATCH) {
    const chunk = files.slice(at, at + DETECT_BATCH);
    const t = performance.now();
    const decoded = await decodeFiles(chunk);
    if (opts.times) opts.times.decodeMs += performance.now() - t;
    const ok = decoded.filter((d): d is DecodedFile & { image: RgbImage } => 'image' in d);
    const faces = await describer.describeEach(ok.map((d) => d.image));
    let k = 0;
    for (const d of decoded) {
      if (!('image' in d)) out.push({ file: d.name, error: d.error });
      else {
        const f = faces[k++];
        out.push(f instanceof Error ? { file: d.name, error: describeFailure(d.name, f) } : { file: d.name, faces: f, width: d.image.width, height: d.image.height });
      }
    }
    opts.onProgress?.(out.length, files.length);
  }
  return out;
}
