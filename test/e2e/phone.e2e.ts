// The phone-layout check alone (npx tsx test/e2e/phone.e2e.ts, about a minute): builds and
// serves the page, runs phone.ts's check in headless Chromium and exits non-zero on a failure.
// npm run test:e2e runs the same check on its own server, among the others.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser } from './chromium.ts';
import { checkPhoneLayout } from './phone.ts';
import { DATASET, runStandalone } from './standalone.ts';

const photos = (folder: string) => readdirSync(join(DATASET, 'train', folder)).sort().slice(0, 3).map((f) => join(DATASET, 'train', folder, f));

await runStandalone('phone', async (ctx) => {
  const browser = await launchBrowser();
  try {
    await checkPhoneLayout(browser, {
      ...ctx,
      people: [
        { name: 'Maria Fernanda de los Ángeles Rodríguez-Villanueva', photos: photos('ben_afflek') },
        { name: 'Wolfeschlegelsteinhausenbergerdorff', photos: photos('mindy_kaling') },
      ],
    });
  } finally {
    await browser.close();
  }
});
