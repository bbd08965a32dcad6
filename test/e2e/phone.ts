// The demo page on a phone: a 390x844 viewport at 3x with touch (an iPhone-size screen), in its
// own browser context. The page is used as on a desktop — two people with long names, a photo
// without a face under a long file name, a short training run, a prediction — and at every
// step, and on every tab, the layout is measured: nothing may be wider than the screen (no
// horizontal scroll), every visible button, heading, field, canvas and card must lie within
// the 390 px, and every control must be a touch target at least 44 px high. A full-page
// screenshot goes to <out>/e2e-phone.png. Used by run.e2e.ts (on its server) and by
// phone.e2e.ts (on its own, for quick before/after runs of layout work).
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import type { PageCheckOptions } from './check.ts';

export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true } as const;
/** Apple's and Material's minimum touch target (CSS px). */
const MIN_TARGET = 44;
/** What must lie within the screen's width. */
const MUST_FIT = 'button, .button, [role=tab], h1, h2, h3, input:not([type=hidden]), select, canvas, .card';
/** What a finger must be able to hit. */
const TARGETS = 'button, .button, [role=tab], select, input:not([type=file]):not([type=checkbox]):not([type=radio]):not([type=hidden])';

/** `out` also gets the no-face photo. */
export interface PhoneCheckOptions extends PageCheckOptions {
  /** Two people (long names on purpose) and their photos. */
  people: { name: string; photos: string[] }[];
  epochs?: number;
}

interface Measure {
  state: string;
  scrollWidth: number;
  clientWidth: number;
  /** Elements reaching past the screen's left or right edge. */
  outside: string[];
  /** Controls lower than MIN_TARGET. */
  small: string[];
}

async function describe(el: Awaited<ReturnType<Page['$']>>): Promise<string> {
  return el!.evaluate((e) => {
    const id = e.id ? `#${e.id}` : '';
    const cls = !id && typeof e.className === 'string' && e.className ? `.${e.className.trim().split(/\s+/).join('.')}` : '';
    const text = (e.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 28);
    return `${e.tagName.toLowerCase()}${id}${cls}${text ? ` "${text}"` : ''}`;
  });
}

async function measure(page: Page, state: string): Promise<Measure> {
  const width = PHONE.viewport.width;
  // Boxes are measured from the page's left edge (a tap may have scrolled a too-wide page sideways).
  const { scrollWidth, clientWidth } = await page.evaluate(() => {
    window.scrollTo(0, window.scrollY);
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth };
  });
  const outside: string[] = [];
  for (const el of await page.$$(MUST_FIT)) {
    if (!(await el.isVisible())) continue;
    const box = await el.boundingBox();
    if (!box) continue;
    if (box.x < 0 || box.x + box.width > width + 1) outside.push(`${await describe(el)} x ${box.x.toFixed(0)}..${(box.x + box.width).toFixed(0)}`);
  }
  const small: string[] = [];
  for (const el of await page.$$(TARGETS)) {
    if (!(await el.isVisible())) continue;
    const box = await el.boundingBox();
    if (box && box.height < MIN_TARGET - 0.5) small.push(`${await describe(el)} ${box.height.toFixed(0)} px`);
  }
  return { state, scrollWidth, clientWidth, outside, small };
}

