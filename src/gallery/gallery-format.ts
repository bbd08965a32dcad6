// What a gallery is on disk, independent of where it is stored: gallery.json (everything but
// numbers in bulk), descriptors.bin (the normalised descriptors, float32 little-endian, one row
// per face in gallery.json's order), calibration.json (calibration-record.ts) and the index
// file (derived; named in gallery.json). Validation with one-line errors; platform-neutral.
import { checkNormalisation, type NormalisationRecord } from './normalise.ts';

export const GALLERY_FORMAT = 'facegpu-gallery';
export const GALLERY_VERSION = 1;
export const GALLERY_FILE = 'gallery.json';
export const DESCRIPTORS_FILE = 'descriptors.bin';
export const CALIBRATION_FILE = 'calibration.json';
export const indexFileName = (kind: string) => `index.${kind}`;
/**
 * Files of the gallery's photo library (src/library: its store and search index) start with
 * this: the gallery's own saves replace the folder whole, and carry these over unchanged.
 */
export const LIBRARY_FILES_PREFIX = 'library.';

export interface BackboneRef {
  id: string;
  /** sha256 of the backbone's weights (hex). */
  sha256: string;
}

/** [x, y, width, height] in the photo's pixels. */
export type Box = [number, number, number, number];

export interface FaceRecord {
  /** Unique in the gallery and never reused (also the face's row key). */
  id: number;
  person: string;
  /** The photo it was cut from, as the enrolling caller named it. */
  file: string;
  box: Box;
  /** The detector's confidence. */
  score: number;
  addedAt: string;
}

export interface PersonRecord {
  name: string;
  /** The person's key in the vector index; never reused. */
  key: number;
  /** Face ids, in the order they were added. */
  faces: number[];
}

export type JsonObject = { [key: string]: unknown };

export interface GalleryJson {
  format: typeof GALLERY_FORMAT;
  version: number;
  dim: number;
  backbone: BackboneRef;
  /** Detection and alignment settings (filled by the pipeline; opaque here). */
  preprocessing: JsonObject;
  normalisation: NormalisationRecord;
  /** The index the gallery was written with, and its file ('' when none was written). */
  index: { kind: string; file: string };
  people: PersonRecord[];
  /** Row i of descriptors.bin is faces[i]. */
  faces: FaceRecord[];
  nextFaceId: number;
  nextPersonKey: number;
  createdAt: string;
  updatedAt: string;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function validateGalleryJson(g: any, where: string): asserts g is GalleryJson {
  if (!g || typeof g !== 'object' || Array.isArray(g) || g.format !== GALLERY_FORMAT) {
    // What it is instead, in words: never "undefined" (another program's file, or null).
    const object = !!g && typeof g === 'object' && !Array.isArray(g);
    const what = !object ? `it holds ${g === null ? 'null' : Array.isArray(g) ? 'an array' : `a ${typeof g}`}` : g.format === undefined ? 'no "format" field' : `format ${JSON.stringify(g.format)}`;
    throw new Error(`${where}: not a facegpu gallery (${what})`);
  }
  if (g.version !== GALLERY_VERSION) throw new Error(`${where}: gallery format version ${g.version}, this facegpu reads ${GALLERY_VERSION}`);
  if (!isCount(g.dim) || g.dim === 0) throw new Error(`${where}: "dim" must be a positive integer`);
  if (!g.backbone || typeof g.backbone.id !== 'string' || typeof g.backbone.sha256 !== 'string') throw new Error(`${where}: "backbone" must give the backbone's id and sha256`);
  if (!g.preprocessing || typeof g.preprocessing !== 'object' || Array.isArray(g.preprocessing)) throw new Error(`${where}: "preprocessing" must be an object`);
  checkNormalisation(g.normalisation, g.dim, where);
  if (!g.index || typeof g.index.kind !== 'string' || typeof g.index.file !== 'string') throw new Error(`${where}: "index" must give its kind and file`);
  if (!Array.isArray(g.people) || !Array.isArray(g.faces)) throw new Error(`${where}: "people" and "faces" must be arrays`);
  if (!isCount(g.nextFaceId) || !isCount(g.nextPersonKey)) throw new Error(`${where}: "nextFaceId" and "nextPersonKey" must be counts`);
  const faceOf = new Map<number, FaceRecord>();
  g.faces.forEach((f: any, i: number) => {
    const bad = (why: string) => new Error(`${where}: face ${i}${isCount(f?.id) ? ` (id ${f.id})` : ''} ${why}`);
    if (!f || !isCount(f.id) || f.id >= g.nextFaceId) throw bad('has no valid "id"');
    if (faceOf.has(f.id)) throw bad('repeats an id');
    if (typeof f.person !== 'string' || typeof f.file !== 'string' || typeof f.addedAt !== 'string') throw bad('needs "person", "file" and "addedAt" strings');
    if (!Array.isArray(f.box) || f.box.length !== 4 || !f.box.every(Number.isFinite)) throw bad('needs "box" [x, y, width, height]');
    if (!Number.isFinite(f.score)) throw bad('needs a numeric "score"');
    faceOf.set(f.id, f);
  });
  const names = new Set<string>();
  const keys = new Set<number>();
  let listed = 0;
  for (const p of g.people) {
    if (!p || typeof p.name !== 'string' || !p.name) throw new Error(`${where}: a person has no name`);
    if (names.has(p.name)) throw new Error(`${where}: person "${p.name}" is listed twice`);
    if (!isCount(p.key) || p.key >= g.nextPersonKey || keys.has(p.key)) throw new Error(`${where}: person "${p.name}" has no valid, unique "key"`);
    if (!Array.isArray(p.faces) || p.faces.length === 0) throw new Error(`${where}: person "${p.name}" has no faces`);
    for (const id of p.faces) {
      if (faceOf.get(id)?.person !== p.name) throw new Error(`${where}: person "${p.name}" lists face ${id}, which is not one of theirs`);
    }
    names.add(p.name);
    keys.add(p.key);
    listed += p.faces.length;
  }
  if (listed !== g.faces.length) throw new Error(`${where}: the people list ${listed} faces, "faces" has ${g.faces.length}`);
}

/**
 * descriptors.bin read back as [faces, dim] float32 rows, checked: the size must match
 * gallery.json, and every row must be a unit vector (stored descriptors are normalised).
 */
export function descriptorsFromBytes(bytes: Uint8Array, faces: number, dim: number, where: string): Float32Array {
  const expected = faces * dim * 4;
  if (bytes.byteLength !== expected) {
    throw new Error(`${where}: ${bytes.byteLength} bytes, but gallery.json lists ${faces} faces of ${dim} float32 (${expected} bytes): ${bytes.byteLength < expected ? 'truncated' : 'from another gallery'}`);
  }
  // Copied: a Float32Array view needs a 4-byte aligned offset.
  const x = new Float32Array(bytes.slice().buffer);
  for (let i = 0; i < faces; i++) {
    let ss = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) ss += x[j] * x[j];
    if (!(Math.abs(ss - 1) < 1e-3)) throw new Error(`${where}: row ${i} is not a normalised descriptor (squared norm ${ss}): the file is damaged`);
  }
  return x;
}

export function descriptorsToBytes(x: Float32Array): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}
