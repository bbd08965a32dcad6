// The Identify tab's check alone (npx tsx test/e2e/identify.e2e.ts, a few minutes): builds and
// serves the page, runs identify.ts's check in headless Chromium (with Node's engine for the
// downloaded gallery) and exits non-zero on a failure. npm run test:e2e runs the same check
// on its own server, among the others.
import { openEngine } from '../../src/node.ts';
import { checkIdentify } from './identify.ts';
import { DATASET, runStandalone } from './standalone.ts';

const { gpu, engine } = await openEngine();
await runStandalone(
  'identify',
  async (ctx) => {
    try {
      await checkIdentify({ ...ctx, dataset: DATASET, node: { gpu, engine } });
    } finally {
      engine.destroy();
      gpu.destroy();
    }
  },
  { build: process.env.FACEGPU_E2E_NO_BUILD !== '1' },
);
