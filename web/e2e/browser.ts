// Launches Debian's chromium (installed by the lab's `browser` area) through playwright-core: no browser download.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const screenshotDir = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=Translate,OptimizationHints,MediaRouter',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Requests the page tried to send off the machine (they are refused). */
  offMachine: string[];
  /** Errors the page threw or logged. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** A fresh profile in a temporary directory; every request that does not go to 127.0.0.1 is refused. */
export async function launch(opts: { viewport?: { width: number; height: number }; colorScheme?: 'dark' | 'light' } = {}): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'portolan-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    chromiumSandbox: false,
    args,
    viewport: opts.viewport ?? { width: 1360, height: 900 },
    colorScheme: opts.colorScheme ?? 'dark',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const offMachine: string[] = [];
  const pageErrors: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1' || url.hostname === 'localhost') return route.continue();
    offMachine.push(url.href);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  return {
    context,
    page,
    offMachine,
    pageErrors,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under web/e2e/screenshots/ (gitignored), for people to look at. */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  // The header is sticky: from the top, a full-page shot shows it once, where it belongs.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: opts.fullPage ?? true });
  return path;
}

/** Drops files on `selector` as a user dragging them from the desktop would: dragover, then drop, one DataTransfer. */
export async function dropFiles(page: Page, selector: string, files: { name: string; data: Uint8Array }[]): Promise<void> {
  // A string, not a function: the test's TypeScript transform would put helpers into a function the page lacks.
  const items = files.map((f) => `dt.items.add(new File([bytes('${Buffer.from(f.data).toString('base64')}')], ${JSON.stringify(f.name)}, { type: 'application/octet-stream' }));`).join('\n');
  const dataTransfer = await page.evaluateHandle(`(() => {
    const bytes = (s) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
    const dt = new DataTransfer();
    ${items}
    return dt;
  })()`);
  await page.dispatchEvent(selector, 'dragover', { dataTransfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer });
}
