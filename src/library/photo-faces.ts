// What indexing one photo yields: the file as it was read (path, size, modification time,
// content hash) and every face found in it (box, detector score, the backbone's raw
// descriptor), or why it could not be read. The same record comes out of a local run and
// out of a worker (through the job queue, as JSON: see toWire/fromWire). Platform-neutral.
import type { Box } from '../gallery/gallery-format.ts';

/** A file as the indexer saw it; size and mtime decide "unchanged" cheaply, the hash decides "changed". */
export interface PhotoFile {
  /** Absolute path: workers on other machines open the same path. */
  path: string;
  size: number;
  mtimeMs: number;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
}

export interface IndexedFace {
  box: Box;
  score: number;
  /** The backbone's raw descriptor (the gallery's normalisation is applied when searching). */
  descriptor: Float32Array;
}

export type PhotoFaces = PhotoFile & ({ width: number; height: number; faces: IndexedFace[] } | { error: string });

/** A batch of photos to index: what the owner puts on the queue (and hands a local run). */
export interface PhotoBatch {
  files: PhotoFile[];
}

/** JSON-safe form (descriptors as base64 of float32 little-endian). */
export type WirePhotoFaces = PhotoFile & ({ width: number; height: number; faces: { box: Box; score: number; descriptor: string }[] } | { error: string });

function f32ToBase64(x: Float32Array): string {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function base64ToF32(s: string, dim: number, where: string): Float32Array {
  const bin = atob(s);
  if (bin.length !== dim * 4) throw new Error(`${where}: a descriptor of ${bin.length} bytes, expected ${dim} float32`);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

export function toWire(p: PhotoFaces): WirePhotoFaces {
  if ('error' in p) return p;
  return { ...p, faces: p.faces.map((f) => ({ box: f.box, score: f.score, descriptor: f32ToBase64(f.descriptor) })) };
}

/** Read back a worker's answer, checked: a malformed one is an error naming the photo. */
export function fromWire(w: WirePhotoFaces, dim: number): PhotoFaces {
  const where = `worker result for ${w?.path}`;
  if (!w || typeof w.path !== 'string' || !Number.isFinite(w.size) || !Number.isFinite(w.mtimeMs) || typeof w.sha256 !== 'string') throw new Error(`${where}: not a photo record`);
  if ('error' in w) return { path: w.path, size: w.size, mtimeMs: w.mtimeMs, sha256: w.sha256, error: String(w.error) };
  if (!Array.isArray(w.faces)) throw new Error(`${where}: no faces list`);
  return {
    path: w.path,
    size: w.size,
    mtimeMs: w.mtimeMs,
    sha256: w.sha256,
    width: w.width,
    height: w.height,
    faces: w.faces.map((f) => ({ box: f.box, score: f.score, descriptor: base64ToF32(f.descriptor, dim, where) })),
  };
}