export async function checkPhoneLayout(browser: Browser, o: PhoneCheckOptions): Promise<void> {
  const { check, log } = o;
  // A photo without a face, named as phones name photos: warnings quote the name in full.
  const noFace = join(o.out, 'IMG_20240612_183455_HDR_portrait-mode_no-face-in-this-photo-at-all.png');
  writeFileSync(noFace, await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer());

  const context = await browser.newContext({ ...PHONE, acceptDownloads: false });
  if (o.onRequest) context.on('request', (r) => o.onRequest!(r.url()));
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && o.onConsoleError?.(`[phone] ${m.text()}`));
  page.on('pageerror', (e) => o.onConsoleError?.(`[phone] ${e.message}`));
  const measures: Measure[] = [];
  const unreachable: string[] = [];
  try {
    await page.goto(o.url);
    measures.push(await measure(page, 'loading'));
    await page.waitForSelector('body[data-ready="true"], #fatal:not([hidden])', { timeout: 240_000 });
    const ready = !(await page.locator('#fatal').isVisible());
    measures.push(await measure(page, ready ? 'ready' : 'fatal error shown'));

    // Using the page is a check of its own: a layout that pushes a button off the screen fails
    // it (a tap cannot reach the button), and the layout is measured whatever happened here.
    if (ready) try {
      log('phone: two people, a short training run, a photo without a face');
      for (const p of o.people) {
        await page.fill('[data-testid=person-name]', p.name);
        await page.tap('[data-testid=add-person]', { timeout: 10_000 });
        await page.setInputFiles(`input[data-testid=person-files][data-person="${p.name}"]`, p.photos);
      }
      // A photo without a face among the first person's: the training warning quotes its name.
      await page.setInputFiles(`input[data-testid=person-files][data-person="${o.people[0].name}"]`, noFace);
      await page.waitForFunction(() => (window as any).facegpu.people.pending === 0, undefined, { timeout: 120_000, polling: 500 });
      measures.push(await measure(page, 'people added'));
      await page.fill('[data-testid=epochs]', String(o.epochs ?? 3));
      await page.tap('[data-testid=train]', { timeout: 10_000 });
      await page.waitForSelector('#train-status[data-state="trained"], #train-status[data-state="error"]', { timeout: 300_000 });
      const trained = (await page.locator('#train-status').getAttribute('data-state')) === 'trained';
      let predicted = '';
      if (trained) {
        await page.setInputFiles('[data-testid=predict-file]', noFace);
        await page.waitForSelector('[data-testid=prediction], .predict-note[data-state="error"]', { timeout: 120_000 });
        predicted = (await page.locator('[data-testid=prediction]').first().getAttribute('data-label').catch(() => null)) ?? '';
      }
      const status = await page.locator('#train-status').innerText();
      check('phone: trains and predicts on a phone-size page', trained && predicted !== '', `${status}${predicted ? ` Top label for the faceless photo: "${predicted}".` : ''}`);
      measures.push(await measure(page, 'trained, predicted'));
    } catch (err) {
      check('phone: trains and predicts on a phone-size page', false, (err as Error).message.split('\n')[0]);
      measures.push(await measure(page, 'using the page failed'));
    }
    await page.screenshot({ path: join(o.out, 'e2e-phone.png'), fullPage: true });
    log(`screenshot: ${join(o.out, 'e2e-phone.png')}`);

    for (const tab of ['identify', 'benchmark', 'about'] as const) {
      // A tab off the screen cannot be tapped: that is reported, and it is switched to by script.
      await page.tap(`[data-testid=tab-${tab}]`, { timeout: 10_000 }).catch(() => {
        unreachable.push(`the ${tab} tab cannot be tapped`);
        return page.locator(`[data-testid=tab-${tab}]`).dispatchEvent('click');
      });
      measures.push(await measure(page, `${tab} tab`));
    }
    await page.screenshot({ path: join(o.out, 'e2e-phone-about.png'), fullPage: true });
  } catch (err) {
    check('phone: the page on a phone', false, (err as Error).message.split('\n')[0]);
  } finally {
    await context.close().catch(() => undefined);
  }

  const overflow = measures.filter((m) => m.scrollWidth > m.clientWidth + 1);
  check(
    `phone: no horizontal scroll at ${PHONE.viewport.width} px`,
    measures.length > 0 && overflow.length === 0,
    measures.map((m) => `${m.state}: scrollWidth ${m.scrollWidth}, clientWidth ${m.clientWidth}`).join('; '),
  );
  const outside = [...unreachable, ...measures.flatMap((m) => m.outside.map((d) => `[${m.state}] ${d}`))];
  check(
    `phone: buttons, headings, fields, canvases and cards within ${PHONE.viewport.width} px`,
    measures.length > 0 && outside.length === 0,
    outside.length ? `${outside.length} outside: ${outside.slice(0, 12).join('; ')}${outside.length > 12 ? '; …' : ''}` : `all inside, in ${measures.map((m) => m.state).join(', ')}`,
  );
  const small = measures.flatMap((m) => m.small.map((d) => `[${m.state}] ${d}`));
  check(
    `phone: touch targets at least ${MIN_TARGET} px high`,
    measures.length > 0 && small.length === 0,
    small.length ? `${small.length} lower: ${small.slice(0, 12).join('; ')}${small.length > 12 ? '; …' : ''}` : `every visible control, in ${measures.map((m) => m.state).join(', ')}`,
  );
}
