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
