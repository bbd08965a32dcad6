// Builds the demo page and serves the build on 127.0.0.1 (vite preview) for the browser test.
import { resolve } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';

export const ROOT = resolve(import.meta.dirname, '../..');

export async function buildAndServe(opts: { build?: boolean } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const configFile = resolve(ROOT, 'vite.config.ts');
  if (opts.build !== false) await build({ configFile, logLevel: 'warn' });
  const server: PreviewServer = await preview({ configFile, preview: { host: '127.0.0.1', port: 4180, strictPort: false, open: false }, logLevel: 'warn' });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report its address');
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        if (!server.httpServer.listening) return r();
        server.httpServer.close(() => r());
        (server.httpServer as import('node:http').Server).closeAllConnections?.(); // the browser's keep-alive connections
      }),
  };
}
