/**
 * The learning-rate range test (Smith 2017, "Cyclical learning rates", §3.3; fastai's lr_find): train
 * a few dozen steps from the run's start while the learning rate grows exponentially from `minLr` to
 * `maxLr`, smooth the noisy per-batch loss, and read off where it falls fastest. Pure: the engine runs
 * the steps (engine/detection/find-lr.ts), the CLI prints this module's table and suggestion.
 */

/** One step of the test: the rate it ran at, its loss, and the smoothed loss up to it. */
export interface LrRangePoint {
  step: number;
  lr: number;
  loss: number;
  smoothed: number;
}

export interface LrSuggestion {
  /** The suggested base learning rate: where the smoothed loss falls fastest against log lr. */
  lr: number;
  /** Index (into the points) of that step. */
  index: number;
  /**
   * The rate where the smoothed loss is lowest (above the suggestion, usually). A tenth of it is the
   * other common reading (fastai's "min / 10"); the table prints both, because early in training the
   * steepest fall can come from the first steps rather than from the rate (docs/detection.md).
   */
  minLossLr: number;
  /** First point judged diverged (smoothed loss > divergeFactor × its minimum, or non-finite); null if none. */
  divergedAt: number | null;
}

/** Defaults of the test: a range wide enough for SGD on detectors at small batches. */
export const LR_RANGE_DEFAULTS = {
  minLr: 1e-4,
  maxLr: 1,
  /** 80 steps: a detector's per-batch loss is noisy (objects per image vary), 48 read as flat here. */
  steps: 80,
  /** EMA factor of the smoothed loss (fastai: 0.98 over ~100 steps; fewer steps need less). */
  beta: 0.9,
  /** The smoothed loss above this multiple of its minimum is divergence: the test stops. */
  divergeFactor: 4,
} as const;

/** The rate of each of `steps` steps: exponential from minLr (first) to maxLr (last). */
export function lrRangeRates(minLr: number, maxLr: number, steps: number): number[] {
  if (!(minLr > 0) || !(maxLr > minLr)) throw new Error(`lr range: need 0 < min (${minLr}) < max (${maxLr})`);
  if (!Number.isInteger(steps) || steps < 8) throw new Error(`lr range: need at least 8 steps, got ${steps}`);
  const ratio = Math.log(maxLr / minLr);
  return Array.from({ length: steps }, (_, i) => minLr * Math.exp((ratio * i) / (steps - 1)));
}

/** EMA of the losses with bias correction (so the first values are not pulled towards 0). */
export function smoothLosses(losses: readonly number[], beta: number = LR_RANGE_DEFAULTS.beta): number[] {
  let avg = 0;
  return losses.map((l, i) => {
    avg = beta * avg + (1 - beta) * l;
    return avg / (1 - beta ** (i + 1));
  });
}

/** True once the smoothed loss has left the range a learning run stays in. */
export function isDiverged(
  smoothed: number,
  minSoFar: number,
  divergeFactor: number = LR_RANGE_DEFAULTS.divergeFactor,
): boolean {
  return !Number.isFinite(smoothed) || smoothed > divergeFactor * minSoFar;
}

/**
 * The suggestion on a test's points: the steepest descent of the smoothed loss against log lr,
 * measured as the slope over ±k points (k = a tenth of the points before divergence, at least 1) so
 * one lucky batch does not make it, among the points before divergence. Throws (naming the cause)
 * when fewer than 6 points precede divergence or the loss never falls.
 */
export function suggestLearningRate(
  points: readonly LrRangePoint[],
  divergeFactor: number = LR_RANGE_DEFAULTS.divergeFactor,
): LrSuggestion {
  let divergedAt: number | null = null;
  let min = Infinity;
  let minIndex = 0;
  for (let i = 0; i < points.length; i++) {
    const s = points[i]!.smoothed;
    if (isDiverged(s, min, divergeFactor)) {
      divergedAt = i;
      break;
    }
    if (s < min) [min, minIndex] = [s, i];
  }
  const usable = points.slice(0, divergedAt ?? points.length);
  if (usable.length < 6)
    throw new Error(
      `lr range test: the loss diverged after ${usable.length} steps (at lr ${points[usable.length]?.lr.toExponential(1)}); lower the range's minimum`,
    );
  const k = Math.max(1, Math.floor(usable.length / 10));
  let best = 0;
  let bestIndex = -1;
  for (let i = k; i < usable.length - k; i++) {
    const a = usable[i - k]!;
    const b = usable[i + k]!;
    const slope = (b.smoothed - a.smoothed) / (Math.log(b.lr) - Math.log(a.lr));
    if (slope < best) [best, bestIndex] = [slope, i];
  }
  if (bestIndex < 0)
    throw new Error(
      `lr range test: the smoothed loss never fell between lr ${usable[0]!.lr.toExponential(1)} and ${usable.at(-1)!.lr.toExponential(1)}; raise the range's maximum or check the data`,
    );
  return { lr: usable[bestIndex]!.lr, index: bestIndex, minLossLr: points[minIndex]!.lr, divergedAt };
}

/** The test as a table for a terminal: every row's rate, loss and smoothed loss, the suggestion marked. */
export function formatLrRange(points: readonly LrRangePoint[], suggestion: LrSuggestion): string {
  const lines = ['  step        lr      loss  smoothed'];
  points.forEach((p, i) => {
    const mark =
      i === suggestion.index ? '  ← steepest descent' : i === suggestion.divergedAt ? '  ← diverged' : '';
    lines.push(
      `${String(p.step).padStart(6)}  ${p.lr.toExponential(2).padStart(8)}  ${p.loss.toFixed(4).padStart(8)}  ${p.smoothed.toFixed(4).padStart(8)}${mark}`,
    );
  });
  lines.push(
    `suggested lr: ${suggestion.lr.toPrecision(2)} (steepest descent of the smoothed loss; lowest loss at ${suggestion.minLossLr.toPrecision(2)}, a tenth of which is ${(suggestion.minLossLr / 10).toPrecision(2)}` +
      `${suggestion.divergedAt === null ? ', no divergence in the range' : `, diverged from ${points[suggestion.divergedAt]!.lr.toPrecision(2)}`})`,
  );
  return lines.join('\n');
}
