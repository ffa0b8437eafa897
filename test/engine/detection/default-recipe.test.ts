/**
 * Issue 12's end-to-end check that the default CPU recipe learns to detect, not just to overfit: a
 * Faster R-CNN with `cpuFinetuneOverrides('faster-rcnn')` (learning rate, warm-up, sizes, anchors, sample
 * counts), from random init, trained on a small subset of the demo train split and scored on
 * held-back demo val scenes it never saw. Only the subset size and the number of epochs differ
 * from the preset, so the run fits the test budget (~60 s on an idle machine). RetinaNet is not
 * tested here: its preset (192 px, 1024 steps) reaches val AP50 38 in ~7 CPU minutes, but a step
 * costs ~0.4 CPU s and its total loss is still ~1.0 after 150 steps, too slow for this budget
 * (docs/detection.md); its cause has its own test (retinanet-head-init.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cpuFinetuneOverrides, resolveFinetuneConfig } from '../../../shared/config/finetune';
import { mergeDefaults } from '../../../shared/config/validation';
import { initBackend } from '../../../src-main/engine/backend/select';
import { loadDetectionData } from '../../../src-main/engine/detection/datasets';
import { runFinetune } from '../../../src-main/engine/detection/finetune';
import { tempRunDir } from './overfit-fixture';

const runDir = tempRunDir('default-recipe');

beforeAll(async () => {
  await initBackend('wasm');
});

/** The preset on 32 train / 16 val demo scenes: 8 steps an epoch, 160 steps. */
const SUBSET = {
  detector: 'faster-rcnn',
  data: { demoTrain: 32, demoVal: 16 },
  backend: 'wasm',
  checkpoint: { everySteps: 100_000 },
};
const EPOCHS = 20;
/**
 * Measured here: AP50 11.5 (AP 2.7) after 160 steps, 46 CPU seconds (docs/detection.md). The bound
 * leaves room for other machines' float differences; the flat runs of issue 12 scored 0.
 */
const MIN_AP50 = 0.07;

describe('default CPU recipe', () => {
  it(`Faster R-CNN from random init reaches AP50 ≥ ${Math.round(100 * MIN_AP50)} on unseen demo scenes in 160 steps`, async () => {
    const config = resolveFinetuneConfig(
      mergeDefaults(mergeDefaults(cpuFinetuneOverrides('faster-rcnn'), SUBSET), {
        optim: { epochs: EPOCHS },
      }),
    );
    expect(config.detector).toBe('faster-rcnn');
    const data = await loadDetectionData(config);
    const trainIds = new Set(data.train.samples.map((s) => s.image.id));
    expect(data.val.samples.some((s) => trainIds.has(s.image.id))).toBe(false);
    const losses: number[] = [];
    const t0 = performance.now();
    const result = await runFinetune({
      config,
      train: data.train,
      val: data.val,
      runDir,
      hooks: { onMetrics: (ps) => ps.forEach((p) => p.key === 'loss/total' && losses.push(p.value)) },
    });
    const seconds = (performance.now() - t0) / 1000;
    const stats = result.evaluation!.stats;
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const first = mean(losses.slice(0, 20));
    const last = mean(losses.slice(-20));
    console.log(
      `[default recipe] ${result.step} steps in ${seconds.toFixed(1)} s; loss ${first.toFixed(3)} → ${last.toFixed(3)}; ` +
        `val AP ${(100 * stats[0]!).toFixed(1)} AP50 ${(100 * stats[1]!).toFixed(1)}`,
    );
    expect(result.status).toBe('completed');
    expect(result.step).toBe(160);
    expect(last).toBeLessThan(first);
    expect(stats[1]).toBeGreaterThanOrEqual(MIN_AP50);
  }, 300_000);
});
