/**
 * The studio at 1280×800, a laptop's window, in a real browser against browser mode: no header
 * (page, panel, table column) wraps onto a second line, and a toast never covers a table.
 * Runs are put straight into the store (no training). Screenshots go to test-artifacts/e2e.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FINETUNE_CONFIG } from '../../shared/config/finetune';
import { DEFAULT_PRETRAIN_CONFIG } from '../../shared/config/pretrain';
import type { DatasetRecord, RunRecord } from '../../shared/dto';
import { openStore } from '../../src-main/store';
import { e2eBrowser, shot, startServer, type ServerProcess } from './harness';
import { openBrowserPage } from './session';
import { removeTempDir, tempDir } from '../temp-dir';

const LONG = 120_000;
const browserPath = e2eBrowser('layout-1280.e2e.test.ts');
let tmp: string;
let server: ServerProcess;
let browser: BrowserContext;
let page: Page;

const A = 'lay-run-emd';
const B = 'lay-run-byol';
const FT = 'lay-run-ft';

/** Completed runs with a few metrics and checkpoints, so every table and chart of their pages fills. */
function seed(home: string): void {
  const store = openStore(path.join(home, 'studio.db'));
  const runs = [
    { id: A, method: 'self-emd', name: 'self-emd r18 demo 256 λ20 SPC+scale view' },
    { id: B, method: 'byol', name: 'byol r18 demo 256 baseline' },
  ];
  for (const r of runs) {
    store.createRun({
      ...r,
      kind: 'pretrain',
      backbone: 'resnet18',
      config: { ...DEFAULT_PRETRAIN_CONFIG, method: r.method },
      totalSteps: 40,
    });
    store.updateRunStatus(r.id, 'running');
    const points = [];
    for (let step = 1; step <= 40; step++)
      for (const key of [
        'loss/total',
        'loss/global',
        'loss/emd',
        'opt/lr',
        'opt/tau',
        'monitor/collapse_std',
      ])
        points.push({ runId: r.id, key, step, value: 1 / step, wallTime: Date.now() });
    store.appendMetrics(points);
    for (const step of [10, 20, 30, 40])
      store.addCheckpoint({
        runId: r.id,
        step,
        epoch: step / 10,
        path: `/nowhere/${r.id}/${step}`,
        bytes: 1e6,
      });
    store.updateRunStatus(r.id, 'completed');
  }
  // Enough runs that the runs table runs past the window's bottom, where toasts appear.
  for (let i = 0; i < 30; i++) {
    const id = `lay-extra-${i}`;
    store.createRun({
      id,
      kind: 'pretrain',
      name: `sweep ${i}`,
      method: 'byol',
      backbone: 'resnet18',
      config: {},
    });
    store.updateRunStatus(id, 'cancelled');
  }
  store.createRun({
    id: FT,
    kind: 'finetune',
    name: 'retinanet from self-emd r18 demo',
    method: 'retinanet',
    backbone: 'resnet18',
    config: DEFAULT_FINETUNE_CONFIG,
    totalSteps: 20,
    parentRunId: A,
  });
  store.updateRunStatus(FT, 'running');
  store.updateRunStatus(FT, 'completed');
  store.close();
}

/** Headers (page, panel and table column) whose content takes more than one line, as "text: why". */
async function wrappedHeaders(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const visible = (e: Element) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
    };
    /** Distinct line tops of an element's text. */
    const textLines = (e: Element) => {
      const range = document.createRange();
      range.selectNodeContents(e);
      const tops = new Set<number>();
      for (const r of Array.from(range.getClientRects())) if (r.width > 0) tops.add(Math.round(r.top / 4));
      return tops.size;
    };
    const out: string[] = [];
    for (const e of Array.from(document.querySelectorAll('h1, h2, h3, th'))) {
      if (!visible(e) || !e.textContent?.trim()) continue;
      const lines = textLines(e);
      if (lines > 1) out.push(`${e.tagName} “${e.textContent.trim()}”: ${lines} lines`);
    }
    // A header row wraps when its items do not share one row.
    for (const h of Array.from(
      document.querySelectorAll('.page-head, .panel > header, header.head, header.toolbar'),
    )) {
      if (!visible(h)) continue;
      const items = Array.from(h.children)
        .filter(visible)
        .map((c) => c.getBoundingClientRect());
      if (items.length < 2) continue;
      const top = Math.min(...items.map((r) => r.top));
      const below = items.filter((r) => r.top >= top + Math.min(...items.map((x) => x.height)));
      if (below.length > 0)
        out.push(
          `header “${(h.textContent ?? '').trim().slice(0, 60)}”: ${below.length} item(s) on a 2nd row`,
        );
    }
    return out;
  });
}

