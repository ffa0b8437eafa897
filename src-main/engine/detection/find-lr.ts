/**
 * `selfemd finetune --find-lr`: the learning-rate range test on a fine-tune's own start — the same
 * detector, init, data, batch and augmentation as the run would use (createFinetuneModel,
 * createSgdStep), but the learning rate grows exponentially over a few dozen steps and the test stops
 * when the smoothed loss diverges. Nothing is written: no run folder, no checkpoint; the weights are
 * thrown away (the caller may save the curve).
 */
import type { FinetuneConfig } from '../../../shared/config/finetune';
import {
  isDiverged,
  LR_RANGE_DEFAULTS,
  lrRangeRates,
  smoothLosses,
  suggestLearningRate,
  type LrRangePoint,
  type LrSuggestion,
} from '../../../shared/metrics/lr-range';
import { createRng } from '../data/rng';
import type { Backbone } from '../models/types';
import { createFinetuneModel, createSgdStep } from './finetune';
import type { DetectionDataset } from './inputs';

export interface FindLrOptions {
  minLr?: number;
  maxLr?: number;
  steps?: number;
  beta?: number;
  divergeFactor?: number;
  /** A backbone already built (owned by the test); otherwise `config.init` is loaded. */
  backbone?: Backbone;
  onPoint?: (p: LrRangePoint) => void;
  onLog?: (line: string) => void;
}

export interface FindLrResult {
  points: LrRangePoint[];
  suggestion: LrSuggestion;
  minLr: number;
  maxLr: number;
}

export async function findLearningRate(
  config: FinetuneConfig,
  train: DetectionDataset,
  o: FindLrOptions = {},
): Promise<FindLrResult> {
  const minLr = o.minLr ?? LR_RANGE_DEFAULTS.minLr;
  const maxLr = o.maxLr ?? LR_RANGE_DEFAULTS.maxLr;
  const beta = o.beta ?? LR_RANGE_DEFAULTS.beta;
  const divergeFactor = o.divergeFactor ?? LR_RANGE_DEFAULTS.divergeFactor;
  const rates = lrRangeRates(minLr, maxLr, o.steps ?? LR_RANGE_DEFAULTS.steps);
  const n = train.samples.length;
  if (n < 1) throw new Error('the training set has no images');
  const model = await createFinetuneModel(config, train.categories.length, { backbone: o.backbone });
  o.onLog?.(`backbone: ${model.description}`);
  const rng = createRng(config.seed);
  const step = createSgdStep({
    config,
    train,
    ...model,
    rng,
    data: { order: rng.permutation(n), cursor: 0 },
    batchSize: Math.min(config.optim.batchSize, n),
  });
  const points: LrRangePoint[] = [];
  const losses: number[] = [];
  let min = Infinity;
  try {
    for (const [i, lr] of rates.entries()) {
      const { loss } = await step(lr);
      losses.push(loss);
      const smoothed = smoothLosses(losses, beta).at(-1)!;
      const point = { step: i + 1, lr, loss, smoothed };
      points.push(point);
      o.onPoint?.(point);
      // The diverged point is kept (the table shows where it went); nothing after it is run.
      if (isDiverged(smoothed, min, divergeFactor)) break;
      min = Math.min(min, smoothed);
    }
  } finally {
    model.sgd.dispose();
    model.detector.dispose();
  }
  return { points, suggestion: suggestLearningRate(points, divergeFactor), minLr, maxLr };
}
