// Eye-aligned face crops of image files, for tests and for looking at: decode (sharp), detect
// (BlazeFace on tfjs' current backend), align by the eyes and warp on the GPU, read back.
import sharp from 'sharp';
import { DEFAULT_ALIGN, eyeTransform, type Affine, type AlignRecord } from '../../src/detect/align.ts';
import type { BlazeFaceDetector, FaceDetection } from '../../src/detect/blazeface.ts';
import type { FaceWarper } from '../../src/detect/warp.ts';
import { loadImageRaw } from '../../src/image/decode.ts';
import type { RgbImage } from '../../src/image/rgb.ts';

export interface AlignedFaces {
  image: RgbImage;
  faces: FaceDetection[];
  maps: Affine[];
  /** faces.length crops of size x size packed RGB, one after another. */
  pixels: Uint8Array;
}

/** Every face of `file`, eye-aligned to size x size (pixels empty when there is none). */
export async function alignFile(file: string, detector: BlazeFaceDetector, warper: FaceWarper, size = 224, rec: AlignRecord = DEFAULT_ALIGN): Promise<AlignedFaces> {
  const image = await loadImageRaw(file);
  const faces = await detector.detect(image);
  const maps = faces.map((f) => eyeTransform(f, size, rec));
  const pixels = maps.length ? await warper.warpToBytes(image, maps, size) : new Uint8Array(0);
  return { image, faces, maps, pixels };
}

/** Packed RGB to a PNG file. */
export async function writeRgbPng(file: string, pixels: Uint8Array, width: number, height: number): Promise<void> {
  await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(file);
}
