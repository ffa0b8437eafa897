/**
 * Detector fine-tuning on webgpu keeps its memory flat: with multi-scale short sides (40–64 px, a
 * new resize shape almost every step) and, for Faster R-CNN, RoI and RoIAlign sample counts that
 * change with every batch's proposals, the live tensor count is the same after every step and no
 * tensor-sized GPU buffer is allocated after the pool has filled (webgpu's pool never frees: before the
 * shapes were fixed, this run grew by ~1.1 MB a step — scripts/gpu-memory.ts). Tiny: width 4,
 * 64 px demo scenes, batch 2, 4 steps (the fewest expectFlatMemory takes: two to fill the pool, two
 * to show it flat; unpadded sizes grow it at every step, so two catch them).
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveFinetuneConfig } from '../../../shared/config/finetune';
import { mergeDefaults } from '../../../shared/config/validation';
import { deviceMemory, type DeviceMemory } from '../../../src-main/engine/backend/device-memory';
import { initBackend, releaseBackend } from '../../../src-main/engine/backend/select';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import { runFinetune } from '../../../src-main/engine/detection/finetune';
import { detectionDatasetFromCoco } from '../../../src-main/engine/detection/inputs';
import { expectFlatMemory, probeWebGpu, reportSkip } from '../backend/webgpu-harness';
import { tempRunDir } from './overfit-fixture';
import { TINY_DETECTOR } from './tiny-detector';

const probe = await probeWebGpu();
reportSkip('webgpu-finetune-memory.test.ts', probe);
const root = tempRunDir('webgpu-finetune-memory');
afterAll(() => {
  releaseBackend();
  fs.rmSync(root, { recursive: true, force: true });
});

const STEPS = 4;
const scenes = generateDemoScenes({ count: 4, size: 64, seed: 11, stream: 'webgpu-finetune-memory' });
const train = detectionDatasetFromCoco(scenes.images, scenes.coco);

describe.skipIf(!probe.info)('fine-tuning on webgpu: flat memory', () => {
  for (const detector of ['faster-rcnn', 'retinanet'] as const)
    it(`${detector} with multi-scale sizes`, async () => {
      await initBackend('webgpu', { env: {} });
      const config = resolveFinetuneConfig(
        mergeDefaults(
          {
            detector,
            ...TINY_DETECTOR,
            data: { minSizeTrain: [40, 64], maxSizeTrain: 96, hflip: true },
            optim: { epochs: STEPS / 2, batchSize: 2, lr: 0.01, warmupFraction: 0.25, decayAt: [0.5] },
            checkpoint: { everySteps: 1000 },
          },
          {},
        ),
      );
      const memory: DeviceMemory[] = [];
      const losses: number[] = [];
      const result = await runFinetune({
        config,
        train,
        runDir: `${root}/${detector}`,
        hooks: {
          onProgress: () => memory.push(deviceMemory()),
          onMetrics: (points) =>
            losses.push(...points.filter((p) => p.key === 'loss/total').map((p) => p.value)),
        },
      });
      expect(result).toMatchObject({ status: 'completed', step: STEPS });
      expect(losses).toHaveLength(STEPS);
      expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
      expect(memory).toHaveLength(STEPS);
      expectFlatMemory(memory, detector);
    }, 900_000);
});
