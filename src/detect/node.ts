// Face cropping in Node: BlazeFace read from node_modules (@vladmandic/human ships it beside
// the default backbone), photos decoded and cut with sharp.
import { dirname, join } from 'node:path';
import { defaultBackboneSource } from '../backbones.ts';
import { loadImageRaw, resizeRGB } from '../image/decode.ts';
import { tfjsModelFromDisk } from '../weights/tfjs-node-io.ts';
import { BlazeFaceDetector, type DetectorOptions } from './blazeface.ts';
import { FaceCropper, locatedFaceLoader, type CropIo, type FaceCrop } from './face-crop.ts';

/** models/blazeface.json of @vladmandic/human. */
export function blazefaceModelFile(): string {
  return join(dirname(defaultBackboneSource()), 'blazeface.json');
}

/**
 * The detector on tfjs' current backend: set the backend first (useGpuForTfjs), since the
 * model's weights are uploaded to it here.
 */
export async function loadBlazeFace(opts: DetectorOptions = {}, file = blazefaceModelFile()): Promise<BlazeFaceDetector> {
  let handler;
  try {
    handler = await tfjsModelFromDisk(file);
  } catch (err) {
    throw new Error(`${file}: cannot read the BlazeFace face detector (${(err as Error).message}); run \`npm ci\``);
  }
  return BlazeFaceDetector.load(handler, opts);
}

/** Image files in, crops out: decoding with EXIF orientation as everywhere else, cutting bicubic. */
export const NODE_CROP_IO: CropIo<string> = {
  decode: (file) => loadImageRaw(file),
  cut: (image, rect, size) => (rect === null && image.width === size && image.height === size ? Promise.resolve(image.data) : resizeRGB(image, size, '(crop)', rect ?? undefined)),
};

/** A face cropper for files, with the detector loaded on tfjs' current backend. */
export async function nodeFaceCropper(record: FaceCrop): Promise<FaceCropper<string>> {
  return new FaceCropper(await loadBlazeFace({ minScore: record.minScore }), NODE_CROP_IO, record);
}

/**
 * A loader for the training pipeline (ids relative to `root`) that crops faces; `onNoFace`
 * hears of every file (its path) where none was found: its whole image went in.
 */
export function faceCropFileLoader(cropper: FaceCropper<string>, root: string, size: number, onNoFace: (file: string) => void): (id: string) => Promise<Uint8Array> {
  return async (id) => {
    const file = join(root, id);
    const r = await cropper.crop(file, size);
    if (!r.face) onNoFace(file);
    return r.pixels;
  };
}

/**
 * Locate the faces of a whole training set first (`ids` relative to `root`), then a loader
 * that cuts each photo where its face was found (face-crop.ts). `onNoFace` hears of every
 * file (its path) where none was found: its whole image goes in.
 */
export function locatedFaceFileLoader(
  cropper: FaceCropper<string>,
  root: string,
  ids: readonly string[],
  size: number,
  opts: { onNoFace: (file: string) => void; onProgress?: (done: number, total: number) => void },
): Promise<(id: string) => Promise<Uint8Array>> {
  return locatedFaceLoader(cropper, ids, (id) => join(root, id), size, { onNoFace: (id) => opts.onNoFace(join(root, id)), onProgress: opts.onProgress });
}
