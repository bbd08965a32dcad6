// The real descriptors the synthetic face model is fitted to (scripts/fit-descriptor-model.ts):
// every photo of ORL and 5-celebrity-faces with a face (scripts/dataset-faces.ts: the photos,
// the pipeline and its cache), its first face as the describer orders them, raw.
import { join } from 'node:path';
import { datasetFaces } from './dataset-faces.ts';

export interface LabelledDescriptors {
  dim: number;
  /** Raw descriptors [n, dim]. */
  raw: Float32Array;
  /** Row -> index into people. */
  person: number[];
  people: string[];
  /** The photos, below `datasets`. */
  files: string[];
}

export async function realDescriptors(datasets: string, cache: string | null, backbone = 'face'): Promise<LabelledDescriptors> {
  const { dim, photos } = await datasetFaces(datasets, { backbone, cache: cache ?? undefined });
  const kept = photos.filter((p) => p.faces.length);
  const people = [...new Set(kept.map((p) => p.person))];
  const raw = new Float32Array(kept.length * dim);
  kept.forEach((p, k) => raw.set(p.faces[0].descriptor, k * dim));
  return { dim, raw, person: kept.map((p) => people.indexOf(p.person)), people, files: kept.map((p) => join(datasets, p.file)) };
}
