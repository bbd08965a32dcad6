#!/usr/bin/env node
// The facegpu command. Installed from the package, it runs the compiled dist/cli/main.js with
// plain node. In a source checkout (src/ beside it and tsx, a dev dependency, installed) it
// runs the TypeScript sources through tsx instead, so no build is needed while developing;
// FACEGPU_USE_DIST=1 makes a checkout run its dist/ too (`npm run build` first).
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node >= 22.1 keeps the compiled code of the big dependencies (tfjs, sharp) between runs.
module.enableCompileCache?.();

const sources = new URL('../src/cli/main.ts', import.meta.url);
let register = null;
if (existsSync(sources) && process.env.FACEGPU_USE_DIST !== '1') {
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    // tsx not installed (npm ci --omit=dev): the compiled CLI, if built
  }
}
if (register) {
  register();
  await import(sources.href);
} else if (existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
  await import('../dist/cli/main.js');
} else {
  console.error('facegpu: dist/cli/main.js is missing: run `npm run build` (or `npm install` for tsx, to run the sources)');
  process.exitCode = 1;
}
