/**
 * `selfemd finetune --find-lr`: the range test runs the fine-tune's own steps at exponentially growing
 * rates for both detectors, records the loss curve, suggests a rate inside the range, and writes
 * nothing — no run folder, no checkpoint, no run in the store — unless --find-lr-out names a file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveFinetuneConfig } from '../../../shared/config/finetune';
import { mergeDefaults } from '../../../shared/config/validation';
import { findLrCommand, finetuneOverrides } from '../../../src-main/cli/commands/finetune';
import { initBackend } from '../../../src-main/engine/backend/select';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import { findLearningRate } from '../../../src-main/engine/detection/find-lr';
import { detectionDatasetFromCoco } from '../../../src-main/engine/detection/inputs';
import { openStore } from '../../../src-main/store';
import { tempRunDir } from './overfit-fixture';
import { TINY_DETECTOR } from './tiny-detector';

const root = tempRunDir('find-lr');
beforeAll(async () => {
  await initBackend('wasm');
});

const scenes = generateDemoScenes({ count: 8, size: 64, seed: 5, stream: 'find-lr-test' });
const train = detectionDatasetFromCoco(scenes.images, scenes.coco);
const TINY = {
  backend: 'wasm',
  ...TINY_DETECTOR,
  data: { minSizeTrain: [48, 64], maxSizeTrain: 96, minSizeTest: 64, maxSizeTest: 96 },
  optim: { batchSize: 2 },
};

describe('learning-rate range test', () => {
  for (const detector of ['retinanet', 'faster-rcnn'] as const) {
    it(`${detector}: records the curve at growing rates and suggests a rate inside the range`, async () => {
      const config = resolveFinetuneConfig(mergeDefaults(TINY, { detector }));
      const seen: number[] = [];
      const r = await findLearningRate(config, train, {
        minLr: 1e-4,
        maxLr: 3,
        steps: 16,
        onPoint: (p) => seen.push(p.lr),
      });
      expect(r.points.length).toBeGreaterThanOrEqual(6);
      expect(r.points.length).toBeLessThanOrEqual(16);
      expect(seen).toEqual(r.points.map((p) => p.lr));
      expect(r.points[0]!.lr).toBeCloseTo(1e-4, 10);
      r.points.forEach((p, i) => {
        expect(p.step).toBe(i + 1);
        if (i > 0) expect(p.lr).toBeGreaterThan(r.points[i - 1]!.lr);
        if (i < r.suggestion.divergedAt! || r.suggestion.divergedAt === null)
          expect(Number.isFinite(p.loss)).toBe(true);
      });
      // The losses are the detector's, not constants: they change from step to step.
      expect(new Set(r.points.map((p) => p.loss.toFixed(6))).size).toBeGreaterThan(r.points.length / 2);
      expect(r.suggestion.lr).toBeGreaterThanOrEqual(1e-4);
      expect(r.suggestion.lr).toBeLessThanOrEqual(3);
      expect(r.points[r.suggestion.index]!.lr).toBe(r.suggestion.lr);
    }, 120_000);
  }

  it('the CLI prints the table and suggestion, records no run, and writes only --find-lr-out', async () => {
    const home = path.join(root, 'home');
    fs.mkdirSync(home, { recursive: true });
    const configFile = path.join(root, 'tiny.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({ ...TINY, data: { ...TINY.data, demoTrain: 8, demoVal: 2, demoSize: 64 } }),
    );
    const out = path.join(root, 'curve', 'lr.json');
    const argv = ['--detector', 'retinanet', '--init', 'random', '--train', 'demo', '--val', 'demo'];
    const lrArgs = ['--find-lr', '--find-lr-steps', '12', '--find-lr-min', '1e-4', '--find-lr-max', '1'];
    const plan = finetuneOverrides(
      [...argv, '--config', configFile, '--name', 'lr-test', ...lrArgs, '--find-lr-out', out],
      home,
      () => undefined,
    );
    expect(plan.findLr).toEqual({ minLr: 1e-4, maxLr: 1, steps: 12, out });
    let printed = '';
    const result = await findLrCommand(home, plan, (t) => (printed += t));
    expect(printed).toContain('lr range test: retinanet');
    expect(printed).toMatch(/suggested lr: [\d.e-]+ \(steepest descent/);
    expect(printed.split('\n').filter((l) => /^\s+\d+\s+\d\.\d+e[-+]\d+/.test(l))).toHaveLength(
      result.points.length,
    );
    const saved = JSON.parse(fs.readFileSync(out, 'utf8')) as {
      points: unknown[];
      suggestion: { lr: number };
    };
    expect(saved.points).toHaveLength(result.points.length);
    expect(saved.suggestion.lr).toBe(result.suggestion.lr);
    // No run: no run folder, no checkpoint, nothing in the store.
    expect(fs.existsSync(plan.runDir)).toBe(false);
    expect(fs.existsSync(path.join(home, 'runs'))).toBe(false);
    const store = openStore(path.join(home, 'studio.db'));
    try {
      expect(store.listRuns({})).toHaveLength(0);
    } finally {
      store.close();
    }
    expect(() => finetuneOverrides([...argv, '--find-lr-out', out], home)).toThrow(
      /--find-lr-out needs --find-lr/,
    );
  }, 120_000);
});
