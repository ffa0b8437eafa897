/**
 * MoCo v2 and SimCLR through the normal pretraining loop on wasm at tiny sizes: they train, report
 * their metrics, and MoCo's queue (rows and pointer) is checkpointed and resumed exactly.
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { loadPretrainImages } from '../../../src-main/engine/data/pretrain-data';
import type { RawImage } from '../../../src-main/engine/data/raw-image';
import { listCheckpoints, loadCheckpoint } from '../../../src-main/engine/train/checkpoint';
import { runPretraining } from '../../../src-main/engine/train/pretrain';
import type { MetricSample } from '../../../src-main/engine/train/training-hooks';
import { pauseThenResume } from './pause-resume';
import { tinyConfig } from './tiny-config';
import { tempDir } from '../../temp-dir';

let images: RawImage[];
const tmp = () => tempDir('pretrain-baselines-');
const heads = {
  moco: { queueSize: 12, projectorHidden: 32, projectionDim: 16 },
  simclr: { projectorHidden: 32, projectionDim: 16 },
};

beforeAll(async () => {
  await initBackend('wasm');
  images = (await loadPretrainImages(tinyConfig().data)).images;
});

const checkpoints = (runDir: string) =>
  listCheckpoints(path.join(runDir, 'checkpoints')).map((c) =>
    loadCheckpoint<{ queuePointer?: number }>(c.dir),
  );

describe('contrastive baselines through the pretraining loop', () => {
  it('moco-v2 and simclr train two steps with finite losses near their chance values', async () => {
    // Chance: every logit equal, InfoNCE = log(K + 1), NT-Xent = log(2N − 1). SimCLR starts near it;
    // MoCo starts below it (the positive comes from the same weights, the queue from random rows).
    const chance = { 'moco-v2': Math.log(12 + 1), simclr: Math.log(2 * 4 - 1) };
    for (const method of ['moco-v2', 'simclr'] as const) {
      const metrics: MetricSample[] = [];
      const runDir = tmp();
      const result = await runPretraining({
        config: tinyConfig({ method, ...heads, optim: { epochs: 1 } }),
        images,
        runDir,
        hooks: { onMetrics: (p) => metrics.push(...p) },
      });
      expect(result).toMatchObject({ status: 'completed', step: 2, totalSteps: 2 });
      const keys = new Set(metrics.map((m) => m.key));
      for (const k of ['loss/total', 'loss/global', 'opt/lr', 'opt/tau', 'monitor/collapse_std'])
        expect(keys.has(k), `${method} ${k}`).toBe(true);
      expect(keys.has('loss/emd')).toBe(false);
      const total = metrics.filter((m) => m.key === 'loss/total').map((m) => m.value);
      expect(total).toHaveLength(2);
      for (const v of total) {
        expect(v, method).toBeGreaterThan(method === 'simclr' ? chance.simclr - 1 : 0);
        expect(v, method).toBeLessThan(chance[method] + 1);
      }
      const tau = metrics.filter((m) => m.key === 'opt/tau').map((m) => m.value);
      expect(tau).toEqual(method === 'moco-v2' ? [0.99, 0.99] : [0, 0]);
      // No predictor in either; MoCo's checkpoint carries its queue, SimCLR's none.
      const last = checkpoints(runDir).at(-1)!;
      expect([...last.tensors.keys()].some((k) => k.includes('predictor'))).toBe(false);
      expect(last.tensors.get('moco.queue')?.shape).toEqual(method === 'moco-v2' ? [12, 16] : undefined);
    }
  });

  it("moco-v2's queue wraps across steps and resumes exactly: 4 steps equal 2 + resume + 2", async () => {
    const config = tinyConfig({ method: 'moco-v2', ...heads });
    const straight = tmp();
    await runPretraining({ config, images, runDir: straight });
    // 8 keys a step into 12 rows: the pointer goes 8, 4, 0, 8.
    const kept = checkpoints(straight);
    expect(kept.map((c) => c.state.queuePointer)).toEqual([4, 0, 8]);
    expect(Array.from(kept[0].tensors.get('moco.queue')!.data)).not.toEqual(
      Array.from(kept[2].tensors.get('moco.queue')!.data),
    );

    const interrupted = tmp();
    await pauseThenResume(config, images, interrupted, 2, 4);

    const a = checkpoints(straight).at(-1)!;
    const b = checkpoints(interrupted).at(-1)!;
    expect(b.state.queuePointer).toBe(a.state.queuePointer);
    expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
    for (const [k, t] of a.tensors) expect(Array.from(b.tensors.get(k)!.data), k).toEqual(Array.from(t.data));
  });
});
