/**
 * What a new user meets (mostly on the Datasets screen), in a real browser against browser mode: a VOC folder
 * offers its splits (ImageSets/Main) and takes another image folder than JPEGImages/; a labelled
 * image opens with its boxes drawn, the ones the import clipped marked. No training here. Screenshots go to test-artifacts/e2e.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store';
import { writePng } from '../server/fixtures';
import { e2eBrowser, shot, startServer, type ServerProcess } from './harness';
import { endSession, openBrowserPage, screenshotFailures, showStudio } from './session';
import { tempDir } from '../temp-dir';

const LONG = 120_000;
let tmp: string;
let server: ServerProcess;
let browser: BrowserContext;
let page: Page;

const tid = (id: string) => `[data-testid="${id}"]`;
const EXPORTED = '/exports/emd-r18.safetensors';

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** A VOC folder whose images are in photos/, with train (2 ids) and val (1 id) lists. */
async function vocFolder(root: string): Promise<string> {
  for (const [k, id] of ['a1', 'a2', 'b1'].entries()) {
    await writePng(path.join(root, 'photos', `${id}.png`), 48, 32, k + 1);
    write(
      path.join(root, 'Annotations', `${id}.xml`),
      `<annotation><filename>${id}.png</filename><object><name>dog</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object></annotation>`,
    );
  }
  write(path.join(root, 'ImageSets', 'Main', 'train.txt'), 'a1\na2\n');
  write(path.join(root, 'ImageSets', 'Main', 'val.txt'), 'b1\n');
  return root;
}

beforeAll(async () => {
  tmp = tempDir('selfemd-e2e-ds-');
  // a pretraining run with one export on record, for the fine-tune form's list of the studio's exports
  const home = path.join(tmp, 'home');
  mkdirSync(home, { recursive: true });
  const store = openStore(path.join(home, 'studio.db'));
  store.createRun({
    id: 'ex-run-0001',
    kind: 'pretrain',
    name: 'emd r18',
    method: 'self-emd',
    backbone: 'resnet18',
    config: {},
  });
  store.addArtifact({
    runId: 'ex-run-0001',
    kind: 'export-safetensors',
    path: EXPORTED,
    meta: { checkpointStep: 40 },
  });
  store.close();
  server = await startServer(home);
  ({ browser, page } = await openBrowserPage(tmp));
  await showStudio(page, server);
}, 120_000);

screenshotFailures('ds-', () => page);

afterAll(async () => {
  await endSession({ browser, server, tmp });
}, 60_000);

// '' (after one line saying what to install) where this machine has no browser: the file skips
const browserPath = e2eBrowser(path.basename(__filename));

