/**
 * The studio end to end, in a real browser (Debian chromium via playwright-core) against browser mode:
 * import the demo dataset (and a folder with a broken file), start a tiny Self-EMD run and watch its
 * curve grow, pause and resume it, crash the server mid-run and resume the interrupted run, compare
 * two runs (and export their metrics as CSV), hover a cell of the transport plan, export a backbone,
 * restart the server and find the history intact. Screenshots of each screen go to test-artifacts/e2e.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendOptions, webGpuHelp } from '../../shared/api/backend-choices';
import type { RunDetails, SystemInfo } from '../../shared/api/types';
import type { MetricSeries, RunRecord } from '../../shared/dto';
import { isProcessAlive } from '../../src-main/store/process-alive';
import { imageFolder } from '../server/fixtures';
import { artifacts, e2eBrowser, shot, startServer, type ServerProcess } from './harness';
import { endSession, openBrowserPage, screenshotFailures } from './session';
import { tempDir } from '../temp-dir';

const STEP_TIMEOUT = 120_000;
const LONG = 240_000;
let tmp: string;
let home: string;
let server: ServerProcess;
let browser: BrowserContext;
let page: Page;
const timings: Record<string, number> = {};
const state: { demoId?: number; runA?: string; runB?: string; stepsA?: number } = {};
// The demo set is 16 images: 2 batches of 8 per epoch. A step takes ~0.3 s here, and each run must
// still be running when the test pauses (A) or crashes (B) it: enough steps to leave seconds of margin
// (B at 6 steps once finished before the crash on a fast CI run; at 20 it is stopped after 2 steps
// with 18 to spare, more than the 5 it checks for).
const A_EPOCHS = 12;
const A_STEPS = 2 * A_EPOCHS;
const B_EPOCHS = 10;
const B_STEPS = 2 * B_EPOCHS;

const tid = (id: string) => `[data-testid="${id}"]`;

async function openStudio(s: ServerProcess): Promise<void> {
  await page.goto(s.url);
  await page.waitForSelector(tid('nav-datasets'));
  expect(page.url()).not.toContain('token=');
}

async function stepsLogged(): Promise<number> {
  const text = (await page.textContent(tid('point-count'))) ?? '';
  return Number(/(\d+) step/.exec(text)?.[1] ?? 0);
}

async function waitForSteps(atLeast: number, timeout = STEP_TIMEOUT): Promise<number> {
  await page.waitForFunction(
    ([sel, n]) =>
      Number(/(\d+) step/.exec(document.querySelector(sel as string)?.textContent ?? '')?.[1] ?? 0) >=
      (n as number),
    [tid('point-count'), atLeast],
    { timeout, polling: 100 },
  );
  return stepsLogged();
}

async function waitForStatus(status: string, timeout = STEP_TIMEOUT): Promise<void> {
  await page.waitForSelector(`${tid('run-status')}[data-status="${status}"]`, { timeout });
}

/** Waits until `pid` is gone (a killed orphan is a zombie until its new parent reaps it: that counts as gone). */
async function processGone(pid: number, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > until) throw new Error(`process ${pid} is still there ${timeoutMs} ms after SIGKILL`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function fillRunForm(opts: {
  name: string;
  method: 'self-emd' | 'byol';
  epochs: number;
}): Promise<void> {
  await page.waitForSelector(tid('start-run'));
  await page.fill(tid('run-name'), opts.name);
  await page.click(`${tid('run-method')} [data-value="${opts.method}"]`);
  if (opts.method === 'self-emd') await page.setChecked(tid('run-scale-view'), false);
  await page.fill(tid('field-backbone.baseWidth'), '8');
  await page.fill(tid('field-data.imageSize'), '64');
  await page.fill(tid('field-optim.epochs'), String(opts.epochs));
  await page.fill(tid('field-optim.batchSize'), '8');
  await page.selectOption(tid('field-backend'), 'wasm');
  await page.click(tid('toggle-advanced'));
  await page.fill(tid('field-byol.projectorHidden'), '64');
  await page.fill(tid('field-byol.projectionDim'), '32');
  await page.fill(tid('field-byol.predictorHidden'), '64');
  await page.fill(tid('field-checkpoint.everySteps'), '1');
}

beforeAll(async () => {
  tmp = tempDir('selfemd-e2e-');
  home = path.join(tmp, 'home');
  server = await startServer(home);
  ({ browser, page } = await openBrowserPage(tmp));
  await openStudio(server);
}, 240_000);

// A failed step leaves a picture of the screen it failed on.
screenshotFailures('', () => page);

afterAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(path.join(artifacts, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
  console.log('e2e timings (ms):', timings);
  await endSession({ browser, server, tmp });
}, 60_000);

// '' (after one line saying what to install) where this machine has no browser: the file skips
const browserPath = e2eBrowser(path.basename(__filename));

describe.skipIf(!browserPath)('Self-EMD Studio in a browser', () => {
  it(
    'imports the demo dataset and an image folder, with thumbnails, counts and the import report',
    async () => {
      await page.click(tid('nav-datasets'));
      await page.waitForSelector(tid('dataset-item'));
      // The demo datasets are there on first launch.
      expect(await page.locator(`${tid('dataset-item')}[data-dataset-name^="Demo scenes"]`).count()).toBe(2);

      await page.click('text=Add demo scenes');
      await page.fill(tid('demo-count'), '16');
      await page.selectOption(tid('demo-split'), 'train');
      await page.click(tid('demo-add'));
      await page.waitForSelector(`${tid('dataset-title')}:text("Demo scenes · train (16)")`);
      await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 16, tid('thumb-img'));
      expect(await page.textContent(tid('dataset-images'))).toBe('16');
      expect(await page.locator(`${tid('category-counts')} tr`).count()).toBe(6);
      state.demoId = Number(/#\/datasets\/(\d+)/.exec(page.url())?.[1]);
      expect(state.demoId).toBeGreaterThan(0);
      // A link to a dataset that is not there says so (not "No datasets" beside the listed ones).
      await page.goto(`${server.origin}/#/datasets/9999`);
      await page.waitForSelector(`${tid('dataset-missing')}:text("Dataset 9999 was not found")`);
      await page.goto(`${server.origin}/#/datasets/${state.demoId}`);
      await page.waitForSelector(`${tid('dataset-title')}:text("Demo scenes · train (16)")`);

      const folder = await imageFolder(tmp);
      await page.fill(tid('import-path'), folder);
      await page.click(tid('import-start'));
      await page.waitForSelector(`${tid('dataset-title')}:text("photos")`);
      const report = await page.locator(tid('report-row')).allTextContents();
      expect(report).toHaveLength(1);
      expect(report[0]).toContain('broken.jpg');
      await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 3, tid('thumb-img'));
      await shot(page, '01-datasets-import-report');

      // Drag-and-drop from another machine: the files are uploaded to the studio machine, then imported.
      const pngs = ['a.png', 'b.png', 'sub/c.png'].map((f) => ({
        name: path.basename(f),
        b64: readFileSync(path.join(folder, f)).toString('base64'),
      }));
      await page.evaluate(
        ([sel, files]) => {
          const dt = new DataTransfer();
          for (const f of files as { name: string; b64: string }[])
            dt.items.add(
              new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: 'image/png' }),
            );
          document
            .querySelector(sel as string)!
            .dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        },
        [tid('import-panel'), pngs] as const,
      );
      // named for the dropped files, not for the upload folder (drop-…)
      await page.waitForSelector(`${tid('dataset-title')}:text("a.png + 2 more")`);
      expect(await page.textContent(tid('dataset-images'))).toBe('3');
      await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 3, tid('thumb-img'));
      await page.click(`${tid('dataset-item')}[data-dataset-name="Demo scenes · train (16)"]`);
      await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 16, tid('thumb-img'));
      await shot(page, '02-datasets-demo');
    },
    LONG,
  );

  it(
    'validates the new-run form inline, then starts a tiny Self-EMD run whose curve grows',
    async () => {
      await page.goto(`${server.origin}/#/runs/new?dataset=${state.demoId}`);
      // A fresh home's first run: the form as it opens (this machine's recommended sizes) can start.
      await page.waitForSelector(`${tid('start-run')}:not([disabled])`);
      // A smaller image size takes the scale view down with it (a 48 px view would not fit a 48 px image).
      await page.fill(tid('field-data.imageSize'), '48');
      await page.waitForSelector(`${tid('scale-view-size')}:has-text("a third 32 px view")`);
      await page.waitForSelector(`${tid('start-run')}:not([disabled])`);
      await fillRunForm({ name: 'A · self-emd', method: 'self-emd', epochs: A_EPOCHS });
      await page.fill(tid('field-optim.batchSize'), '0');
      await page.waitForSelector(tid('issue-optim.batchSize'));
      expect(await page.textContent(tid('issue-optim.batchSize'))).toContain('≥ 2');
      expect(await page.isDisabled(tid('start-run'))).toBe(true);
      // Checked by the studio, not the schema: the batch is larger than the dataset.
      await page.fill(tid('field-optim.batchSize'), '32');
      await page.waitForSelector(`${tid('issue-optim.batchSize')}:text("16 images")`);
      await shot(page, '03-new-run-validation');
      await page.fill(tid('field-optim.batchSize'), '8');
      await page.waitForSelector(`${tid('steps-estimate')}:text("${A_STEPS} optimizer steps")`);
      expect(await page.isDisabled(tid('start-run'))).toBe(false);

      const t0 = Date.now();
      await page.click(tid('start-run'));
      await page.waitForSelector(tid('run-detail'));
      state.runA = /#\/runs\/([A-Za-z0-9_-]+)/.exec(page.url())![1];
      await waitForSteps(1);
      // The backend the run got, as its worker reported it; a CPU backend has no GPU chip.
      await page.waitForSelector(`${tid('run-backend')}:text("wasm · TF.js")`);
      expect(await page.locator(tid('run-device')).count()).toBe(0);
      timings.startToFirstPointMs = Date.now() - t0;
      console.log(
        `time from "start run" to the first point on the curve: ${(timings.startToFirstPointMs / 1000).toFixed(1)} s`,
      );
      const n = await waitForSteps(3);
      timings.startToThirdPointMs = Date.now() - t0;
      expect(Number(await page.getAttribute(tid('loss-chart'), 'data-points'))).toBeGreaterThanOrEqual(3 * n);
      expect(await page.textContent(tid('eta'))).toMatch(/ETA \d/);
      await shot(page, '04-run-detail-live');
    },
    LONG,
  );

  it(
    'pauses the run and resumes it from its checkpoint',
    async () => {
      const t0 = Date.now();
      await page.click(tid('pause'));
      await waitForStatus('paused');
      timings.pauseMs = Date.now() - t0;
      const atPause = await stepsLogged();
      expect(atPause).toBeLessThan(A_STEPS);
      const details = await server.call<RunDetails>('runs.get', { id: state.runA });
      expect(details.run.status).toBe('paused');
      expect(details.checkpoints.length).toBeGreaterThan(0);
      expect(details.run.step).toBe(atPause);
      await page.waitForTimeout(1500);
      expect(await stepsLogged()).toBe(atPause);

      await page.click(tid('resume'));
      await waitForStatus('running');
      await waitForSteps(atPause + 1);
      await waitForStatus('completed');
      state.stepsA = await stepsLogged();
      expect(state.stepsA).toBe(A_STEPS);
      timings.runACompletedAfterMs = Date.now() - t0;
      await shot(page, '05-run-detail-completed');
    },
    LONG,
  );

  it(
    'shows a run interrupted by a crash as such, and resumes it',
    async () => {
      await page.goto(`${server.origin}/#/runs/new?dataset=${state.demoId}`);
      await fillRunForm({ name: 'B · byol', method: 'byol', epochs: B_EPOCHS });
      await page.click(tid('start-run'));
      await page.waitForSelector(tid('run-detail'));
      state.runB = /#\/runs\/([A-Za-z0-9_-]+)/.exec(page.url())![1];
      await waitForSteps(2);
      await page.click(tid('nav-runs'));
      await page.waitForSelector(`[data-run-name="B · byol"] [data-testid="eta"]`);
      await shot(page, '06-runs-live');

      // A hard crash: the server and the training process die without a word.
      const b = await server.call<RunDetails>('runs.get', { id: state.runB });
      expect(b.run.status).toBe('running');
      expect(b.run.step).toBeLessThan(B_STEPS - 5);
      expect(b.run.pid).toBeGreaterThan(0);
      // The training process is frozen first: left running, a worker whose server died checkpoints and
      // stops on its own, sometimes before the test's kill reaches it (engine-worker.ts).
      process.kill(b.run.pid!, 'SIGSTOP');
      expect(await server.stop('SIGKILL')).toBeNull();
      process.kill(b.run.pid!, 'SIGKILL');
      await processGone(b.run.pid!);
      server = await startServer(home);
      await openStudio(server);
      await page.click(tid('nav-runs'));
      const row = `[data-testid="run-row"][data-run-name="B · byol"]`;
      await page.waitForSelector(`${row} [data-status="interrupted"]`);
      await page.waitForSelector(`${row} ${tid('resume')}:text("Resume (interrupted)")`);
      await shot(page, '07-runs-interrupted');

      await page.click(`${row} ${tid('resume')}`);
      await page.waitForSelector(`${row} [data-status="completed"]`, { timeout: STEP_TIMEOUT });
      const after = await server.call<RunDetails>('runs.get', { id: state.runB });
      expect(after.run.step).toBe(B_STEPS);
      expect(after.log.some((l) => l.message.includes('interrupted'))).toBe(true);
    },
    LONG,
  );

  it(
    'compares the two runs: overlaid curves, differing config fields, CSV export',
    async () => {
      // The store holds every step once, the crashed and resumed run included.
      for (const [id, steps] of [
        [state.runA!, A_STEPS],
        [state.runB!, B_STEPS],
      ] as const) {
        const [loss] = await server.call<MetricSeries[]>('metrics.get', { runId: id, keys: ['loss/total'] });
        expect(loss.points.map((p) => p.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
      }
      await page.click(tid('nav-runs'));
      for (const name of ['A · self-emd', 'B · byol'])
        await page.check(`[data-testid="run-row"][data-run-name="${name}"] input[type=checkbox]`);
      await page.click(tid('compare-selected'));
      await page.waitForSelector(tid('compare-chart'));
      await page
        .waitForFunction(
          ([sel, n]) => Number(document.querySelector(sel)?.getAttribute('data-points')) >= n,
          [tid('compare-chart'), A_STEPS + B_STEPS] as const,
        )
        .catch(async (e: Error) => {
          const shown = await page.getAttribute(tid('compare-chart'), 'data-points');
          throw new Error(`the compare chart shows ${shown} points, not ${A_STEPS + B_STEPS}: ${e.message}`);
        });
      await page.waitForSelector(`${tid('config-diff')} tbody tr[data-path="method"]`);
      const diff = await page
        .locator(`${tid('config-diff')} tbody tr`)
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')));
      expect(diff).toEqual(expect.arrayContaining(['method', 'optim.epochs']));
      expect(diff).not.toContain('optim.batchSize');
      // What each run trained on comes from its record, shown whether or not it differs.
      const trainedOn = await page
        .locator(`${tid('trained-on')}[data-path="trained on"] td.mono`)
        .allTextContents();
      expect(trainedOn.map((t) => t.trim())).toEqual([
        expect.stringMatching(/^wasm · TF\.js \d/),
        expect.stringMatching(/^wasm · TF\.js \d/),
      ]);
      await page.waitForSelector(tid('eval-table'));
      await shot(page, '08-compare');

      const [download] = await Promise.all([page.waitForEvent('download'), page.click(tid('export-csv'))]);
      const csv = readFileSync((await download.path())!, 'utf8')
        .trim()
        .split('\n');
      expect(csv[0]).toBe('run_id,run_name,method,key,step,value,wall_time');
      expect(csv.filter((l) => l.startsWith(`${state.runA},`) && l.includes(',loss/total,'))).toHaveLength(
        A_STEPS,
      );
      expect(csv.filter((l) => l.startsWith(`${state.runB},`) && l.includes(',loss/total,'))).toHaveLength(
        B_STEPS,
      );

      // The view follows a changed link while it stays open: the runs in the other order.
      await page.evaluate(
        ([a, b]) => (window.location.hash = `#/compare?runs=${b},${a}`),
        [state.runA!, state.runB!],
      );
      await page.waitForSelector(`${tid('config-diff')} thead th:nth-child(2):text("B · byol")`);
    },
    LONG,
  );

  it(
    'opens the transport plan, re-rolls the crops and hovers a cell of crop 2',
    async () => {
      const t0 = Date.now();
      await page.goto(`${server.origin}/#/transport?run=${state.runA}`);
      await page.waitForSelector(tid('transport-result'), { timeout: STEP_TIMEOUT });
      timings.transportFirstPlanMs = Date.now() - t0;
      // A 64 px run has a 2×2 dense map: the 7×7, 5×5 and 3×3 pyramid levels need larger images.
      expect(await page.isDisabled(`${tid('transport-grid')} [data-value="3"]`)).toBe(true);
      expect(await page.getAttribute(`${tid('transport-grid')} [data-value="0"]`, 'aria-checked')).toBe(
        'true',
      );
      const boxes = `${tid('transport-result')} .facts .small`;
      const boxesBefore = await page.textContent(boxes);
      await page.click(tid('reroll'));
      await page.waitForSelector(tid('transport-busy'), { state: 'detached', timeout: STEP_TIMEOUT });
      await page.waitForFunction(
        ([sel, before]) => document.querySelector(sel as string)?.textContent !== before,
        [boxes, boxesBefore],
      );

      const crop2 = await page.locator(tid('crop2')).boundingBox();
      // Top-right cell of crop 2's 2×2 grid.
      await page.mouse.move(crop2!.x + crop2!.width * 0.75, crop2!.y + crop2!.height * 0.25);
      await page.waitForSelector(`${tid('crop2')}[data-hover-cell="1"]`);
      const heatMax = Number(await page.getAttribute(tid('heat-overlay'), 'data-heat-max'));
      const heatSum = Number(await page.getAttribute(tid('heat-overlay'), 'data-heat-sum'));
      expect(heatMax).toBeGreaterThan(0);
      // A column of π sums to that cell's marginal: more than nothing, less than the whole mass of 1.
      expect(heatSum).toBeGreaterThan(0);
      expect(heatSum).toBeLessThan(1);
      const overlayPixels = await page.evaluate((sel) => {
        const c = document.querySelector(sel) as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) painted++;
        return painted / (c.width * c.height);
      }, tid('heat-overlay'));
      expect(overlayPixels).toBeGreaterThan(0.9);
      await shot(page, '09-transport-hover');
      await page.mouse.move(0, 0);
      await page.waitForSelector(`${tid('crop2')}[data-hover-cell=""]`);
      timings.transportTotalMs = Date.now() - t0;
    },
    LONG,
  );

  it(
    'exports the backbone and shows where it went',
    async () => {
      await page.goto(`${server.origin}/#/export?run=${state.runA}`);
      await page.waitForFunction(
        (sel) =>
          ((document.querySelector(sel) as HTMLInputElement | null)?.value ?? '').endsWith('.safetensors'),
        tid('export-dest'),
      );
      const t0 = Date.now();
      await page.click(tid('export-start'));
      await page.waitForSelector(tid('export-result'), { timeout: STEP_TIMEOUT });
      timings.exportMs = Date.now() - t0;
      const file = (await page.textContent(tid('export-path')))!.trim();
      expect(file.startsWith(home)).toBe(true);
      const bytes = readFileSync(file);
      expect(statSync(file).size).toBeGreaterThan(1000);
      const headerLength = Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
        string,
        unknown
      >;
      expect(Object.keys(header)).toEqual(expect.arrayContaining(['conv1.weight', 'layer1.0.conv1.weight']));
      await page.waitForSelector(`${tid('export-history')} tbody tr >> text=safetensors`);
      await shot(page, '10-export');
    },
    LONG,
  );

  it(
    'finds the history intact after a restart of the server',
    async () => {
      expect(await server.stop('SIGTERM')).toBe(0);
      server = await startServer(home);
      await openStudio(server);
      await page.click(tid('nav-runs'));
      for (const name of ['A · self-emd', 'B · byol'])
        await page.waitForSelector(
          `[data-testid="run-row"][data-run-name="${name}"] [data-status="completed"]`,
        );
      await shot(page, '11-runs-after-restart');
      await page.fill('input.filter', 'no such run');
      await page.waitForSelector(`${tid('runs-no-match')}:text("No runs match")`);
      await page.fill('input.filter', '');
      await page.click(`[data-run-name="A · self-emd"] a`);
      await waitForSteps(state.stepsA!);
      expect(await stepsLogged()).toBe(state.stepsA);
      const runs = await server.call<RunRecord[]>('runs.list');
      expect(runs.map((r) => r.name).sort()).toEqual(['A · self-emd', 'B · byol']);
      const a = await server.call<RunDetails>('runs.get', { id: state.runA });
      expect(a.artifacts.some((x) => x.kind === 'export-safetensors')).toBe(true);
      await shot(page, '12-run-detail-after-restart');
    },
    LONG,
  );

  it(
    'the backend picker lists webgpu with its adapter once the GPU probe answers, or says why not',
    async () => {
      await page.goto(`${server.origin}/#/runs/new`);
      await page.waitForSelector(tid('field-backend'));
      // The probe (an engine worker asked for its adapter) answers once; the sidebar stops looking.
      await page.waitForFunction(
        (sel) => !document.querySelector(sel)?.textContent?.includes('looking'),
        tid('machine-gpu'),
        { timeout: 120_000 },
      );
      const { hardware } = await server.call<SystemInfo>('system.info');
      expect(hardware.webgpu.state).not.toBe('probing');
      const options = await page.$$eval(`${tid('field-backend')} option`, (os) =>
        os.map((o) => ({ value: (o as HTMLOptionElement).value, label: o.textContent?.trim() })),
      );
      expect(options).toEqual(backendOptions(hardware));
      const help = await page.textContent(`.field:has(${tid('field-backend')}) .help`);
      expect(help?.trim()).toBe(webGpuHelp(hardware.webgpu));
      if (hardware.webgpu.state === 'available') {
        expect(options.map((o) => o.value)).toContain('webgpu');
        expect(help).toContain(hardware.webgpu.adapter.vendor);
      } else {
        expect(options.map((o) => o.value)).not.toContain('webgpu');
        expect(help).toMatch(/^webgpu unavailable: ./);
      }
      await shot(page, '02b-backend-picker');
    },
    LONG,
  );
});
