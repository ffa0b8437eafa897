/**
 * ResNet-101's fine-tune path, once, at width 4: Faster R-CNN with an FPN on its res2..res5 maps
 * trains 2 steps on wasm from random init and evaluates. (Its pretraining shares every part with
 * ResNet-50's, tested in pretrain.test.ts; here the 23-block res4 goes through the detector.)
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import { runFinetune } from '../../../src-main/engine/detection/finetune';
import { detectionDatasetFromCoco } from '../../../src-main/engine/detection/inputs';
import { createBackbone } from '../../../src-main/engine/models/registry';
import { tempRunDir } from './overfit-fixture';
import { tinyFinetuneConfig } from './tiny-detector';

const root = tempRunDir('resnet101');
beforeAll(async () => {
  await initBackend('wasm');
});

describe('resnet101 fine-tuning', () => {
  it('Faster R-CNN with an FPN on its four maps trains 2 steps and evaluates', async () => {
    const backbone = createBackbone('resnet101', { baseWidth: 4, seed: 3 });
    // bottleneck widths: 4·4·2^k channels at strides 4..32; 23 blocks in layer3
    expect(backbone.featureInfo).toEqual({
      res2: { stride: 4, channels: 16 },
      res3: { stride: 8, channels: 32 },
      res4: { stride: 16, channels: 64 },
      res5: { stride: 32, channels: 128 },
    });
    expect(backbone.params.has('layer3.22.conv3.weight')).toBe(true);
    const scenes = generateDemoScenes({ count: 4, size: 64, seed: 7, stream: 'resnet101-finetune' });
    const data = detectionDatasetFromCoco(scenes.images, scenes.coco);
    const config = tinyFinetuneConfig('faster-rcnn', 2, { backbone: { name: 'resnet101', baseWidth: 4 } });
    const metrics: { key: string; value: number }[] = [];
    const result = await runFinetune({
      config,
      train: data,
      val: data,
      runDir: path.join(root, 'run'),
      backbone,
      hooks: { onMetrics: (p) => metrics.push(...p) },
    });
    expect(result).toMatchObject({ status: 'completed', step: 2 });
    expect(Number.isFinite(result.lastLoss)).toBe(true);
    expect(metrics.length).toBeGreaterThan(0);
    for (const m of metrics) expect(Number.isFinite(m.value), `${m.key}`).toBe(true);
    expect(result.evaluation!.stats).toHaveLength(12);
  });
});
