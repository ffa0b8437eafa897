/**
 * The Study screen in a real browser against browser mode: a tiny study (random vs byol, one seed,
 * wasm) started through the API runs to the end on the server, and its page shows the arms × seeds
 * grid with every run completed, the bar chart of differences and the table with the result's
 * numbers. Screenshots go to test-artifacts/e2e.
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudyDetails, StudyRecord, StudyResult } from '../../shared/dto';
import { tinyStudy } from '../jobs/tiny-run';
import { e2eBrowser, shot, startServer, type ServerProcess } from './harness';
import { endSession, openBrowserPage, screenshotFailures, showStudio } from './session';
import { tempDir } from '../temp-dir';

const LONG = 400_000;
let tmp: string;
let server: ServerProcess;
let browser: BrowserContext;
let page: Page;

const tid = (id: string) => `[data-testid="${id}"]`;
const browserPath = e2eBrowser(path.basename(__filename));

beforeAll(async () => {
  if (!browserPath) return;
  tmp = tempDir('selfemd-e2e-study-');
  server = await startServer(path.join(tmp, 'home'));
  ({ browser, page } = await openBrowserPage(tmp));
  // the access link sets the session; later navigations need no token
  await showStudio(page, server);
}, 240_000);

screenshotFailures('study-', () => page);

afterAll(async () => {
  await endSession({ browser, server, tmp });
}, 60_000);

describe.skipIf(!browserPath)('the Study screen', () => {
  it(
    "shows a finished tiny study's grid, chart and table",
    async () => {
      // the e2e's pretraining is TINY_PRETRAIN's 2 epochs; one fine-tune epoch, one seed
      const study = await server.call<StudyRecord>('studies.start', {
        ...tinyStudy(1, 1),
        name: 'tiny study',
        replicates: 20,
      });
      await page.goto(`${server.origin}/#/studies/${study.id}`);
      await page.waitForSelector(tid('study-grid'));
      await shot(page, '40-study-running');
      let details: StudyDetails;
      for (;;) {
        details = await server.call<StudyDetails>('studies.get', { id: study.id });
        if (details.study.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      expect(details.study.status).toBe('completed');
      // the screen follows the study's events: its grid and result appear without a reload
      await page.waitForSelector(tid('study-table'), { timeout: 60_000 });
      expect(await page.textContent(tid('study-status'))).toBe('completed');
      for (const arm of ['random', 'byol'])
        expect(await page.textContent(tid(`study-cell-${arm}-0`))).toContain('completed');
      await page.waitForSelector(tid('interval-chart'));
      const result = details.study.result as unknown as StudyResult;
      for (const row of result.rows)
        for (const a of row.arms) {
          const shown = await page.textContent(
            `tr[data-metric="${row.metric}"][data-arm="${a.arm}"] ${tid('study-mean')}`,
          );
          const fmt = (v: number | null) => (v === null ? '—' : v.toFixed(1));
          expect(shown).toBe(`${fmt(a.mean)} ± ${fmt(a.sd)}`);
        }
      expect(await page.textContent(tid('study-result'))).toContain('byol − random:');
      await shot(page, '41-study-result');
      // the sidebar leads to the screen
      await page.click(tid('nav-studies'));
      await page.waitForSelector(tid('study-item'));
      expect(await page.textContent(tid('study-item'))).toContain('tiny study');
    },
    LONG,
  );
});
