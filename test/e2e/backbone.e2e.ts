// The training tab's backbone picker alone (npx tsx test/e2e/backbone.e2e.ts, a few minutes):
// builds and serves the page, runs backbone.ts's check in headless Chromium and exits non-zero
// on a failure. npm run test:e2e runs the same check on its own server, among the others.
import { checkBackbonePicker } from './backbone.ts';
import { runStandalone } from './standalone.ts';

await runStandalone('backbone', (ctx) => checkBackbonePicker(ctx), { build: process.env.FACEGPU_E2E_NO_BUILD !== '1' });
