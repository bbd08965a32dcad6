// Fetching one .tflite file for `weights convert <url>` / `weights install imagenet --from <url>`:
// into the download cache (download.ts: $FACEGPU_CACHE or ~/.cache/facegpu), named after the
// URL, written atomically, reused only while its sha256 still matches (and the expected one,
// when given). file:// URLs and plain paths are read in place.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir } from './download.ts';
import { writeFileAtomic } from './store.ts';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export async function fetchTfliteFile(url: string, opts: { sha256?: string; cacheDir?: string; fetchImpl?: typeof fetch } = {}): Promise<string> {
  if (url.startsWith('file:')) return fileURLToPath(url);
  if (!/^https?:\/\//i.test(url)) return url;
  const dir = join(opts.cacheDir ?? defaultCacheDir(), sha(url).slice(0, 16));
  const file = join(dir, 'model.tflite');
  const sumFile = join(dir, 'model.tflite.sha256');
  if (existsSync(file) && existsSync(sumFile)) {
    const want = (await readFile(sumFile, 'utf8')).trim();
    const have = sha(new Uint8Array(await readFile(file)));
    if (have === want && (!opts.sha256 || have === opts.sha256)) return file;
  }
  let res: Response;
  try {
    res = await (opts.fetchImpl ?? fetch)(url);
  } catch (err) {
    throw new Error(`${url}: download failed (${(err as Error).message}); are you online?`);
  }
  if (!res.ok) throw new Error(`${url}: download failed with HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const got = sha(bytes);
  if (opts.sha256 && got !== opts.sha256) throw new Error(`${url}: sha256 ${got} does not match the expected ${opts.sha256}`);
  await writeFileAtomic(file, bytes);
  await writeFileAtomic(sumFile, got + '\n');
  return file;
}
