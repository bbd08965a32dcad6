// `worker`: take photo batches from the queue and describe their faces on this process's own
// WebGPU device (Node). Everything a batch needs comes with it: the backbone (by id, checked
// by the sha256 of its weights), how the gallery frames faces and how small a face to look
// for; engines and face pipelines are kept open across batches, one per backbone, framing and
// smallest face. A batch this worker can never do
// (its backbone is missing here or differs) fails at once instead of being retried.
import { openEngine } from '../open-engine-node.ts';
import { RemedyError } from '../remedy.ts';
import type { Gpu } from '../gpu/device.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import type { FaceDescriber } from '../faces/describe.ts';
import { openFaceDescriber } from '../faces/node.ts';
import { checkPreprocessing } from '../faces/framing.ts';
import { minFaceProblem } from '../detect/tiles.ts';
import { embedPhotos } from './embed-node.ts';
import { maxImagePixels, setMaxImagePixels } from '../image/decode.ts';
import { toWire } from './photo-faces.ts';
import { probeRedis, startWorker, type WorkerHandle, type WorkerOptions } from './queue-node.ts';

export interface IndexWorkerOptions extends WorkerOptions {
  adapter?: string;
}

export async function runIndexWorker(url: string, opts: IndexWorkerOptions = {}): Promise<WorkerHandle> {
  await probeRedis(url);
  let gpu: Gpu | null = null;
  const engines = new Map<string, MobileNetEngine>();
  const describers = new Map<string, FaceDescriber>();

  const handle = await startWorker(
    url,
    async (data, refuse) => {
      const { backbone, preprocessing } = data;
      const minFace = data.minFace || undefined;
      let engine = engines.get(backbone.sha256);
      if (!engine) {
        let opened;
        try {
          opened = await openEngine({ backbone: backbone.id, adapter: opts.adapter, gpu: gpu ?? undefined });
        } catch (err) {
          const why = `this worker cannot open backbone "${backbone.id}" for gallery ${data.gallery}: `;
          refuse(err instanceof RemedyError ? err.prefixed(why) : why + (err as Error).message);
        }
        gpu = opened!.gpu;
        engine = opened!.engine;
        if (engine.manifest.weightsSha256 !== backbone.sha256) {
          engine.destroy();
          refuse(`backbone "${backbone.id}" here has weights sha256 ${engine.manifest.weightsSha256.slice(0, 12)}…, gallery ${data.gallery} was made with ${backbone.sha256.slice(0, 12)}…`);
        }
        engines.set(backbone.sha256, engine);
      }
      const key = `${backbone.sha256}:${JSON.stringify(preprocessing)}:${minFace ?? 0}`;
      let describer = describers.get(key);
      if (!describer) {
        try {
          checkPreprocessing(preprocessing as unknown as Record<string, unknown>, `gallery ${data.gallery}`);
        } catch (err) {
          refuse((err as Error).message);
        }
        const minFaceWrong = minFace === undefined ? null : minFaceProblem(minFace);
        if (minFaceWrong) refuse(`gallery ${data.gallery}: minFace ${minFaceWrong}`);
        describer = await openFaceDescriber(gpu!, engine, preprocessing, { minFace });
        describers.set(key, describer);
      }
      // The run's pixel limit, as if the owner decoded them (one batch at a time: set for this one).
      const own = maxImagePixels();
      if (data.maxPixels !== undefined) setMaxImagePixels(data.maxPixels);
      try {
        return (await embedPhotos(describer, data.paths)).map(toWire);
      } finally {
        setMaxImagePixels(own);
      }
    },
    opts,
  );
  handle.closed.then(() => {
    for (const d of describers.values()) d.destroy();
    for (const e of engines.values()) e.destroy();
    (gpu as Gpu | null)?.destroy();
  });
  return handle;
}
