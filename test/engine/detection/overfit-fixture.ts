/**
 * Shared set-up of the overfit tests: a handful of demo scenes (the real generator, all six
 * classes, objects from ~5 px up) fine-tuned and evaluated on themselves at one scale, through the
 * real fine-tuning loop (runFinetune), on a ResNet-18 of width 8 from random init.
 */
import { expect } from 'vitest';
import {
  resolveFinetuneConfig,
  type DetectorName,
  type FinetuneConfig,
} from '../../../shared/config/finetune';
import { mergeDefaults } from '../../../shared/config/validation';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import { detectionDatasetFromCoco, type DetectionDataset } from '../../../src-main/engine/detection/inputs';
import { tempDir } from '../../temp-dir';

export const OVERFIT_SIZE = 96;

export function overfitScenes(count: number, seed: number): DetectionDataset {
  const scenes = generateDemoScenes({ count, size: OVERFIT_SIZE, seed, stream: 'overfit' });
  return detectionDatasetFromCoco(scenes.images, scenes.coco);
}

/** Small but otherwise default detectron2 settings; `overrides` adds the per-detector changes. */
export function overfitConfig(
  detector: DetectorName,
  steps: number,
  batch: number,
  overrides: Record<string, unknown>,
): FinetuneConfig {
  return resolveFinetuneConfig(
    mergeDefaults(
      {
        detector,
        backend: 'wasm',
        backbone: { name: 'resnet18', baseWidth: 8, norm: 'bn', freezeAt: 0 },
        data: {
          minSizeTrain: [OVERFIT_SIZE, OVERFIT_SIZE],
          maxSizeTrain: 160,
          minSizeTest: OVERFIT_SIZE,
          maxSizeTest: 160,
          hflip: false,
        },
        fpn: { channels: 32, norm: 'bn' },
        retinanet: { anchorSizes: [8, 16, 32, 64, 128] },
        rpn: { anchorSizes: [8, 16, 32, 64, 128] },
        // every image in every step: an epoch is one step
        optim: { epochs: steps, batchSize: batch, warmupFraction: 0.1, decayAt: [0.8] },
        checkpoint: { everySteps: 100_000 },
      },
      overrides,
    ),
  );
}

export function tempRunDir(tag: string): string {
  return tempDir(`selfemd-${tag}-`);
}

/** The loss series Faster R-CNN reports; Mask R-CNN adds `loss/loss_mask`. */
export const FASTER_RCNN_LOSSES = [
  'loss/loss_box_reg',
  'loss/loss_cls',
  'loss/loss_rpn_cls',
  'loss/loss_rpn_loc',
  'loss/total',
];

/**
 * The bars of the Faster R-CNN overfit recipe, for its box branch alone (faster-rcnn-overfit) or
 * inside Mask R-CNN (mask-rcnn-overfit, the one `npm test` runs): the RPN's and the box head's
 * classification losses at most half their first value, and box AP50 on the training images ≥ 0.9.
 */
export function expectBoxBranchOverfit(series: Map<string, number[]>, boxAp50: number | undefined): void {
  for (const key of ['loss/loss_cls', 'loss/loss_rpn_cls'])
    expect(series.get(key)!.at(-1)!, key).toBeLessThan(0.5 * series.get(key)![0]!);
  expect(boxAp50).toBeGreaterThanOrEqual(0.9);
}
