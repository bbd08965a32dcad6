// Reading a TensorFlow.js model directory (model.json + binary shards), for both graph and
// layers models: shards concatenated in manifest order, every weight dequantized to float32.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { float16ToFloat32 } from './half.ts';
import { fsReason } from '../fs-reason.ts';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

export interface TfjsArtifacts {
  file: string;
  json: any;
  /** sha256 over model.json and every shard, in order. */
  sha256: string;
  weights: Map<string, NamedTensor>;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, float16: 2, uint16: 2, uint8: 1, bool: 1 };

export async function readTfjsModel(file: string): Promise<TfjsArtifacts> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the model file (${fsReason(err)})`);
  }
  let json: any;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${file}: not a TensorFlow.js model.json (needs modelTopology and weightsManifest)`);
  }
  const hash = createHash('sha256').update(text);
  const weights = new Map<string, NamedTensor>();
  const dir = dirname(file);
  for (const group of json.weightsManifest as { paths: string[]; weights: ManifestWeight[] }[]) {
    const parts: Uint8Array[] = [];
    for (const p of group.paths) {
      const shard = join(dir, p);
      try {
        await stat(shard);
      } catch {
        throw new Error(`${shard}: weight shard listed in ${file} is missing`);
      }
      const bytes = new Uint8Array(await readFile(shard));
      hash.update(bytes);
      parts.push(bytes);
    }
    const total = parts.reduce((s, b) => s + b.length, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const b of parts) {
      all.set(b, at);
      at += b.length;
    }
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const stored = w.quantization?.dtype ?? w.dtype;
      const width = BYTES[stored];
      if (!width) throw new Error(`${file}: weight ${w.name} has unsupported dtype ${stored}`);
      const need = count * width;
      if (offset + need > total) {
        throw new Error(
          `${join(dir, group.paths[group.paths.length - 1])}: truncated shard: weight ${w.name} needs bytes ${offset}..${offset + need} but the shards of its group hold ${total}`,
        );
      }
      weights.set(w.name, { shape: w.shape, data: decode(all, offset, count, stored, w) });
      offset += need;
    }
  }
  return { file, json, sha256: hash.digest('hex'), weights };
}

function decode(buf: Uint8Array, offset: number, count: number, stored: string, w: ManifestWeight): Float32Array {
  // Copy to an aligned buffer first: shard offsets need not be multiples of 4.
  const bytes = buf.slice(offset, offset + count * BYTES[stored]);
  const out = new Float32Array(count);
  if (stored === 'float32') return new Float32Array(bytes.buffer);
  if (stored === 'int32') {
    const v = new Int32Array(bytes.buffer);
    for (let i = 0; i < count; i++) out[i] = v[i];
    return out;
  }
  if (stored === 'float16') {
    const v = new Uint16Array(bytes.buffer);
    for (let i = 0; i < count; i++) out[i] = float16ToFloat32(v[i]);
    return out;
  }
  if (stored === 'uint8' || stored === 'uint16') {
    const q = w.quantization;
    if (!q || q.scale === undefined || q.min === undefined) throw new Error(`weight ${w.name}: ${stored} quantization without scale/min`);
    const v = stored === 'uint8' ? bytes : new Uint16Array(bytes.buffer);
    for (let i = 0; i < count; i++) out[i] = v[i] * q.scale + q.min;
    return out;
  }
  throw new Error(`weight ${w.name}: unsupported dtype ${stored}`);
}

export function getWeight(a: TfjsArtifacts, name: string, expect?: number[]): NamedTensor {
  const t = a.weights.get(name);
  if (!t) throw new Error(`${a.file}: weight ${name} is missing from the weights manifest`);
  if (expect && (expect.length !== t.shape.length || expect.some((d, i) => d !== t.shape[i]))) {
    throw new Error(`${a.file}: weight ${name} has shape [${t.shape}], expected [${expect}]`);
  }
  return t;
}