describe.skipIf(!browserPath)('the Datasets screen for a new user', () => {
  it(
    'a VOC folder offers its splits and takes another image folder',
    async () => {
      const root = await vocFolder(path.join(tmp, 'VOC2012'));
      await page.click(tid('nav-datasets'));
      await page.fill(tid('import-path'), root);
      await page.waitForSelector(`${tid('import-split')} option[value="val"]`, { state: 'attached' });
      const options = await page.locator(`${tid('import-split')} option`).allTextContents();
      expect(options.map((o) => o.trim())).toEqual([
        'every annotation file',
        'train (ImageSets/Main/train.txt)',
        'val (ImageSets/Main/val.txt)',
      ]);
      await page.selectOption(tid('import-split'), 'val');
      expect(await page.getAttribute(tid('import-image-dir'), 'placeholder')).toMatch(/VOC image folder/);
      await page.fill(tid('import-image-dir'), path.join(root, 'photos'));
      await page.click(tid('import-start'));
      await page.waitForSelector(`${tid('dataset-title')}:text("VOC2012 (val)")`);
      expect(await page.textContent(tid('dataset-images'))).toBe('1');
      await shot(page, 'ds-01-voc-split');
    },
    LONG,
  );

  it(
    'opens a labelled image with its boxes drawn, the clipped one marked; Esc closes it',
    async () => {
      const root = path.join(tmp, 'coco-boxes');
      await writePng(path.join(root, 'a.png'), 120, 80, 1);
      write(
        path.join(root, 'gt.json'),
        JSON.stringify({
          images: [{ id: 1, file_name: 'a.png' }],
          annotations: [
            { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 40, 30] },
            { id: 2, image_id: 1, category_id: 2, bbox: [100, 50, 40, 40] },
          ],
          categories: [
            { id: 1, name: 'cat' },
            { id: 2, name: 'dog' },
          ],
        }),
      );
      await page.fill(tid('import-path'), path.join(root, 'gt.json'));
      await page.click(tid('import-start'));
      await page.waitForSelector(`${tid('dataset-title')}:text("gt")`);
      expect(await page.locator(tid('report-row')).allTextContents()).toEqual([
        expect.stringMatching(/clipped to \[100, 50, 20, 30\]/),
      ]);
      await page.click(tid('thumb'));
      await page.waitForSelector(`${tid('viewer-box')}[data-clipped="yes"]`);
      const boxes = page.locator(tid('viewer-box'));
      expect(await boxes.count()).toBe(2);
      expect(
        await page.locator(`${tid('viewer-box')}[data-clipped="yes"]`).getAttribute('data-category'),
      ).toBe('dog');
      expect(await page.textContent(tid('viewer-clipped'))).toContain('1 clipped to the image');
      // the clipped box is drawn where the report says: its right edge on the image's
      const img = (await page.locator(`${tid('image-viewer')} img`).boundingBox())!;
      const clipped = (await page.locator(`${tid('viewer-box')}[data-clipped="yes"] rect`).boundingBox())!;
      expect(Math.abs(clipped.x + clipped.width - (img.x + img.width))).toBeLessThan(3);
      expect(Math.abs(clipped.x - (img.x + (100 / 120) * img.width))).toBeLessThan(3);
      await shot(page, 'ds-02-image-viewer');
      await page.keyboard.press('Escape');
      await page.waitForSelector(tid('image-viewer'), { state: 'detached' });
    },
    LONG,
  );

  it(
    'pickers: titles match the buttons that open them, a file picker offers no folder button, Esc closes',
    async () => {
      await page.click(tid('nav-datasets'));
      await page.click('button:text("COCO file…")');
      await page.waitForSelector(`${tid('path-picker')} strong:text("Import a COCO annotation file")`);
      expect(await page.locator(tid('picker-use-folder')).count()).toBe(0);
      await page.keyboard.press('Escape');
      await page.waitForSelector(tid('path-picker'), { state: 'detached' });
      await page.click('button:text("Browse folder…")');
      await page.waitForSelector(`${tid('path-picker')} strong:text("Import a dataset folder")`);
      expect(await page.textContent(tid('picker-use-folder'))).toContain('Use this folder');
      await page.keyboard.press('Escape');
      await page.waitForSelector(tid('path-picker'), { state: 'detached' });
    },
    LONG,
  );

  it(
    'the hovered option of a segmented control stays readable in both themes; Fine-tune is in the sidebar',
    async () => {
      await page.click(tid('nav-finetune'));
      await page.waitForSelector(tid('finetune-view'));
      expect(await page.getAttribute(tid('nav-finetune'), 'class')).toMatch(/\bon\b|active/);
      await page.click(tid('nav-new-run'));
      await page.waitForSelector(tid('run-method'));
      for (const theme of ['dark', 'light']) {
        if ((await page.textContent(tid('theme-toggle')))?.includes(theme === 'light' ? 'Light' : 'Dark'))
          await page.click(tid('theme-toggle'));
        for (const option of await page.locator(`${tid('run-method')} button`).all()) {
          await option.hover();
          await page.waitForTimeout(50);
          const ratio = await option.evaluate((el) => {
            const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
            const lum = (c: string) => {
              const [r, g, b] = rgb(c).map((v) => {
                const s = v / 255;
                return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
              });
              return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
            };
            const style = getComputedStyle(el);
            const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
            return (a! + 0.05) / (b! + 0.05);
          });
          expect(ratio, `${theme}: ${await option.textContent()}`).toBeGreaterThan(3);
        }
      }
      await shot(page, 'ds-03-segmented-hover-light');
      await page.click(tid('theme-toggle'));
    },
    LONG,
  );

  it(
    'checks the demo scene count in the form before asking the studio',
    async () => {
      await page.click(tid('nav-datasets'));
      await page.click('text=Add demo scenes');
      await page.fill(tid('demo-count'), '1');
      await page.waitForSelector(`${tid('issue-demo-count')}:text("scene count must be ≥ 2, got 1")`);
      expect(await page.isDisabled(tid('demo-add'))).toBe(true);
      await page.fill(tid('demo-count'), '12');
      await page.waitForSelector(tid('issue-demo-count'), { state: 'detached' });
      expect(await page.isDisabled(tid('demo-add'))).toBe(false);
    },
    LONG,
  );

  it(
    "the fine-tune form's exported-file init offers the studio's exports and a file picker",
    async () => {
      await page.click(tid('nav-finetune'));
      await page.waitForSelector(tid('finetune-view'));
      await page.click(`${tid('ft-init')} [data-value="file"]`);
      await page.waitForSelector(`${tid('ft-weights-export')} option[value="${EXPORTED}"]`, {
        state: 'attached',
      });
      expect(await page.textContent(`${tid('ft-weights-export')} option[value="${EXPORTED}"]`)).toBe(
        'emd r18 · safetensors · step 40',
      );
      await page.selectOption(tid('ft-weights-export'), EXPORTED);
      expect(await page.inputValue(tid('ft-weights'))).toBe(EXPORTED);
      // the file is checked where it trains: this one is not there
      await page.waitForSelector(`${tid('issue-weightsPath')}:has-text("${EXPORTED}")`);
      await page.click(tid('ft-weights-browse'));
      await page.waitForSelector(`${tid('path-picker')} strong:text("Choose a backbone file")`);
      await page.keyboard.press('Escape');
      await page.waitForSelector(tid('path-picker'), { state: 'detached' });
    },
    LONG,
  );
});
