import { resolveFinetuneConfig, type FinetuneConfig } from '../../../shared/config/finetune';
import { mergeDefaults } from '../../../shared/config/validation';

/**
 * The detector of the engine tests: ResNet-18 at width 4, an 8-channel FPN, one head conv and small
 * RPN / RoI samples, with anchors for 64 px images. Config overrides, merged by each test with its own.
 */
export const TINY_DETECTOR = {
  backbone: { name: 'resnet18', baseWidth: 4 },
  fpn: { channels: 8 },
  retinanet: { anchorSizes: [8, 16, 32, 64, 128], numConvs: 1 },
  rpn: {
    anchorSizes: [8, 16, 32, 64, 128],
    batchSizePerImage: 32,
    preNmsTopkTrain: 100,
    postNmsTopkTrain: 50,
  },
  roiHeads: { batchSizePerImage: 32, fcDim: 16, canonicalBoxSize: 36 },
};

/**
 * A wasm fine-tune config of `steps` steps (batch 2 over 4 images: 2 steps per epoch) on 48–96 px
 * images with the tiny detector; `overrides` are merged last (another backbone, an init).
 */
export function tinyFinetuneConfig(
  detector: 'retinanet' | 'faster-rcnn',
  steps: number,
  overrides: Record<string, unknown> = {},
): FinetuneConfig {
  return resolveFinetuneConfig(
    mergeDefaults(
      {
        detector,
        backend: 'wasm',
        ...TINY_DETECTOR,
        data: { minSizeTrain: [48, 64], maxSizeTrain: 96, minSizeTest: 64, maxSizeTest: 96, hflip: true },
        rpn: { ...TINY_DETECTOR.rpn, preNmsTopkTest: 100, postNmsTopkTest: 50 },
        optim: { epochs: steps / 2, batchSize: 2, lr: 0.01, warmupFraction: 0.25, decayAt: [0.5] },
        checkpoint: { everySteps: 3 },
      },
      overrides,
    ),
  );
}