/** Tables (their part in view, each scrolled to its end) that a toast overlaps. */
async function coveredTables(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const toasts = Array.from(document.querySelectorAll('.toast')).map((t) => t.getBoundingClientRect());
    const out: string[] = [];
    for (const table of Array.from(document.querySelectorAll('table'))) {
      // Its last rows at the bottom of the window, where a toast would be.
      table.scrollIntoView({ block: 'end', inline: 'end' });
      const r = table.getBoundingClientRect();
      // What of the table is in view: clipped by its scrolling ancestors and the window.
      let clip = { top: 0, left: 0, bottom: innerHeight, right: innerWidth };
      for (let a = table.parentElement; a; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (/(auto|scroll|hidden)/.test(s.overflow + s.overflowY)) {
          const ar = a.getBoundingClientRect();
          clip = {
            top: Math.max(clip.top, ar.top),
            left: Math.max(clip.left, ar.left),
            bottom: Math.min(clip.bottom, ar.bottom),
            right: Math.min(clip.right, ar.right),
          };
        }
      }
      const top = Math.max(r.top, clip.top);
      const bottom = Math.min(r.bottom, clip.bottom);
      const left = Math.max(r.left, clip.left);
      const right = Math.min(r.right, clip.right);
      if (bottom <= top || right <= left) continue;
      for (const t of toasts)
        if (t.left < right && left < t.right && t.top < bottom && top < t.bottom) {
          const id = table.getAttribute('data-testid') ?? table.className;
          out.push(`table ${id} under a toast`);
        }
    }
    return out;
  });
}

/**
 * Shows a toast the way the studio does: a run completing in the background (a tiny BYOL run on
 * the demo scenes, a few seconds of training).
 */
async function toast(p: Page, name: string): Promise<void> {
  const datasets = await server.call<DatasetRecord[]>('datasets.list');
  const train = datasets.find((d) => d.kind === 'demo' && d.split === 'train')!;
  const run = await server.call<RunRecord>('runs.start', {
    method: 'byol',
    datasetId: train.id,
    name,
    config: {
      backbone: { name: 'resnet18', baseWidth: 4 },
      data: { imageSize: 64, demoImages: 8 },
      emd: { scaleViewSize: 32 },
      optim: { epochs: 1, batchSize: 4 },
      byol: { projectorHidden: 16, projectionDim: 8, predictorHidden: 16 },
    },
  });
  await p.waitForSelector(`.toast:has-text("${name}")`, { timeout: 240_000 }).catch(async (e: Error) => {
    const now = await server.call<{ run: RunRecord }>('runs.get', { id: run.id });
    throw new Error(
      `no toast for run ${name} (${now.run.status}): ${e.message}\n${server.output().slice(-2000)}`,
    );
  });
}

const describeE2e = browserPath ? describe : describe.skip;
describeE2e('the studio at 1280×800', () => {
  beforeAll(async () => {
    tmp = tempDir('selfemd-e2e-layout-');
    const home = path.join(tmp, 'home');
    mkdirSync(home, { recursive: true });
    seed(home);
    server = await startServer(home);
    ({ browser, page } = await openBrowserPage(tmp));
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(server.url);
    await page.waitForSelector('[data-testid="nav-runs"]');
  }, LONG);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (tmp) removeTempDir(tmp);
  });

  const pages: [string, string, string][] = [
    ['runs', '#/runs', 'table'],
    ['run detail', `#/runs/${A}`, '[data-testid="checkpoints"]'],
    ['fine-tune detail', `#/runs/${FT}`, '[data-testid="run-config"]'],
    ['compare', `#/compare?runs=${A},${B}`, '[data-testid="config-diff"] tbody tr'],
    ['datasets', '#/datasets', 'h1'],
    ['new run', '#/runs/new', 'h2'],
    ['export', `#/export?run=${A}`, 'h1'],
  ];

  it(
    'no header wraps on any page',
    async () => {
      const wrapped: string[] = [];
      for (const [name, hash, ready] of pages) {
        await page.goto(`${server.url}${hash}`);
        await page.waitForSelector(ready);
        await page.waitForTimeout(300);
        await shot(page, `layout-1280-${name.replace(/ /g, '-')}`);
        wrapped.push(...(await wrappedHeaders(page)).map((w) => `${name}: ${w}`));
      }
      expect(wrapped).toEqual([]);
    },
    LONG,
  );

  it('a toast does not cover a table', async () => {
    const covered: string[] = [];
    await page.goto(`${server.url}#/runs`);
    await toast(page, 'tiny byol for a toast');
    // The toast stays 6 s: look at three pages with tables while it is up.
    for (const [name, hash, ready] of pages.slice(0, 3)) {
      // In the page (no reload), as the sidebar's links do: a reload would drop the toast.
      await page.evaluate((h) => (window.location.hash = h), hash);
      await page.waitForSelector(ready);
      await page.waitForSelector('.toast');
      covered.push(...(await coveredTables(page)).map((c) => `${name}: ${c}`));
      await shot(page, `layout-1280-toast-${name.replace(/ /g, '-')}`);
    }
    expect(covered).toEqual([]);
  }, 300_000);
});
