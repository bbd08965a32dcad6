// Backbones for the browser: manifest.json + weights.bin fetched from a URL (the page's own
// server, never a CDN), with download progress, a sha256 check against the manifest, and a
// copy kept in the Cache API so that the next visit (or an offline one) loads from disk.
import { checkWeightsData, validateManifest, type Backbone } from '../weights/format.ts';

/** Cache API bucket; bump the suffix if the way entries are stored ever changes. */
export const WEIGHTS_CACHE = 'facegpu-weights-v1';

export interface WeightsProgress {
  /** manifest: reading manifest.json; download: fetching weights.bin; cache: read from the cache; verify: hashing. */
  phase: 'manifest' | 'download' | 'cache' | 'verify';
  loaded: number;
  total: number;
}

export interface FetchBackboneOptions {
  onProgress?: (p: WeightsProgress) => void;
  /** Keep and reuse a copy in the Cache API (default true; needs a secure context). */
  cache?: boolean;
  signal?: AbortSignal;
}

export interface FetchedBackbone extends Backbone {
  /** Whether weights.bin came from the Cache API instead of the network. */
  fromCache: boolean;
}

/** The SHA-256 of some bytes as hex (Web Crypto). */
export async function sha256Hex(data: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Read a response body to the end, reporting bytes as they arrive. */
async function readWithProgress(res: Response, report: (loaded: number) => void): Promise<ArrayBuffer> {
  if (!res.body) return res.arrayBuffer();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    report(loaded);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out.buffer;
}

async function openCache(enabled: boolean): Promise<Cache | null> {
  if (!enabled || typeof caches === 'undefined') return null; // no Cache API outside secure contexts
  try {
    return await caches.open(WEIGHTS_CACHE);
  } catch {
    return null; // e.g. storage disabled in private windows: load from the network every time
  }
}

/**
 * Fetch a backbone converted by `facegpu weights` from `baseUrl` (a folder URL holding
 * manifest.json and weights.bin, e.g. "/weights/face/"). Errors name the URL and the problem.
 */
export async function fetchBackbone(baseUrl: string | URL, opts: FetchBackboneOptions = {}): Promise<FetchedBackbone> {
  const base = new URL(String(baseUrl).endsWith('/') ? String(baseUrl) : `${baseUrl}/`, globalThis.location?.href);
  const manifestUrl = new URL('manifest.json', base).href;
  opts.onProgress?.({ phase: 'manifest', loaded: 0, total: 1 });

  let manifestRes: Response;
  try {
    // Revalidate the small manifest every time; its sha256 decides whether the cached weights still apply.
    manifestRes = await fetch(manifestUrl, { cache: 'no-cache', signal: opts.signal });
  } catch (err) {
    throw new Error(`${manifestUrl}: cannot fetch the backbone manifest (${(err as Error).message})`);
  }
  if (!manifestRes.ok) throw new Error(`${manifestUrl}: HTTP ${manifestRes.status}; is the backbone converted (ensureDefaultBackbone, or convertTfjsModel and saveBackbone) and its folder served there?`);
  let manifest: unknown;
  try {
    manifest = await manifestRes.json();
  } catch (err) {
    throw new Error(`${manifestUrl}: not valid JSON (${(err as Error).message})`);
  }
  validateManifest(manifest, manifestUrl);
  const m = manifest;
  const weightsUrl = new URL(m.weightsFile, base).href;
  // The cache key carries the hash, so a re-converted backbone never reads stale weights.
  const cacheKey = `${weightsUrl}?sha256=${m.weightsSha256}`;
  const cache = await openCache(opts.cache !== false);

  const cached = await cache?.match(cacheKey);
  if (cached) {
    const data = await cached.arrayBuffer();
    opts.onProgress?.({ phase: 'cache', loaded: data.byteLength, total: m.weightsBytes });
    if (data.byteLength === m.weightsBytes && (await sha256Hex(data)) === m.weightsSha256) {
      return { manifest: m, data, fromCache: true };
    }
    await cache!.delete(cacheKey); // damaged entry: fetch again below
  }

  let res: Response;
  try {
    res = await fetch(weightsUrl, { signal: opts.signal });
  } catch (err) {
    throw new Error(`${weightsUrl}: cannot fetch the backbone weights (${(err as Error).message})`);
  }
  if (!res.ok) throw new Error(`${weightsUrl}: HTTP ${res.status}`);
  const total = m.weightsBytes;
  const data = await readWithProgress(res, (loaded) => opts.onProgress?.({ phase: 'download', loaded, total }));
  checkWeightsData(m, data, weightsUrl);
  opts.onProgress?.({ phase: 'verify', loaded: total, total });
  const hash = await sha256Hex(data);
  if (hash !== m.weightsSha256) throw new Error(`${weightsUrl}: sha256 ${hash} does not match the manifest's ${m.weightsSha256} (corrupt or replaced file)`);

  if (cache) {
    // Drop copies of older conversions of the same file, then keep this one.
    for (const req of await cache.keys()) if (req.url.startsWith(`${weightsUrl}?`) && req.url !== cacheKey) await cache.delete(req);
    await cache.put(cacheKey, new Response(data, { headers: { 'content-type': 'application/octet-stream' } })).catch(() => undefined);
  }
  return { manifest: m, data, fromCache: false };
}
