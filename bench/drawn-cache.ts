// Drawn faces kept on disk between benchmark runs: drawing a million 1024-d descriptors takes
// minutes on two busy cores (and 4 GB), and several index choices are measured on the same
// ones. A file per model, seed and size (the model file's hash in the name); written under a
// temporary name and renamed, so a killed run leaves no half file. Not the index's figures:
// the benchmark times drawing separately.
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export interface Drawn {
  vectors: Float32Array;
  person: Int32Array;
  identities: number;
  queries: Float32Array;
  queryPerson: Int32Array;
}

export function drawnCacheFile(dir: string, modelText: string, seed: number, faces: number, queries: number): string {
  const hash = createHash('sha256').update(modelText).digest('hex').slice(0, 12);
  return join(dir, `faces-${hash}-seed${seed}-${faces}-q${queries}.bin`);
}

const parts = (d: Drawn) => [d.vectors, d.person, d.queries, d.queryPerson, Int32Array.of(d.identities)];

function io(fd: number, a: Float32Array | Int32Array, at: number, write: boolean): number {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const step = 1 << 28;
  for (let o = 0; o < bytes.length; ) {
    const n = write ? writeSync(fd, bytes, o, Math.min(step, bytes.length - o), at + o) : readSync(fd, bytes, o, Math.min(step, bytes.length - o), at + o);
    if (n <= 0) throw new Error('short read of the drawn-faces cache');
    o += n;
  }
  return at + bytes.length;
}

export function writeDrawn(file: string, d: Drawn): void {
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    let at = 0;
    for (const a of parts(d)) at = io(fd, a, at, true);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** The drawn faces of that file, or null when there is none yet. */
export function readDrawn(file: string, dim: number, faces: number, queries: number): Drawn | null {
  if (!existsSync(file)) return null;
  const d: Drawn = { vectors: new Float32Array(faces * dim), person: new Int32Array(faces), identities: 0, queries: new Float32Array(queries * dim), queryPerson: new Int32Array(queries) };
  const last = new Int32Array(1);
  const fd = openSync(file, 'r');
  try {
    let at = 0;
    for (const a of [d.vectors, d.person, d.queries, d.queryPerson, last]) at = io(fd, a, at, false);
  } finally {
    closeSync(fd);
  }
  d.identities = last[0];
  return d;
}
