// Real descriptors for the clustering measurement (scripts/cluster-quality.ts): every photo of
// ORL and 5-celebrity-faces with a face (scripts/dataset-faces.ts: the photos, the pipeline and
// its cache), its largest face, normalised as a gallery of this backbone stores them (the
// backbone's reference record, calibration/<backbone>.json: mean-l2; plain l2 without one).
import { largestFace } from '../src/faces/describe.ts';
import { normalise, describeNormalisation } from '../src/gallery/normalise.ts';
import { referenceOf } from '../src/identity/node.ts';
import { datasetFaces } from './dataset-faces.ts';

export interface LabelledDescriptors {
  /** Unit rows [n, dim], normalised as galleries store them. */
  descriptors: Float32Array;
  dim: number;
  /** Each row's data set ('orl' | 'celeb') and true person (hidden from the clustering). */
  dataset: string[];
  person: string[];
  /** Each row's photo, below the datasets folder. */
  file: string[];
  /** Photos without a face (left out), and how descriptors were normalised. */
  noFace: string[];
  normalisation: string;
}

export async function labelledDescriptors(datasets: string, opts: { backbone?: string; cache?: string; log?: (line: string) => void } = {}): Promise<LabelledDescriptors> {
  const { backbone, dim, photos } = await datasetFaces(datasets, opts);
  const rec = (await referenceOf(backbone, dim))?.normalisation ?? { method: 'l2' as const };
  const kept = photos.filter((p) => p.faces.length);
  const raw = new Float32Array(kept.length * dim);
  kept.forEach((p, k) => raw.set(p.faces[largestFace(p.faces)].descriptor, k * dim));
  return {
    descriptors: normalise(raw, dim, rec),
    dim,
    dataset: kept.map((p) => p.dataset),
    person: kept.map((p) => p.person),
    file: kept.map((p) => p.file),
    noFace: photos.filter((p) => !p.faces.length).map((p) => p.file),
    normalisation: describeNormalisation(rec),
  };
}
