// The Node entry of the library: a device, the shaders from disk, a backbone from weights/.
import { createNodeGpu, type NodeGpuOptions } from './gpu/node-gpu.ts';
import { loadShaders } from './gpu/shaders-node.ts';
import type { Gpu } from './gpu/device.ts';
import { MobileNetEngine, type EngineOptions } from './mobilenet/engine.ts';
import { loadBackbone } from './weights/store.ts';
import { resolveBackboneDir } from './backbones.ts';

export { MobileNetEngine } from './mobilenet/engine.ts';
export { createNodeGpu } from './gpu/node-gpu.ts';
export { loadImageRGB } from './image/decode.ts';
export { loadBackbone, saveBackbone } from './weights/store.ts';
export { convertTfjsModel } from './weights/convert.ts';
export { Gallery, openVerifier, referenceFor, type IdentifiedFile, type EnrollReport, type IdentifiedFace } from './identity/node.ts';
export { DEFAULT_PREPROCESSING, type FacePreprocessing, type FaceFraming } from './faces/framing.ts';
export { openFaceDescriber, describeFiles } from './faces/node.ts';

export interface OpenEngineOptions extends EngineOptions, NodeGpuOptions {
  /** Backbone name under weights/ or a folder; default "face". */
  backbone?: string;
  /** Reuse a device (tfjs training shares ours). */
  gpu?: Gpu;
}

/** Device + backbone + engine in one call. Destroy the engine, then the device, when done. */
export async function openEngine(opts: OpenEngineOptions = {}): Promise<{ gpu: Gpu; engine: MobileNetEngine }> {
  const backbone = await loadBackbone(resolveBackboneDir(opts.backbone));
  const gpu = opts.gpu ?? (await createNodeGpu(opts));
  return { gpu, engine: new MobileNetEngine(gpu, backbone, loadShaders(), opts) };
}
