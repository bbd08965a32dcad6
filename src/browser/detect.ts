// Face cropping in a page: the same BlazeFace detector and cropper as in Node (src/detect),
// with the model fetched from the page's own server and photos decoded and cut by a canvas
// (image.ts). The demo page serves the model at DEFAULT_DETECTOR_URL (vite.config.ts) and its
// service worker keeps it for offline use.
import * as tf from '@tensorflow/tfjs-core';
import { BlazeFaceDetector, DEFAULT_DETECTOR, type DetectorOptions } from '../detect/blazeface.ts';
import { FaceCropper, type CropIo, type FaceCrop } from '../detect/face-crop.ts';
import { cutRGB, imageToRgbImage, type ImageInput } from './image.ts';

/** Where the demo page (and `npm run web`) serves BlazeFace's model.json; its weights file sits beside it. */
export const DEFAULT_DETECTOR_URL = '/detect/blazeface.json';

/**
 * The detector from `url` (a tfjs graph model.json; its weights file is fetched relative to
 * it) on tfjs' current backend: set the backend first (useGpuForTfjs), since the weights are
 * uploaded to it here. Errors name the URL.
 */
export async function fetchBlazeFace(url: string | URL = DEFAULT_DETECTOR_URL, opts: DetectorOptions = {}): Promise<BlazeFaceDetector> {
  const href = new URL(String(url), globalThis.location?.href).href;
  try {
    return await BlazeFaceDetector.load(tf.io.browserHTTPRequest(href), opts);
  } catch (err) {
    throw new Error(`${href}: cannot load the BlazeFace face detector (${(err as Error).message})`);
  }
}

/** Pictures in, crops out, through a canvas: the whole photo for the detector, the face's square scaled for the backbone. */
export const BROWSER_CROP_IO: CropIo<ImageInput> = {
  decode: (source) => imageToRgbImage(source),
  cut: (image, rect, size) => cutRGB(image, rect, size),
};

/**
 * Face croppers for the crop records of models, one detector per minimum score (a detector
 * drops weaker faces before the cropper sees them), each loaded once from `url`.
 */
export class BrowserFaceCropping {
  private readonly detectors = new Map<number, Promise<BlazeFaceDetector>>();

  constructor(private readonly url: string | URL = DEFAULT_DETECTOR_URL) {}

  /** Load the detector for the default score now (a page does it at start, to fail early and to be cached for offline use). */
  async preload(): Promise<void> {
    await this.detector(DEFAULT_DETECTOR.minScore);
  }

  /** A cropper that crops as `record` says (a fresh one per use: its stats count that use). */
  async cropper(record: FaceCrop): Promise<FaceCropper<ImageInput>> {
    return new FaceCropper(await this.detector(record.minScore), BROWSER_CROP_IO, record);
  }

  private detector(minScore: number): Promise<BlazeFaceDetector> {
    let d = this.detectors.get(minScore);
    if (!d) {
      d = fetchBlazeFace(this.url, { minScore });
      d.catch(() => this.detectors.delete(minScore)); // try again next time
      this.detectors.set(minScore, d);
    }
    return d;
  }
}
