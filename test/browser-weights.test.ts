// The browser's backbone loader (src/browser/weights.ts) against a local HTTP server: it runs
// in Node too (fetch, crypto.subtle), without the Cache API.
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBackbone, sha256Hex, type WeightsProgress } from '../src/browser/weights.ts';
import { resolveBackboneDir } from '../src/backbones.ts';
import { sha256 } from '../src/weights/store.ts';

const dir = resolveBackboneDir('face');
const manifest = readFileSync(join(dir, 'manifest.json'));
const weights = readFileSync(join(dir, 'weights.bin'));
const tampered = Buffer.from(weights);
tampered[tampered.length >> 1] ^= 0xff;

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const [, folder, file] = /^\/(\w+)\/(.*)$/.exec(req.url ?? '') ?? [];
    const body = file === 'manifest.json' && folder !== 'missing' ? manifest : file === 'weights.bin' ? (folder === 'bad' ? tampered : weights) : null;
    if (!body) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('fetchBackbone', () => {
  it('loads manifest and weights, reports download progress, verifies the hash', async () => {
    const seen: WeightsProgress[] = [];
    const b = await fetchBackbone(`${base}/good/`, { cache: false, onProgress: (p) => seen.push(p) });
    expect(b.manifest.id).toBe('face');
    expect(b.fromCache).toBe(false);
    expect(Buffer.from(b.data).equals(weights)).toBe(true); // (toEqual on 12 MB of bytes takes minutes)
    expect(await sha256Hex(b.data)).toBe(sha256(weights));
    const downloads = seen.filter((p) => p.phase === 'download');
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.at(-1)).toMatchObject({ loaded: weights.length, total: weights.length });
    expect(seen.at(-1)?.phase).toBe('verify');
  });

  it('refuses weights whose sha256 differs from the manifest, naming the URL', async () => {
    await expect(fetchBackbone(`${base}/bad`, { cache: false })).rejects.toThrow(/\/bad\/weights\.bin: sha256 [0-9a-f]+ does not match/);
  });

  it('says which URL is missing', async () => {
    await expect(fetchBackbone(`${base}/missing/`, { cache: false })).rejects.toThrow(/\/missing\/manifest\.json: HTTP 404/);
  });
});
