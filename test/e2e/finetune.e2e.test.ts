/**
 * Fine-tuning a detector in a real browser against browser mode: from a pretraining run's page (a
 * random-init baseline, so nothing has to pretrain first) open the fine-tune form, see it check its
 * fields inline, start a tiny RetinaNet on the demo scenes and watch it complete with its COCO / VOC
 * evaluation table, linked to its parent, and listed with its kind. Screenshots go to test-artifacts/e2e.
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetails, RunPredictionView } from '../../shared/api/types';
import type { DatasetRecord, MetricSeries, RunRecord } from '../../shared/dto';
import { learningTrend } from '../../shared/metrics/learning-trend';
import { formatNumber } from '../../src-renderer/lib/format';
import { e2eBrowser, shot, startServer, type ServerProcess } from './harness';
import { endSession, openBrowserPage, screenshotFailures } from './session';
import { tempDir } from '../temp-dir';

const LONG = 240_000;
let tmp: string;
let server: ServerProcess;
let browser: BrowserContext;
let page: Page;
let baseline: RunRecord;
let finetuneId: string;

const tid = (id: string) => `[data-testid="${id}"]`;

beforeAll(async () => {
  tmp = tempDir('selfemd-e2e-ft-');
  server = await startServer(path.join(tmp, 'home'));
  ({ browser, page } = await openBrowserPage(tmp));
  const datasets = await server.call<DatasetRecord[]>('datasets.list');
  const train = datasets.find((d) => d.kind === 'demo' && d.split === 'train')!;
  baseline = await server.call<RunRecord>('runs.start', {
    method: 'random-init',
    datasetId: train.id,
    name: 'baseline r18',
    config: { backbone: { name: 'resnet18', baseWidth: 8 }, seed: 5 },
  });
  await page.goto(server.url);
  await page.waitForSelector(tid('nav-datasets'));
}, 240_000);

screenshotFailures('ft-', () => page);

afterAll(async () => {
  await endSession({ browser, server, tmp });
}, 60_000);

// '' (after one line saying what to install) where this machine has no browser: the file skips
const browserPath = e2eBrowser(path.basename(__filename));

describe.skipIf(!browserPath)('fine-tuning a detector in a browser', () => {
  it(
    'opens the fine-tune form from a run page, with the run as parent, and validates it inline',
    async () => {
      await page.goto(`${server.origin}/#/runs/${baseline.id}`);
      await page.waitForSelector(tid('run-detail'));
      await page.click(tid('finetune'));
      await page.waitForSelector(tid('finetune-view'));
      expect(page.url()).toContain(`#/finetune?parent=${baseline.id}`);
      // The form fills itself once the runs and datasets have loaded: wait for that, then check it.
      const selected = (sel: string, text: string) =>
        page.waitForFunction(
          ([s, t]) => {
            const el = document.querySelector(s) as HTMLSelectElement | null;
            return (
              !!el &&
              el.selectedIndex >= 0 &&
              (el.value === t || el.options[el.selectedIndex]!.text.includes(t))
            );
          },
          [sel, text] as const,
        );
      await selected(tid('ft-parent'), baseline.id);
      expect(await page.inputValue(tid('ft-parent'))).toBe(baseline.id);
      await page.waitForSelector(`${tid('finetune-view')}:has-text("its seeded random weights")`);
      // The demo splits: train on the train split, evaluate on the held-out val split.
      await selected(tid('ft-train'), 'Demo scenes · train');
      await selected(tid('ft-val'), 'Demo scenes · val');
      expect(await page.locator(`${tid('ft-train')} option:checked`).textContent()).toContain(
        'Demo scenes · train',
      );
      expect(await page.locator(`${tid('ft-val')} option:checked`).textContent()).toContain(
        'Demo scenes · val',
      );

      // An exported backbone file: its path is checked on the machine that trains.
      await page.click(`${tid('ft-init')} [data-value="file"]`);
      await page.fill(tid('ft-weights'), '/nowhere/backbone.safetensors');
      // Choosing 'file' first shows 'is required' until the typed path has been checked: wait for
      // the path's own issue, not for any issue at that field.
      await page.waitForSelector(
        `${tid('issue-weightsPath')}:has-text("/nowhere/backbone.safetensors: no such file")`,
      );
      expect(await page.isDisabled(tid('start-finetune'))).toBe(true);
      await page.click(`${tid('ft-init')} [data-value="parent"]`);
      await page.waitForSelector(tid('ft-parent'));

      await page.fill(tid('field-optim.lr'), '-1');
      await page.waitForSelector(tid('issue-optim.lr'));
      expect(await page.textContent(tid('issue-optim.lr'))).toContain('must be > 0, got -1');
      expect(await page.isDisabled(tid('start-finetune'))).toBe(true);
      await page.fill(tid('field-optim.lr'), '0.01');
      await page.fill(tid('ft-image-size'), '16');
      await page.waitForSelector(tid('issue-image-size'));
      expect(await page.textContent(tid('issue-image-size'))).toMatch(/must be ≥ 32/);
      await page.fill(tid('ft-image-size'), '64');
      await page.waitForSelector(tid('issue-image-size'), { state: 'detached' });
      await page.fill(tid('field-optim.epochs'), '0.5');
      await page.fill(tid('field-optim.batchSize'), '4');
      await page.selectOption(tid('field-backend'), 'wasm');
      // 64 demo train images in batches of 4 for half an epoch, as the studio plans it.
      await page.waitForSelector(`${tid('ft-steps')}:text("8 optimizer steps")`);
      expect(await page.isDisabled(tid('start-finetune'))).toBe(false);
      await shot(page, '20-finetune-form');
    },
    LONG,
  );

  it(
    'starts the fine-tune and shows its curves, its evaluation and its parent; the runs list shows its kind',
    async () => {
      await page.click(tid('ft-toggle-advanced'));
      await page.fill(tid('field-fpn.channels'), '8');
      await page.fill(tid('ft-name'), 'retina from baseline');
      await page.click(tid('start-finetune'));
      await page.waitForSelector(tid('run-detail'));
      finetuneId = /#\/runs\/([A-Za-z0-9_-]+)/.exec(page.url())![1]!;
      expect(await page.textContent(tid('run-kind'))).toBe('fine-tune');
      expect(await page.textContent(tid('run-parent'))).toContain('baseline r18');
      // The train split's dataset record, by name (the run records it beside its val dataset).
      expect(await page.textContent(tid('run-train-data'))).toContain('train: Demo scenes · train');
      await page.waitForSelector(`${tid('run-status')}[data-status="completed"]`, { timeout: 200_000 });
      await page.waitForSelector(tid('evaluations'));
      const details = await server.call<RunDetails>('runs.get', { id: finetuneId });
      expect(details.run).toMatchObject({ kind: 'finetune', parentRunId: baseline.id, step: 8 });
      const coco = details.evaluations.find((e) => e.kind === 'coco')!;
      const voc = details.evaluations.find((e) => e.kind === 'voc')!;
      // The table shows the stored numbers, in %.
      const cell = async (stat: string) =>
        (await page.textContent(`${tid('evaluations')} tr[data-step="8"] [data-stat="${stat}"]`))!.trim();
      expect(await cell('AP')).toBe((100 * coco.stats.AP!).toFixed(1));
      expect(await cell('AP50')).toBe((100 * coco.stats.AP50!).toFixed(1));
      expect(await cell('VOC AP50')).toBe((100 * voc.stats.mAP!).toFixed(1));
      expect(await page.locator(`${tid('category-evaluations')} tbody tr`).count()).toBe(6);
      expect(Number(await page.getAttribute(tid('loss-chart'), 'data-points'))).toBeGreaterThanOrEqual(8);
      // Whether it learned: the page shows the shared verdict on the stored total loss, with the
      // classification / box terms' changes; the supervisor's log says "not learning" exactly when it is.
      const [loss] = await server.call<MetricSeries[]>('metrics.get', {
        runId: finetuneId,
        keys: ['loss/total'],
      });
      const verdict = learningTrend(loss!.points, 8);
      expect(verdict.state).not.toBe('too-early');
      await page.waitForSelector(`${tid('learning-trend')}[data-state="${verdict.state}"]`);
      expect(await page.textContent(tid('learning-trend-message'))).toBe(verdict.message);
      for (const key of ['loss/loss_cls', 'loss/loss_box_reg'])
        expect(await page.locator(`${tid('learning-terms')} [data-key="${key}"]`).count()).toBe(1);
      expect(details.log.some((l) => l.message.includes('not learning'))).toBe(
        verdict.state === 'not-learning',
      );
      await shot(page, '21-finetune-completed');

      // The prediction preview: the first val image with every box its evaluation wrote (score ≥ 0).
      await page.click(tid('predictions-open'));
      await page.$eval(tid('prediction-min-score'), (el) => {
        (el as HTMLInputElement).value = '0';
        el.dispatchEvent(new Event('input'));
      });
      const preview = await server.call<RunPredictionView>('runs.predictions', {
        id: finetuneId,
        index: 0,
        minScore: 0,
      });
      expect(preview.maskSize).toBeNull(); // RetinaNet: boxes only
      await page.waitForSelector(
        `${tid('prediction-summary')}:has-text("${preview.detections.length} detection")`,
      );
      expect(await page.locator(tid('prediction-box')).count()).toBe(preview.detections.length);
      await shot(page, '21b-finetune-predictions');
      await page.keyboard.press('Escape');

      await page.click(`${tid('run-parent')} a`);
      await page.waitForSelector(`${tid('children')} a:text("retina from baseline")`);
      await page.click(tid('nav-runs'));
      const row = `[data-run-id="${finetuneId}"] ${tid('run-kind')}`;
      await page.waitForSelector(row);
      expect(await page.getAttribute(row, 'data-kind')).toBe('finetune');
      expect(await page.textContent(row)).toContain('from baseline r18');
      await shot(page, '22-runs-with-finetune');

      // Side by side with its parent: the fine-tune's newest COCO AP and its VOC AP50.
      for (const id of [finetuneId, baseline.id])
        await page.check(`[data-testid="run-row"][data-run-id="${id}"] input[type=checkbox]`);
      await page.click(tid('compare-selected'));
      // allTextContents() does not wait: wait for the row itself (the comparison loads after the table).
      const evalRow = `${tid('eval-table')} tbody tr:has-text("retina from baseline")`;
      await page.waitForSelector(`${evalRow} td`);
      const cells = await page.locator(`${evalRow} td`).allTextContents();
      expect(cells.slice(1, 8).map((c) => c.trim())).toEqual(
        [
          ...['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'].map((k) => coco.stats[k] ?? null),
          voc.stats.mAP!,
        ].map((v) => formatNumber(v, 3)),
      );
    },
    LONG,
  );
});
