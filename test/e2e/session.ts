/**
 * What every e2e file does around its tests: a screenshot after each failed test, and at its end the
 * browser closed, the server stopped and the temporary folder removed. Apart from harness.ts because
 * it uses vitest's hooks, and the global setup imports the harness (where vitest cannot be imported).
 */
import { rmSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach } from 'vitest';
import { shot, type ServerProcess } from './harness';

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
  if (s.tmp) rmSync(s.tmp, { recursive: true, force: true });
}
