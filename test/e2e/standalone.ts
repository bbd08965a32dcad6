// Running one of the e2e checks on its own (identify, phone, backbone, bench, tune): the page built and
// served, checks counted and printed, a summary line, the exit status. npm run test:e2e runs
// the same checks among the others, on its own server.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildAndServe, ROOT } from './serve.ts';
import type { PageCheckOptions } from './check.ts';

export const DATASET = resolve(ROOT, process.env.FACEGPU_E2E_DATASET ?? '../shared/datasets/5-celebrity-faces');
export const OUT = resolve(ROOT, 'test-output');

export type CheckContext = PageCheckOptions & { onConsoleError(text: string): void };

/** Serve the page, run `body` with a check context, print the summary and exit (1 on any failure). */
export async function runStandalone(name: string, body: (ctx: CheckContext) => Promise<void>, opts: { build?: boolean } = {}): Promise<never> {
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
  const failed: string[] = [];
  let count = 0;
  mkdirSync(OUT, { recursive: true });
  const server = await buildAndServe(opts);
  try {
    await body({
      url: server.url,
      out: OUT,
      check(check, ok, detail) {
        count++;
        if (!ok) failed.push(check);
        console.log(`${ok ? '✓' : '✗'} ${check}: ${detail}`);
      },
      log: (msg) => console.log(`[${name} ${elapsed()}] ${msg}`),
      onConsoleError: (text) => console.log(`page console error: ${text}`),
    });
  } catch (err) {
    count++;
    failed.push(`${name} check run`);
    console.log(`✗ ${name} check run: ${(err as Error).stack ?? err}`);
  } finally {
    await server.close();
  }
  console.log(`\n${name} (${elapsed()}): ${count - failed.length} passed, ${failed.length} failed`);
  process.exit(failed.length ? 1 : 0);
}
