// The Benchmark tab's tuning alone (npx tsx test/e2e/tune.e2e.ts, a few minutes): builds and
// serves the page, runs tune.ts's check in headless Chromium and exits non-zero on a failure.
// FACEGPU_E2E_NO_BUILD=1 serves the last build. npm run test:e2e runs the same check on its
// own server, among the others.
import { checkTuning } from './tune.ts';
import { runStandalone } from './standalone.ts';

await runStandalone('tune', (ctx) => checkTuning(ctx), { build: process.env.FACEGPU_E2E_NO_BUILD !== '1' });
