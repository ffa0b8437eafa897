/**
 * MobileNetV2 end to end on wasm (its depthwise gradients are the engine's own kernels there): BYOL
 * and Self-EMD pretrain it (2 steps each, width 8 = width multiplier 0.25, 64 px), then Faster R-CNN
 * with an FPN on its four maps (features.3 / .6 / .13 / .18) fine-tunes from the Self-EMD
 * checkpoint and evaluates.
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import { loadPretrainImages } from '../../../src-main/engine/data/pretrain-data';
import type { RawImage } from '../../../src-main/engine/data/raw-image';
import { initBackbone } from '../../../src-main/engine/detection/backbone-init';
import { runFinetune } from '../../../src-main/engine/detection/finetune';
import { detectionDatasetFromCoco } from '../../../src-main/engine/detection/inputs';
import { listCheckpoints, loadCheckpoint } from '../../../src-main/engine/train/checkpoint';
import { runPretraining } from '../../../src-main/engine/train/pretrain';
import type { MetricSample } from '../../../src-main/engine/train/training-hooks';
import { tinyConfig } from '../train/tiny-config';
import { tempRunDir } from './overfit-fixture';
import { tinyFinetuneConfig } from './tiny-detector';

const MOBILENET = { name: 'mobilenet_v2', baseWidth: 8 };
/** A depthwise weight (features.2's 3×3) and a projection weight: both must train. */
const TRAINED = ['features.2.conv.1.0.weight', 'features.2.conv.2.weight'];

const root = tempRunDir('mobilenet-v2');
let images: RawImage[];
beforeAll(async () => {
  await initBackend('wasm');
  images = (await loadPretrainImages(tinyConfig().data)).images;
});

describe('mobilenet_v2 pretraining and transfer', () => {
  it('byol and self-emd pretrain it: finite losses, and its depthwise weights move', async () => {
    for (const method of ['byol', 'self-emd'] as const) {
      const metrics: MetricSample[] = [];
      const runDir = path.join(root, method);
      const result = await runPretraining({
        config: tinyConfig({ method, backbone: MOBILENET, optim: { epochs: 1 } }),
        images,
        runDir,
        hooks: { onMetrics: (p) => metrics.push(...p) },
      });
      expect(result, method).toMatchObject({ status: 'completed', step: 2 });
      const keys = new Set(metrics.map((m) => m.key));
      expect(keys.has('loss/emd'), method).toBe(method === 'self-emd');
      for (const m of metrics) expect(Number.isFinite(m.value), `${method} ${m.key}@${m.step}`).toBe(true);
      const [first, last] = [0, -1].map(
        (i) => loadCheckpoint(listCheckpoints(path.join(runDir, 'checkpoints')).at(i)!.dir).tensors,
      );
      for (const name of TRAINED) {
        const key = `online.params/backbone/${name}`;
        const a = first!.get(key)!.data;
        const b = last!.get(key)!.data;
        expect(a.length, key).toBeGreaterThan(0);
        expect(
          a.some((v, i) => v !== b[i]),
          `${method}: ${key} changed between steps 1 and 2`,
        ).toBe(true);
      }
    }
  });

  it('Faster R-CNN with an FPN on its maps fine-tunes from the self-emd checkpoint and evaluates', async () => {
    const scenes = generateDemoScenes({ count: 4, size: 64, seed: 5, stream: 'mobilenet-v2-transfer' });
    const data = detectionDatasetFromCoco(scenes.images, scenes.coco);
    const pretrainDir = path.join(root, 'self-emd');
    const config = tinyFinetuneConfig('faster-rcnn', 2, {
      backbone: MOBILENET,
      init: { kind: 'pretrain-run', path: pretrainDir },
    });
    // The checkpoint's identity is read back (name recorded, width from features.0.0.weight).
    await expect(
      initBackbone({ ...config, backbone: { ...config.backbone, baseWidth: 16 } }),
    ).rejects.toThrow(/holds a mobilenet_v2 of width 8, but backbone is mobilenet_v2 of width 16/);
    const log: string[] = [];
    const result = await runFinetune({
      config,
      train: data,
      val: data,
      runDir: path.join(root, 'finetune'),
      hooks: { onLog: (m) => log.push(m) },
    });
    expect(result).toMatchObject({ status: 'completed', step: 2 });
    expect(Number.isFinite(result.lastLoss)).toBe(true);
    expect(
      log.some((m) => /^backbone: self-emd checkpoint .*step 2/.test(m)),
      log.join('\n'),
    ).toBe(true);
    expect(result.evaluation!.stats).toHaveLength(12);
  });
});
