// Index a batch of photo files (Node): each file is read once, hashed and decoded from the
// same bytes (so the stored hash is of what was embedded, even if the file changed since the
// scan), every face found and described on the GPU. Used by a local index run and by a queue
// worker alike. A file that cannot be read or decoded comes back with its error.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { describeFailure, type FaceDescriber } from '../faces/describe.ts';
import { decodeImageRaw } from '../image/decode.ts';
import type { RgbImage } from '../image/rgb.ts';
import type { PhotoFaces, PhotoFile } from './photo-faces.ts';
import { fsReason } from '../fs-reason.ts';

type Read = { file: PhotoFile; image: RgbImage } | { file: PhotoFile; error: string };

async function readPhoto(path: string): Promise<Read> {
  let bytes: Buffer;
  let st;
  try {
    st = await stat(path);
    bytes = await readFile(path);
  } catch (err) {
    return { file: { path, size: 0, mtimeMs: 0, sha256: '' }, error: `${path}: cannot be read (${fsReason(err)})` };
  }
  const file = { path, size: bytes.length, mtimeMs: st.mtimeMs, sha256: createHash('sha256').update(bytes).digest('hex') };
  try {
    return { file, image: await decodeImageRaw(bytes, path) };
  } catch (err) {
    return { file, error: (err as Error).message };
  }
}

/** Every face of every photo of the batch, in order; `decodeMs` counts reading and decoding. */
export async function embedPhotos(describer: FaceDescriber, paths: readonly string[], times?: { decodeMs: number }): Promise<PhotoFaces[]> {
  const t = performance.now();
  const read = await Promise.all(paths.map(readPhoto));
  if (times) times.decodeMs += performance.now() - t;
  const ok = read.filter((r): r is { file: PhotoFile; image: RgbImage } => 'image' in r);
  const found = ok.length ? await describer.describeEach(ok.map((r) => r.image)) : [];
  let k = 0;
  return read.map((r): PhotoFaces => {
    if ('error' in r) return { ...r.file, error: r.error };
    const faces = found[k++];
    // Stored as a photo that failed (its error kept), as one not decoded.
    if (faces instanceof Error) return { ...r.file, error: describeFailure(r.file.path, faces) };
    return { ...r.file, width: r.image.width, height: r.image.height, faces: faces.map((f) => ({ box: f.box, score: f.score, descriptor: f.descriptor })) };
  });
}
