// The real descriptors the synthetic face model is fitted to (scripts/fit-descriptor-model.ts):
// every photo of ORL (40 people x 10) and 5-celebrity-faces (train + val), its best face
// through the faces pipeline (detect, align, backbone), raw. Cached in a file because the
// pipeline takes minutes on a CPU adapter and the fit is re-run more often than the photos
// change. Cache: float32 rows + a JSON sidecar of {people, person[], files[], dim}.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/atomic-fs.ts';
import { openEngine } from '../src/node.ts';
import { describeFiles, openFaceDescriber } from '../src/faces/node.ts';
import { DEFAULT_PREPROCESSING } from '../src/faces/framing.ts';

export interface LabelledDescriptors {
  dim: number;
  /** Raw descriptors [n, dim]. */
  raw: Float32Array;
  /** Row -> index into people. */
  person: number[];
  people: string[];
  files: string[];
}

const list = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.')).sort();

/** The photos and their people: ORL s1..s40 and 5-celebrity-faces train/ and val/ together. */
export function datasetPhotos(datasets: string): { file: string; person: string }[] {
  const out: { file: string; person: string }[] = [];
  for (let i = 1; i <= 40; i++) for (const f of list(join(datasets, 'orl-faces', `s${i}`))) out.push({ file: join(datasets, 'orl-faces', `s${i}`, f), person: `orl-s${i}` });
  for (const part of ['train', 'val']) for (const p of list(join(datasets, '5-celebrity-faces', part))) for (const f of list(join(datasets, '5-celebrity-faces', part, p))) out.push({ file: join(datasets, '5-celebrity-faces', part, p, f), person: `celeb-${p}` });
  return out;
}

export async function realDescriptors(datasets: string, cache: string | null, backbone = 'face'): Promise<LabelledDescriptors> {
  if (cache && existsSync(`${cache}.json`)) {
    const meta = JSON.parse(readFileSync(`${cache}.json`, 'utf8'));
    const b = readFileSync(`${cache}.bin`);
    return { ...meta, raw: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice() };
  }
  const photos = datasetPhotos(datasets);
  const { gpu, engine } = await openEngine({ backbone });
  const describer = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING);
  const dim = engine.outputDim;
  const found = await describeFiles(describer, photos.map((p) => p.file), { onProgress: (d, t) => process.stderr.write(`\rdescribed ${d}/${t}`) });
  process.stderr.write('\n');
  const rows: number[] = [];
  found.forEach((f, i) => {
    if ('faces' in f && f.faces.length) rows.push(i);
  });
  const people = [...new Set(rows.map((i) => photos[i].person))];
  const raw = new Float32Array(rows.length * dim);
  rows.forEach((i, k) => raw.set((found[i] as { faces: { descriptor: Float32Array }[] }).faces[0].descriptor, k * dim));
  const out = { dim, raw, person: rows.map((i) => people.indexOf(photos[i].person)), people, files: rows.map((i) => photos[i].file) };
  if (cache) {
    await writeFileAtomic(`${cache}.bin`, new Uint8Array(raw.buffer));
    await writeFileAtomic(`${cache}.json`, JSON.stringify({ dim, person: out.person, people, files: out.files }));
  }
  console.error(`${photos.length} photos, ${photos.length - rows.length} without a face`);
  return out;
}

if (process.argv[1] === import.meta.filename) {
  const t = performance.now();
  const d = await realDescriptors(process.argv[2], process.argv[3] ?? null);
  console.error(`${d.files.length} descriptors of ${d.people.length} people in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  process.exit(0);
}
