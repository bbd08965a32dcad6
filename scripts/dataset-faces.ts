// Every photo of the measuring scripts' data sets and the faces the faces pipeline finds in it:
// ORL (orl-faces/s1..s40, 10 photos each) and 5-celebrity-faces (train/ then val/, by person),
// in that fixed order, each photo through the default pipeline (openFaceDescriber +
// describeFiles, DEFAULT_PREPROCESSING): every face with its box and raw descriptor, in the
// describer's order. Which face of a photo to keep and how to normalise it is the caller's
// (scripts/real-descriptors.ts, scripts/cluster-descriptors.ts).
//
// The pipeline takes minutes on a CPU adapter, so the result can be kept in a cache, which
// serves both callers: `<cache>.json` (backbone, photos, the boxes of their faces) and
// `<cache>.bin` (the raw descriptors, float32, photo by photo, face by face), written
// atomically. Fill one alone with
//   npx tsx scripts/dataset-faces.ts <datasets> <cache> [backbone]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/atomic-fs.ts';
import { DEFAULT_BACKBONE } from '../src/backbones.ts';
import { openEngine } from '../src/node.ts';
import { describeFiles, openFaceDescriber } from '../src/faces/node.ts';
import { DEFAULT_PREPROCESSING } from '../src/faces/framing.ts';
import { backboneRefOf } from '../src/identity/face-gallery.ts';
import type { BackboneRef } from '../src/gallery/gallery-format.ts';

export interface DatasetPhoto {
  /** The path below the datasets folder, e.g. `orl-faces/s1/1.pgm`. */
  file: string;
  dataset: 'orl' | 'celeb';
  /** `orl-s<i>`, or the celebrity's folder name. */
  person: string;
}

export interface PhotoFaces extends DatasetPhoto {
  /** Every face found, in the describer's order; empty when none was. */
  faces: { box: [number, number, number, number]; descriptor: Float32Array }[];
}

export interface DatasetFaces {
  /** The weights that described the faces. */
  backbone: BackboneRef;
  dim: number;
  /** Every photo of datasetPhotos(), in its order. */
  photos: PhotoFaces[];
}

const CACHE_FORMAT = 'facegpu scripts/dataset-faces 1';

const list = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.')).sort();

/** The photos, in a fixed order: ORL s1..s40, then 5-celebrity-faces train/ and val/ by person. */
export function datasetPhotos(datasets: string): DatasetPhoto[] {
  const out: DatasetPhoto[] = [];
  for (let i = 1; i <= 40; i++) for (const f of list(join(datasets, 'orl-faces', `s${i}`))) out.push({ file: join('orl-faces', `s${i}`, f), dataset: 'orl', person: `orl-s${i}` });
  for (const part of ['train', 'val']) for (const p of list(join(datasets, '5-celebrity-faces', part))) for (const f of list(join(datasets, '5-celebrity-faces', part, p))) out.push({ file: join('5-celebrity-faces', part, p, f), dataset: 'celeb', person: p });
  return out;
}

/**
 * Every photo's faces (from `cache` when it exists, written there when computed). A photo that
 * cannot be decoded is an error; a cache made for another backbone or other photos is one too.
 */
export async function datasetFaces(datasets: string, opts: { backbone?: string; cache?: string; log?: (line: string) => void } = {}): Promise<DatasetFaces> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const backboneArg = opts.backbone ?? DEFAULT_BACKBONE;
  const photos = datasetPhotos(datasets);
  if (opts.cache && existsSync(`${opts.cache}.json`)) return readCache(opts.cache, backboneArg, photos, log);
  const { gpu, engine } = await openEngine({ backbone: opts.backbone });
  const describer = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING);
  const t = performance.now();
  const found = await describeFiles(describer, photos.map((p) => join(datasets, p.file)), { onProgress: (d, n) => log(`described ${d}/${n}`) });
  const out: DatasetFaces = {
    backbone: backboneRefOf(engine),
    dim: engine.outputDim,
    photos: found.map((r, i) => {
      if ('error' in r) throw new Error(r.error);
      return { ...photos[i], faces: r.faces.map((f) => ({ box: f.box, descriptor: f.descriptor })) };
    }),
  };
  describer.destroy();
  engine.destroy();
  gpu.destroy();
  log(`${photos.length} photos described in ${((performance.now() - t) / 1000).toFixed(1)} s, ${out.photos.filter((p) => !p.faces.length).length} without a face`);
  if (opts.cache) await writeCache(opts.cache, backboneArg, out);
  return out;
}

async function writeCache(cache: string, backboneArg: string, d: DatasetFaces): Promise<void> {
  const rows = d.photos.flatMap((p) => p.faces.map((f) => f.descriptor));
  const bin = new Float32Array(rows.length * d.dim);
  rows.forEach((r, k) => bin.set(r, k * d.dim));
  const photos = d.photos.map((p) => ({ file: p.file, faces: p.faces.map((f) => f.box) }));
  await writeFileAtomic(`${cache}.bin`, new Uint8Array(bin.buffer));
  await writeFileAtomic(`${cache}.json`, JSON.stringify({ format: CACHE_FORMAT, backboneArg, backbone: d.backbone, dim: d.dim, photos }));
}

function readCache(cache: string, backboneArg: string, photos: DatasetPhoto[], log: (line: string) => void): DatasetFaces {
  const meta = JSON.parse(readFileSync(`${cache}.json`, 'utf8')) as { format?: string; backboneArg: string; backbone: BackboneRef; dim: number; photos: { file: string; faces: [number, number, number, number][] }[] };
  if (meta.format !== CACHE_FORMAT) throw new Error(`${cache}.json: not a cache of scripts/dataset-faces.ts ("${CACHE_FORMAT}"); delete it, or name another --cache`);
  if (meta.backboneArg !== backboneArg) throw new Error(`${cache}.json: faces described by backbone ${meta.backboneArg}, not ${backboneArg}`);
  if (meta.photos.length !== photos.length || meta.photos.some((p, i) => p.file !== photos[i].file)) throw new Error(`${cache}.json: made of other photos than the datasets hold now; delete it`);
  const bytes = readFileSync(`${cache}.bin`);
  const bin = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const faces = meta.photos.reduce((n, p) => n + p.faces.length, 0);
  if (bin.length !== faces * meta.dim) throw new Error(`${cache}.bin: ${bin.length} values, expected ${faces} faces x ${meta.dim}`);
  let at = 0;
  const out = photos.map((p, i) => ({
    ...p,
    faces: meta.photos[i].faces.map((box) => {
      at += meta.dim;
      return { box, descriptor: bin.slice(at - meta.dim, at) };
    }),
  }));
  log(`faces of ${photos.length} photos read from ${cache}.json (${faces} faces)`);
  return { backbone: meta.backbone, dim: meta.dim, photos: out };
}

if (process.argv[1] === import.meta.filename) {
  const [datasets, cache, backbone] = process.argv.slice(2);
  if (!datasets || !cache) throw new Error('usage: npx tsx scripts/dataset-faces.ts <datasets> <cache> [backbone]');
  const d = await datasetFaces(datasets, { cache, backbone });
  console.error(`${d.photos.reduce((n, p) => n + p.faces.length, 0)} faces in ${d.photos.length} photos; cache ${cache}.json + ${cache}.bin`);
  process.exit(0);
}
