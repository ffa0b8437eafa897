import { finetuneSizeOverrides } from '../../shared/config/finetune';

import { TINY_DETECTOR } from '../engine/detection/tiny-detector';

/**
 * The smallest pretraining a real training process runs in a few seconds (wasm, 8 demo images,
 * 8 steps, a checkpoint every step): shared by the RunManager tests and the fault suite.
 */
export const TINY_PRETRAIN = {
  method: 'self-emd',
  backend: 'wasm',
  backbone: { name: 'resnet18', baseWidth: 4 },
  data: { demoImages: 8, imageSize: 64 },
  optim: { batchSize: 4, epochs: 4, warmupEpochs: 0.5, lr: 0.05 },
  byol: { projectorHidden: 32, projectionDim: 16, predictorHidden: 32 },
  emd: { scaleViewSize: 32 },
  checkpoint: { everySteps: 1 },
};

/**
 * The smallest fine-tune a real training process runs in seconds: a Faster R-CNN (its RPN and RoI
 * sampling draw from the run's RNG, so a resume must restore it exactly) on 8 train / 4 val demo
 * scenes at 64 px from random weights, 2 steps per epoch, a checkpoint every step. The fault suite.
 */
export const TINY_FINETUNE = {
  detector: 'faster-rcnn',
  backend: 'wasm',
  init: { kind: 'random' },
  backbone: { name: 'resnet18', baseWidth: 4 },
  data: { demoTrain: 8, demoVal: 4, demoSize: 64, ...finetuneSizeOverrides(64) },
  fpn: { channels: 8 },
  rpn: { batchSizePerImage: 32, preNmsTopkTrain: 100, postNmsTopkTrain: 50 },
  roiHeads: { batchSizePerImage: 32, fcDim: 16 },
  optim: { epochs: 4, batchSize: 4, lr: 0.01 },
  checkpoint: { everySteps: 1 },
};

/** Resolves with the first event `match` accepts (and runs `then` on it synchronously). */
export function firstEvent<E>(
  on: (listener: (e: E) => void) => () => void,
  match: (e: E) => boolean,
  then?: (e: E) => void,
): Promise<E> {
  return new Promise((resolve) => {
    const off = on((e) => {
      if (!match(e)) return;
      off();
      then?.(e);
      resolve(e);
    });
  });
}

/**
 * A study of random vs byol that trains in seconds per run (wasm, TINY_PRETRAIN, a RetinaNet of the
 * engine tests' tiny sizes on 8 train / 4 val demo images at 64 px); `epochs` of fine-tuning.
 */
export function tinyStudy(seeds: number, epochs: number) {
  return {
    arms: ['random', 'byol'],
    seeds,
    budget: 'smoke' as const,
    data: { unlabeled: 'demo', train: 'demo', val: 'demo' },
    backend: 'wasm' as const,
    replicates: 50,
    pretrain: { ...TINY_PRETRAIN, optim: { ...TINY_PRETRAIN.optim, epochs: 2 } },
    finetune: {
      ...TINY_DETECTOR,
      detector: 'retinanet',
      data: { demoTrain: 8, demoVal: 4, demoSize: 64, ...finetuneSizeOverrides(64) },
      optim: { epochs, batchSize: 4, lr: 0.01 },
      checkpoint: { everySteps: 1 },
    },
  };
}
