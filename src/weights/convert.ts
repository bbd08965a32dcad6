// Entry point of the converters: detect the kind of tfjs model and convert it.
import { convertGraphModel } from './from-graph.ts';
import { convertLayersModel } from './from-layers.ts';
import type { BackboneSpec, Preprocess } from './spec.ts';
import { readTfjsModel } from './tfjs-artifacts.ts';

export async function convertTfjsModel(file: string, opts: { preprocess?: Preprocess } = {}): Promise<BackboneSpec> {
  const model = await readTfjsModel(file);
  const isGraph = model.json.format === 'graph-model' || Array.isArray(model.json.modelTopology?.node);
  return isGraph ? convertGraphModel(model, opts) : convertLayersModel(model, opts);
}
