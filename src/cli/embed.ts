// facegpu embed <image>... : descriptors of images from the backbone.
import { loadImageRGB } from '../image/decode.ts';
import { openEngine } from '../node.ts';

export interface EmbedOptions {
  backbone?: string;
  json?: boolean;
  adapter?: string;
  batchSize?: string;
}

export async function embedCommand(files: string[], opts: EmbedOptions): Promise<void> {
  const { gpu, engine } = await openEngine({ backbone: opts.backbone, adapter: opts.adapter });
  console.error(`facegpu: ${engine.manifest.id} backbone on ${gpu.adapter.id} (${gpu.adapter.description || gpu.adapter.vendor})`);
  try {
    const size = engine.inputSize;
    const per = size * size * 3;
    const batch = Math.max(1, Number(opts.batchSize ?? 16));
    const results: { file: string; embedding: number[] }[] = [];
    for (let at = 0; at < files.length; at += batch) {
      const chunk = files.slice(at, at + batch);
      const pixels = new Uint8Array(chunk.length * per);
      // Decode all first: an unreadable image fails the command before any GPU work.
      const decoded = await Promise.all(chunk.map((f) => loadImageRGB(f, size)));
      decoded.forEach((d, i) => pixels.set(d, i * per));
      const emb = await engine.embed(pixels, chunk.length);
      chunk.forEach((file, i) => results.push({ file, embedding: Array.from(emb.subarray(i * engine.outputDim, (i + 1) * engine.outputDim)) }));
    }
    if (opts.json) process.stdout.write(JSON.stringify(results) + '\n');
    else {
      for (const r of results) {
        const norm = Math.hypot(...r.embedding);
        console.log(`${r.file}: ${r.embedding.length}-d, L2 norm ${norm.toFixed(4)}, first [${r.embedding.slice(0, 4).map((v) => v.toFixed(4)).join(', ')}, ...]`);
      }
    }
  } finally {
    engine.destroy();
    gpu.destroy();
  }
}
