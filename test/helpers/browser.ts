import { existsSync } from 'node:fs';

/**
 * Debian's headless Chromium (installed by .ci/setup.d/chromium.sh) driven through playwright-core: the little of its API
 * the page tests use. Its own typings need the DOM lib, which this Node-only project does not compile with, so it is
 * required untyped and page code is passed as strings.
 */
export interface Locator {
  click(): Promise<void>;
  fill(text: string): Promise<void>;
  hover(): Promise<void>;
  screenshot(options: { path: string }): Promise<unknown>;
}
export interface Page {
  on(event: 'console', listener: (m: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', listener: (e: Error) => void): void;
  on(event: 'request', listener: (r: { url(): string }) => void): void;
  goto(url: string, options?: { waitUntil: 'load' }): Promise<unknown>;
  evaluate(expression: string): Promise<unknown>;
  locator(selector: string): Locator & { first(): Locator; nth(i: number): Locator };
  screenshot(options: { path: string; fullPage: boolean }): Promise<unknown>;
  emulateMedia(options: { media: 'print' | 'screen' }): Promise<void>;
  close(): Promise<void>;
}
export interface Browser {
  newPage(options: { viewport: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchChromium(): Promise<Browser> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require('playwright-core') as {
    chromium: { launch(options: { executablePath: string; args: string[] }): Promise<Browser> };
  };
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Opens a file in a new page, collecting console errors and warnings, page errors and any request but the file's own. */
export async function openPage(browser: Browser, url: string, width = 1280): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (req) => {
    if (req.url() !== url) problems.push(`request: ${req.url()}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems };
}
