// Debian's Chromium (installed by scripts/install-system.sh), headless, with WebGPU on its
// built-in SwiftShader adapter (no GPU needed), driven by playwright-core. Chromium's own
// background traffic (updates, sync, field trials, QUIC probes) is switched off: the test
// asserts that nothing leaves the machine.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.FACEGPU_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu', // WebGPU on Linux is behind this flag
  '--use-webgpu-adapter=swiftshader', // the CPU adapter: same results on every machine
  '--no-sandbox', // CI runs as root
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-default-apps',
  '--metrics-recording-only',
  // A synthetic camera, allowed without a prompt: the page's webcam capture is tested too.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

export interface LaunchedChromium {
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

/** A plain browser (fresh temporary profile) for `browser.newContext(...)`: device emulation
 * (phone viewport, touch, pixel ratio) needs its own context, which a persistent one cannot give.
 * `fakeVideo`: a .y4m or .mjpeg file the synthetic camera plays (looped) instead of its test pattern. */
export async function launchBrowser({ webgpu = true, fakeVideo = '' } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run \`bash scripts/install-system.sh\` (installs Debian's chromium)`);
  const args = webgpu ? CHROMIUM_ARGS : CHROMIUM_ARGS.filter((a) => !a.includes('webgpu'));
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: fakeVideo ? [...args, `--use-file-for-fake-video-capture=${fakeVideo}`] : args,
  });
}

/** Launch with a fresh profile; `webgpu: false` leaves WebGPU off (the page must say so). */
export async function launchChromium({ viewport = { width: 1440, height: 960 }, webgpu = true } = {}): Promise<LaunchedChromium> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run \`bash scripts/install-system.sh\` (installs Debian's chromium)`);
  const profile = mkdtempSync(join(tmpdir(), 'facegpu-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: webgpu ? CHROMIUM_ARGS : CHROMIUM_ARGS.filter((a) => !a.includes('webgpu')),
    viewport,
    deviceScaleFactor: 1,
    acceptDownloads: true,
  });
  const browser = context.browser();
  return {
    browser: browser!,
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
