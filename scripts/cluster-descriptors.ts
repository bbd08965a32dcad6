// Real descriptors for the clustering measurement (scripts/cluster-quality.ts): every photo of
// ORL (40 people x 10) and 5-celebrity-faces (train + val, 5 people), its largest face through
// the default face pipeline (openFaceDescriber + describeFiles, DEFAULT_PREPROCESSING),
// normalised as a gallery of this backbone stores them (the backbone's reference record:
// mean-l2). The pipeline runs minutes on a CPU adapter, so the result can be kept in a cache
// file (written atomically) and read back by later runs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/atomic-fs.ts';
import { openEngine } from '../src/node.ts';
import { openFaceDescriber, describeFiles } from '../src/faces/node.ts';
import { largestFace } from '../src/faces/describe.ts';
import { DEFAULT_PREPROCESSING } from '../src/faces/framing.ts';
import { normalise, describeNormalisation } from '../src/gallery/normalise.ts';
import { referenceFor } from '../src/identity/node.ts';

export interface LabelledDescriptors {
  /** Unit rows [n, dim], normalised as galleries store them. */
  descriptors: Float32Array;
  dim: number;
  /** Each row's data set ('orl' | 'celeb') and true person (hidden from the clustering). */
  dataset: string[];
  person: string[];
  file: string[];
  /** Photos without a face (left out), and how descriptors were normalised. */
  noFace: string[];
  normalisation: string;
}

const list = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.')).sort();

/** The photos, in a fixed order: ORL s1..s40, then 5-celebrity-faces train/ and val/ by person. */
export function datasetPhotos(datasets: string): { file: string; dataset: string; person: string }[] {
  const out: { file: string; dataset: string; person: string }[] = [];
  for (let i = 1; i <= 40; i++) for (const f of list(join(datasets, 'orl-faces', `s${i}`))) out.push({ file: join(datasets, 'orl-faces', `s${i}`, f), dataset: 'orl', person: `orl-s${i}` });
  for (const part of ['train', 'val']) for (const p of list(join(datasets, '5-celebrity-faces', part))) for (const f of list(join(datasets, '5-celebrity-faces', part, p))) out.push({ file: join(datasets, '5-celebrity-faces', part, p, f), dataset: 'celeb', person: p });
  return out;
}

/** Descriptors of every photo (from `cache` when it exists; written there when computed). */
export async function labelledDescriptors(datasets: string, opts: { backbone?: string; cache?: string; log?: (line: string) => void } = {}): Promise<LabelledDescriptors> {
  const log = opts.log ?? ((line: string) => console.error(line));
  if (opts.cache && existsSync(opts.cache)) {
    const meta = JSON.parse(readFileSync(`${opts.cache}.json`, 'utf8')) as Omit<LabelledDescriptors, 'descriptors'>;
    const bytes = readFileSync(opts.cache);
    const descriptors = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    if (descriptors.length !== meta.person.length * meta.dim) throw new Error(`${opts.cache}: ${descriptors.length} values, expected ${meta.person.length} x ${meta.dim}`);
    log(`descriptors read from ${opts.cache} (${meta.person.length} faces)`);
    return { ...meta, descriptors };
  }
  const photos = datasetPhotos(datasets);
  const { gpu, engine } = await openEngine({ backbone: opts.backbone });
  const reference = await referenceFor(engine);
  const rec = reference?.normalisation ?? { method: 'l2' as const };
  const describer = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING);
  const t = performance.now();
  const found = await describeFiles(describer, photos.map((p) => p.file), { onProgress: (d, n) => log(`described ${d}/${n}`) });
  log(`${photos.length} photos described in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const dim = engine.outputDim;
  const keep: number[] = [];
  const noFace: string[] = [];
  found.forEach((r, i) => {
    if ('error' in r) throw new Error(r.error);
    if (r.faces.length) keep.push(i);
    else noFace.push(r.file.slice(datasets.length + 1));
  });
  const raw = new Float32Array(keep.length * dim);
  keep.forEach((i, k) => {
    const faces = (found[i] as { faces: { box: [number, number, number, number]; descriptor: Float32Array }[] }).faces;
    raw.set(faces[largestFace(faces)].descriptor, k * dim);
  });
  describer.destroy();
  engine.destroy();
  gpu.destroy();
  const out: LabelledDescriptors = {
    descriptors: normalise(raw, dim, rec),
    dim,
    dataset: keep.map((i) => photos[i].dataset),
    person: keep.map((i) => photos[i].person),
    file: keep.map((i) => photos[i].file.slice(datasets.length + 1)),
    noFace,
    normalisation: describeNormalisation(rec),
  };
  if (opts.cache) {
    const { descriptors, ...meta } = out;
    await writeFileAtomic(`${opts.cache}.json`, JSON.stringify(meta));
    await writeFileAtomic(opts.cache, new Uint8Array(descriptors.buffer, descriptors.byteOffset, descriptors.byteLength));
  }
  return out;
}
