/** The smallest configs that still exercise every part of pretraining: used by the engine tests. */
import {
  cpuDemoOverrides,
  resolvePretrainConfig,
  type PretrainConfig,
} from '../../../shared/config/pretrain';
import { mergeDefaults } from '../../../shared/config/validation';

export function tinyConfig(overrides: Record<string, unknown> = {}): PretrainConfig {
  const base = mergeDefaults(cpuDemoOverrides(), {
    backbone: { name: 'resnet18', baseWidth: 4 },
    data: { demoImages: 8, imageSize: 64 },
    optim: { batchSize: 4, epochs: 2, warmupEpochs: 0.5 },
    byol: { projectorHidden: 32, projectionDim: 16, predictorHidden: 32 },
    emd: { scaleViewSize: 32 },
    checkpoint: { everySteps: 1 },
  });
  return resolvePretrainConfig(mergeDefaults(base, overrides));
}
