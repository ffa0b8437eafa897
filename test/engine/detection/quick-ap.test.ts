/**
 * Quick AP: during a fine-tune, AP50 on the first `eval.quickImages` val images is logged as
 * `val/quick_AP50` `eval.quickPerRun` times over the run (and at its end), so a run that is not
 * learning to detect shows between full evaluations. Its value is the AP50 of the model of that step
 * on exactly those images: checked against the saved final model scored on them afterwards.
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { QUICK_AP50_KEY, resolveFinetuneConfig } from '../../../shared/config/finetune';
import { mergeDefaults } from '../../../shared/config/validation';
import { initBackend } from '../../../src-main/engine/backend/select';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import { datasetHead, evaluateDetector } from '../../../src-main/engine/detection/evaluate';
import { runFinetune } from '../../../src-main/engine/detection/finetune';
import { detectionDatasetFromCoco } from '../../../src-main/engine/detection/inputs';
import { loadFinetunedDetector } from '../../../src-main/engine/detection/predict';
import type { MetricSample } from '../../../src-main/engine/train/training-hooks';
import { tempRunDir } from './overfit-fixture';
import { TINY_DETECTOR } from './tiny-detector';

const root = tempRunDir('quick-ap');
beforeAll(async () => {
  await initBackend('wasm');
});

const scenes = generateDemoScenes({ count: 4, size: 64, seed: 11, stream: 'quick-ap-test' });
const data = detectionDatasetFromCoco(scenes.images, scenes.coco);

describe('quick AP', () => {
  it('keeps the first images and only their ground truth', () => {
    const head = datasetHead(data, 2);
    const ids = data.samples.slice(0, 2).map((s) => s.imageId);
    expect(head.samples.map((s) => s.imageId)).toEqual(ids);
    expect(head.coco.images.map((im) => im.id)).toEqual(ids);
    expect(head.coco.annotations.length).toBeGreaterThan(0);
    expect(head.coco.annotations.every((a) => ids.includes(a.image_id))).toBe(true);
    expect(head.coco.annotations.length).toBeLessThan(data.coco.annotations.length);
    expect(datasetHead(data, 10)).toBe(data);
  });

  it('is logged at its steps during a fine-tune and scores that step’s model on those images', async () => {
    const config = resolveFinetuneConfig(
      mergeDefaults(
        {
          detector: 'faster-rcnn',
          backend: 'wasm',
          ...TINY_DETECTOR,
          data: { minSizeTrain: [64, 64], maxSizeTrain: 96, minSizeTest: 64, maxSizeTest: 96, hflip: false },
          optim: { epochs: 3, batchSize: 2, lr: 0.02, warmupFraction: 0.2 },
          eval: { quickImages: 2, quickPerRun: 3 },
          checkpoint: { everySteps: 100 },
        },
        {},
      ),
    );
    const runDir = path.join(root, 'run');
    const metrics: MetricSample[] = [];
    const logs: string[] = [];
    const result = await runFinetune({
      config,
      train: data,
      val: data,
      runDir,
      hooks: { onMetrics: (ps) => metrics.push(...ps), onLog: (l) => logs.push(l) },
    });
    expect(result).toMatchObject({ status: 'completed', step: 6 });
    const quick = metrics.filter((m) => m.key === QUICK_AP50_KEY);
    expect(quick.map((m) => m.step)).toEqual([2, 4, 6]);
    for (const q of quick) {
      expect(q.value).toBeGreaterThanOrEqual(0);
      expect(q.value).toBeLessThanOrEqual(1);
    }
    expect(logs.filter((l) => /quick AP50 [\d.]+ on 2 val images/.test(l))).toHaveLength(3);
    const model = loadFinetunedDetector(runDir);
    try {
      const again = await evaluateDetector(model.detector, datasetHead(data, 2), config);
      expect(quick.at(-1)!.value).toBeCloseTo(Math.max(0, again.stats[1]!), 6);
      expect(model.step).toBe(6);
    } finally {
      model.detector.dispose();
    }
  }, 180_000);
});
