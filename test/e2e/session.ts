/**
 * What every e2e file does around its tests: a screenshot after each failed test, and at its end the
 * browser closed, the server stopped and the temporary folder removed. Apart from harness.ts because
 * it uses vitest's hooks, and the global setup imports the harness (where vitest cannot be imported).
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach } from 'vitest';
import { launchBrowser, shot, type ServerProcess } from './harness';
import { removeTempDir } from '../temp-dir';

/** Registers, for the calling test file, a screenshot of the page after each failed test (`FAILED-<prefix><test>`). */
export function screenshotFailures(prefix: string, page: () => Page | undefined): void {
  afterEach(async (ctx) => {
    const p = page();
    if (ctx.task.result?.state !== 'fail' || !p) return;
    await shot(p, `FAILED-${prefix}${ctx.task.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}`).catch(
      () => undefined,
    );
  });
}

/** The end of an e2e file: its browser closed, its server stopped, its temporary folder removed. */
export async function endSession(s: {
  browser?: BrowserContext;
  server?: ServerProcess;
  tmp?: string;
}): Promise<void> {
  await s.browser?.close();
  await s.server?.stop('SIGTERM');
  if (s.tmp) removeTempDir(s.tmp);
}

/** A browser on a fresh profile under `tmp`, and its page, whose uncaught errors are printed. */
export async function openBrowserPage(tmp: string): Promise<{ browser: BrowserContext; page: Page }> {
  const browser = await launchBrowser(path.join(tmp, 'chromium-profile'));
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
  return { browser, page };
}

/** Opens the studio through the server's access link (it sets the session: later navigations need no token). */
export async function showStudio(page: Page, server: ServerProcess): Promise<void> {
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="nav-datasets"]');
}
