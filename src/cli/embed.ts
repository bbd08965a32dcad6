// facegpu embed <image|folder>... : descriptors of images from the backbone. Unreadable files are
// named on stderr and the others answered; the exit status is then 2 (as predict's), also when
// none could be read.
import { open } from 'node:fs/promises';
import { decodeImageRGB, ImageDecodeError, readError, readImageFile, refusedFormat } from '../image/decode.ts';
import { openEngine } from '../open-engine-node.ts';
import { countOption } from './number-options.ts';
import { expandImages } from './predict.ts';
import { noneRead, oneLine, withoutFile } from './wording.ts';

export interface EmbedOptions {
  backbone?: string;
  json?: boolean;
  adapter?: string;
  batchSize?: string;
}

type EmbedResult = { file: string; embedding: number[] } | { file: string; error: string };

export async function embedCommand(paths: string[], opts: EmbedOptions): Promise<void> {
  const batch = countOption('--batch-size', opts.batchSize ?? '16');
  // Folders walked as predict and identify walk them (finding nothing is an error naming the
  // files left out); a missing file is answered in its place.
  const files = await expandImages(paths, { keepUnreadable: true });
  const results: (EmbedResult | null)[] = files.map(() => null);
  const fail = async (i: number, err: unknown) => {
    if ((err as NodeJS.ErrnoException).code && !(err instanceof ImageDecodeError)) err = await readError(files[i], err);
    const message = err instanceof ImageDecodeError ? err.message : `${files[i]}: ${(err as Error).message}`;
    results[i] = { file: files[i], error: withoutFile(message, files[i]) };
    console.error(`facegpu: warning: skipped ${message}`);
  };
  // Files that cannot be read, or are refused by their first bytes (vector drawings),
  // are told before the GPU starts; when none is left, nothing starts.
  await Promise.all(
    files.map(async (f, i) => {
      try {
        const refused = refusedFormat(await readHead(f));
        if (refused) throw new ImageDecodeError(f, refused);
      } catch (err) {
        await fail(i, err);
      }
    }),
  );
  const todo = files.map((_, i) => i).filter((i) => results[i] === null);
  if (!todo.length) return answerNone(files, results as EmbedResult[], opts.json);
  const { gpu, engine } = await openEngine({ backbone: opts.backbone, adapter: opts.adapter });
  console.error(`facegpu: ${engine.manifest.id} backbone on ${gpu.adapter.id} (${gpu.adapter.description || gpu.adapter.vendor})`);
  try {
    const size = engine.inputSize;
    const per = size * size * 3;
    for (let at = 0; at < todo.length; at += batch) {
      const chunk = todo.slice(at, at + batch);
      const decoded = await Promise.all(
        chunk.map((i) =>
          readImageFile(files[i])
            .then((buf) => decodeImageRGB(buf, size, files[i]))
            .then((px) => ({ i, px }), async (err: unknown) => (await fail(i, err), null)),
        ),
      );
      const ok = decoded.filter((d): d is { i: number; px: Uint8Array } => d !== null);
      if (!ok.length) continue;
      const pixels = new Uint8Array(ok.length * per);
      ok.forEach((d, k) => pixels.set(d.px, k * per));
      const emb = await engine.embed(pixels, ok.length);
      ok.forEach((d, k) => (results[d.i] = { file: files[d.i], embedding: Array.from(emb.subarray(k * engine.outputDim, (k + 1) * engine.outputDim)) }));
    }
    const good = results.filter((r): r is { file: string; embedding: number[] } => r !== null && 'embedding' in r);
    if (!good.length) return answerNone(files, results as EmbedResult[], opts.json);
    if (opts.json) process.stdout.write(JSON.stringify(results) + '\n');
    else {
      for (const r of good) {
        const norm = Math.hypot(...r.embedding);
        console.log(`${oneLine(r.file)}: ${r.embedding.length}-d, L2 norm ${norm.toFixed(4)}, first [${r.embedding.slice(0, 4).map((v) => v.toFixed(4)).join(', ')}, ...]`);
      }
    }
    if (good.length < files.length) process.exitCode = 2;
  } finally {
    engine.destroy();
    gpu.destroy();
  }
}

/**
 * No file could be read: each was named on stderr as it failed; the JSON array still answers
 * every file in its place, and the exit status is 2, as identify's (some files unreadable).
 */
function answerNone(files: readonly string[], results: EmbedResult[], json?: boolean): void {
  if (json) process.stdout.write(JSON.stringify(results) + '\n');
  console.error(`facegpu: ${noneRead(files, 'embedded')}`);
  process.exitCode = 2;
}

/** The first 4 KiB of a file (enough to recognise what it is). */
async function readHead(file: string): Promise<Uint8Array> {
  const h = await open(file, 'r');
  try {
    const buf = new Uint8Array(4096);
    const { bytesRead } = await h.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}
