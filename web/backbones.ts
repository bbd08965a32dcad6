// The backbones the page can train on: the face one (opened at start by main.ts, also used by
// the Identify tab) and the ImageNet MobileNet V1 for any other kind of picture, fetched the
// way the face one is (manifest.json + weights.bin from /weights/<id>/, which `npm run web`
// and the static build serve from weights/) the first time someone picks it. A model loaded
// back gets the engine of the backbone it was trained on.
import { openEngine, type FaceModelMeta, type Gpu, type MobileNetEngine, type WeightsProgress } from '../src/browser/index.ts';

/** What the training tab offers, by backbone id (a folder under weights/). */
export const PAGE_BACKBONES: Record<string, { name: string; install: string }> = {
  face: { name: 'face', install: 'npx facegpu weights install' },
  imagenet: { name: 'ImageNet', install: 'npx facegpu weights install imagenet' },
};

export class BackboneEngines {
  private readonly engines = new Map<string, Promise<MobileNetEngine>>();

  constructor(
    private readonly gpu: Gpu,
    face: MobileNetEngine,
  ) {
    this.engines.set(face.manifest.id, Promise.resolve(face));
  }

  /** From now on, `engine` is the one of its backbone (the page's face engine on tuned kernels). */
  use(engine: MobileNetEngine): void {
    this.engines.set(engine.manifest.id, Promise.resolve(engine));
  }

  /** The engine of backbone `id`, fetched once; a backbone the server does not have is a message saying how to install it. */
  get(id: string, onProgress?: (p: WeightsProgress) => void): Promise<MobileNetEngine> {
    let engine = this.engines.get(id);
    if (!engine) {
      engine = openEngine({ gpu: this.gpu, weightsUrl: `/weights/${id}/`, onProgress })
        .then((r) => r.engine)
        .catch((err: Error) => {
          this.engines.delete(id); // installed later: try again on the next pick
          const b = PAGE_BACKBONES[id];
          const name = b ? `the ${b.name} backbone` : `backbone "${id}"`;
          if (/HTTP 404/.test(err.message)) {
            throw new Error(`${name} is not installed where this page is served (weights/${id}/ has no manifest.json): run \`${b?.install ?? `npx facegpu weights convert … --out weights/${id}`}\`, then pick it again`);
          }
          throw new Error(`${name} could not be loaded: ${err.message}`);
        });
      this.engines.set(id, engine);
    }
    return engine;
  }

  /** The engine a model was trained on: one already open with its weights (by sha256), else its id's. */
  async forModel(meta: FaceModelMeta): Promise<MobileNetEngine> {
    for (const e of this.engines.values()) {
      const engine = await e.catch(() => null);
      if (engine?.manifest.weightsSha256 === meta.backbone.weightsSha256) return engine;
    }
    return this.get(meta.backbone.id);
  }
}
