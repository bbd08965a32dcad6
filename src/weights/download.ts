// Fetching a tfjs model (model.json + every shard it lists) for users who are online, into a
// cache folder, with checksums. Each file is written atomically; a cached copy is used only if
// its checksum still matches. file:// URLs and plain paths work too (for tests and mirrors).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from './store.ts';
import { fsReason } from '../fs-reason.ts';

export interface DownloadOptions {
  /** Folder for cached models; default $FACEGPU_CACHE or ~/.cache/facegpu. */
  cacheDir?: string;
  /** Expected sha256 of model.json; the download fails if it differs. */
  sha256?: string;
  /** Called with bytes done / total (total 0 when unknown). */
  onProgress?: (done: number, total: number, file: string) => void;
  fetchImpl?: typeof fetch;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function defaultCacheDir(): string {
  return process.env.FACEGPU_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'facegpu');
}

async function getBytes(url: string, f: typeof fetch, onProgress?: DownloadOptions['onProgress']): Promise<Uint8Array> {
  if (url.startsWith('file:') || !/^[a-z]+:/i.test(url)) {
    const path = url.startsWith('file:') ? fileURLToPath(url) : url;
    try {
      return new Uint8Array(await readFile(path));
    } catch (err) {
      throw new Error(`${url}: cannot read (${fsReason(err)})`);
    }
  }
  let res: Response;
  try {
    res = await f(url);
  } catch (err) {
    throw new Error(`${url}: download failed (${(err as Error).message}); are you online?`);
  }
  if (!res.ok || !res.body) throw new Error(`${url}: download failed with HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  const parts: Uint8Array[] = [];
  let done = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    parts.push(chunk);
    done += chunk.length;
    onProgress?.(done, total, url);
  }
  if (total && done !== total) throw new Error(`${url}: download truncated at ${done} of ${total} bytes`);
  const out = new Uint8Array(done);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Download (or reuse from the cache) a tfjs model.json and its shards; returns the local
 * model.json path. The cache folder is named after the sha256 of the URL; a manifest of the
 * files' checksums (checksums.json) is written last, so a partial download is never reused.
 */
export async function downloadTfjsModel(url: string, opts: DownloadOptions = {}): Promise<string> {
  const f = opts.fetchImpl ?? fetch;
  const dir = join(opts.cacheDir ?? defaultCacheDir(), sha(new TextEncoder().encode(url)).slice(0, 16));
  const checksumsFile = join(dir, 'checksums.json');
  if (existsSync(checksumsFile)) {
    const sums: Record<string, string> = JSON.parse(await readFile(checksumsFile, 'utf8'));
    let ok = !opts.sha256 || sums['model.json'] === opts.sha256;
    for (const [name, want] of Object.entries(sums)) {
      if (!ok) break;
      try {
        ok = sha(new Uint8Array(await readFile(join(dir, name)))) === want;
      } catch {
        ok = false;
      }
    }
    if (ok) return join(dir, 'model.json');
  }
  await mkdir(dir, { recursive: true });
  const json = await getBytes(url, f, opts.onProgress);
  const jsonSum = sha(json);
  if (opts.sha256 && jsonSum !== opts.sha256) throw new Error(`${url}: sha256 ${jsonSum} does not match the expected ${opts.sha256}`);
  let model: any;
  try {
    model = JSON.parse(new TextDecoder().decode(json));
  } catch (err) {
    throw new Error(`${url}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(model?.weightsManifest)) throw new Error(`${url}: not a TensorFlow.js model.json (no weightsManifest)`);
  const sums: Record<string, string> = { 'model.json': jsonSum };
  const base = url.slice(0, url.lastIndexOf('/') + 1);
  for (const group of model.weightsManifest as { paths: string[] }[]) {
    for (const p of group.paths) {
      if (p.includes('..') || p.startsWith('/')) throw new Error(`${url}: shard path "${p}" leaves the model folder`);
      const bytes = await getBytes(base + p, f, opts.onProgress);
      await writeFileAtomic(join(dir, p), bytes);
      sums[p] = sha(bytes);
    }
  }
  await writeFileAtomic(join(dir, 'model.json'), json);
  await writeFileAtomic(checksumsFile, JSON.stringify(sums, null, 1));
  return join(dir, 'model.json');
}
