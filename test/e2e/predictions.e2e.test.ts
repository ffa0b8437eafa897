/**
 * A Mask R-CNN run's prediction preview in a real browser against browser mode: run detail's
 * Predictions opens the val image with its detections' boxes and their masks painted on a canvas in
 * the class colours. The run is recorded in the home's store with the files its evaluation writes
 * (val_gt.json, val_detections.json) instead of trained, so the check takes seconds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetImagePage, RunPredictionView } from '../../shared/api/types';
import type { DatasetRecord } from '../../shared/dto';
import { encodeMask } from '../../src-main/engine/data/masks/rle';
import { compressCounts } from '../../src-main/engine/data/masks/rle-string';
import { openStore } from '../../src-main/store';
import { categoryRgb } from '../../src-renderer/lib/category-colour';
import { e2eBrowser, shot, startServer, type ServerProcess } from './harness';
import { endSession, openBrowserPage, screenshotFailures, showStudio } from './session';
import { tempDir } from '../temp-dir';

let tmp: string;
let server: ServerProcess;
let browser: BrowserContext;
let page: Page;
let runId: string;

const tid = (id: string) => `[data-testid="${id}"]`;

beforeAll(async () => {
  tmp = tempDir('selfemd-e2e-pred-');
  const home = path.join(tmp, 'home');
  server = await startServer(home);
  const val = (await server.call<DatasetRecord[]>('datasets.list')).find(
    (d) => d.kind === 'demo' && d.split === 'val',
  )!;
  const image = (await server.call<DatasetImagePage>('datasets.images', { id: val.id, limit: 1 })).images[0]!;
  const { width, height } = image;
  const rect = (x0: number, y0: number, x1: number, y1: number) => {
    const data = new Uint8Array(width * height);
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * width + x] = 1;
    const rle = encodeMask({ width, height, data });
    return { size: rle.size, counts: compressCounts(rle.counts) };
  };
  // a second writer on the studio's store, as a `selfemd` command beside the server is
  const store = openStore(path.join(home, 'studio.db'));
  const run = store.createRun({
    kind: 'finetune',
    name: 'mask preview',
    method: 'mask-rcnn',
    backbone: 'resnet18',
    datasetId: val.id,
    config: {},
  });
  runId = run.id;
  store.updateRunStatus(runId, 'running');
  store.updateRunStatus(runId, 'completed');
  store.addEvaluation({
    runId,
    datasetId: val.id,
    kind: 'coco',
    checkpointStep: 8,
    stats: { AP: 0.5, AP50: 0.9, segm_AP: 0.4, segm_AP50: 0.8 },
  });
  store.close();
  const dir = path.join(home, 'runs', runId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'val_gt.json'),
    JSON.stringify({
      images: [{ id: 1, file_name: image.name, width, height }],
      annotations: [],
      categories: val.categories,
    }),
  );
  writeFileSync(
    path.join(dir, 'val_detections.json'),
    JSON.stringify([
      { image_id: 1, category_id: 1, bbox: [4, 4, 20, 12], score: 0.9, segmentation: rect(4, 4, 24, 16) },
      { image_id: 1, category_id: 2, bbox: [30, 20, 16, 16], score: 0.8, segmentation: rect(30, 20, 46, 36) },
    ]),
  );
  ({ browser, page } = await openBrowserPage(tmp));
  await showStudio(page, server);
}, 120_000);

screenshotFailures('pred-', () => page);

afterAll(async () => {
  await endSession({ browser, server, tmp });
}, 60_000);

const browserPath = e2eBrowser(path.basename(__filename));

describe.skipIf(!browserPath)('the prediction preview in a browser', () => {
  it('shows a Mask R-CNN run’s boxes and paints its masks in the class colours', async () => {
    await page.goto(`${server.origin}/#/runs/${runId}`);
    await page.click(tid('predictions-open'));
    await page.waitForSelector(`${tid('prediction-summary')}:has-text("2 detections with masks")`);
    expect(await page.locator(tid('prediction-box')).count()).toBe(2);
    const preview = await server.call<RunPredictionView>('runs.predictions', {
      id: runId,
      index: 0,
      size: 800,
      minScore: 0.3,
    });
    // the canvas holds the masks the API gave: each instance's pixels in its category's colour
    const painted = await page.$eval(tid('prediction-masks'), (el) => {
      const c = el as HTMLCanvasElement;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const colours: Record<string, number> = {};
      for (let i = 0; i < px.length; i += 4)
        if (px[i + 3])
          colours[`${px[i]},${px[i + 1]},${px[i + 2]}`] =
            (colours[`${px[i]},${px[i + 1]},${px[i + 2]}`] ?? 0) + 1;
      return { size: [c.height, c.width], colours };
    });
    expect(painted.size).toEqual(preview.maskSize);
    const area = (counts: number[]) => counts.filter((_, j) => j % 2 === 1).reduce((s, v) => s + v, 0);
    // the canvas keeps colours premultiplied by alpha: read back they may be 1 off
    const near = (a: number[], b: readonly number[]) => a.every((v, k) => Math.abs(v - b[k]!) <= 1);
    const found = Object.entries(painted.colours).map(([rgb, count]) => ({
      rgb: rgb.split(',').map(Number),
      count,
    }));
    expect(found).toHaveLength(2);
    for (const d of preview.detections) {
      const match = found.find((f) => near(f.rgb, categoryRgb(d.categoryId)));
      expect(match, d.category).toBeDefined();
      expect(match!.count, d.category).toBe(area(d.maskCounts!));
    }
    await shot(page, '23-mask-predictions');
  }, 60_000);
});
