/**
 * The probe during pretraining: with probe.data set, a tiny run reports probe/linear_top1 and
 * probe/knn_top1 every probe.every steps and after the last, as accuracies; the probe is off by default.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { pretrainConfigIssues, resolvePretrainConfig } from '../../../shared/config/pretrain';
import { ConfigError } from '../../../shared/config/validation';
import { initBackend } from '../../../src-main/engine/backend/select';
import { loadPretrainImages } from '../../../src-main/engine/data/pretrain-data';
import type { RawImage } from '../../../src-main/engine/data/raw-image';
import { runPretraining } from '../../../src-main/engine/train/pretrain';
import type { MetricSample } from '../../../src-main/engine/train/training-hooks';
import { tinyConfig } from '../train/tiny-config';
import { tempDir } from '../../temp-dir';

let images: RawImage[];

beforeAll(async () => {
  await initBackend('wasm');
  images = (await loadPretrainImages(tinyConfig().data)).images;
});

describe('probe during pretraining', () => {
  it('records the probe metrics every probe.every steps and at the end', async () => {
    // 8 images, batch 4, 2.5 epochs: 5 steps; probes before step 1, after steps 2, 4 and the last (5).
    const config = tinyConfig({ optim: { epochs: 2.5 }, probe: { data: 'demo', every: 2, demoImages: 6 } });
    const metrics: MetricSample[] = [];
    const log: string[] = [];
    const result = await runPretraining({
      config,
      images,
      runDir: tempDir('probe-pretrain-'),
      prefetch: 'none',
      hooks: { onMetrics: (p) => metrics.push(...p), onLog: (m) => log.push(m) },
    });
    expect(result).toMatchObject({ status: 'completed', step: 5 });
    for (const key of ['probe/linear_top1', 'probe/knn_top1']) {
      const points = metrics.filter((m) => m.key === key);
      expect(
        points.map((m) => m.step),
        key,
      ).toEqual([0, 2, 4, 5]);
      for (const p of points) {
        expect(p.value).toBeGreaterThanOrEqual(0);
        expect(p.value).toBeLessThanOrEqual(1);
      }
    }
    expect(log.filter((m) => /^step \d+: probe linear top-1/.test(m))).toHaveLength(4);
  });

  it('is off by default, and its fields are validated by name', () => {
    expect(resolvePretrainConfig().probe.data).toBe('');
    const issues = pretrainConfigIssues({
      ...resolvePretrainConfig(),
      probe: { data: 3, every: 0, demoImages: 50 },
    });
    expect(issues.map((i) => i.path).sort()).toEqual(['probe.data', 'probe.every']);
    expect(() => resolvePretrainConfig({ probe: { every: 1.5 } })).toThrow(ConfigError);
  });
});
