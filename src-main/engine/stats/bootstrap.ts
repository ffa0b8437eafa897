/**
 * The statistics of a study: mean and standard deviation over seeds, and a paired bootstrap of the
 * difference between two arms over seeds and val images at once. Pure numbers (no TF.js, no I/O), the
 * randomness from the engine's seedable Rng, so an interval is the same every time it is computed.
 *
 * Why a two-way bootstrap: a difference between arms varies with the fine-tune seed (optimisation
 * noise) and with which val images happen to be in the set (sampling noise). One replicate draws S
 * seed indices and N image indices with replacement; every arm is scored on the same draw (paired: a
 * seed index means the same fine-tune seed in every arm, the images are the same images), so what the
 * arms share cancels in the difference. The interval is the 2.5 / 97.5 percentile of the replicates.
 */
import { createRng } from '../data/rng';

/** Sample mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Sample standard deviation (n − 1); 0 for a single value, NaN for none. */
export function sampleSd(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  if (values.length === 1) return 0;
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) ** 2;
  return Math.sqrt(s / (values.length - 1));
}

/** Percentile q ∈ [0, 1] with linear interpolation between order statistics (numpy's default). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Scores every arm and seed on one multiset of val images (indices into the val set, repeats
 * allowed): `[arm][seed][metric]`. A metric that is undefined on the draw (no ground truth of a kind)
 * is NaN and that replicate is left out of that metric's interval.
 */
export type ResampleScorer = (images: Int32Array) => number[][][];

export interface BootstrapOptions {
  arms: number;
  seeds: number;
  metrics: number;
  /** Val images to draw from (N: each replicate draws N of them with replacement). */
  images: number;
  replicates: number;
  seed: number;
}

export interface PairedInterval {
  /** Difference of the arms' seed means on the full val set. */
  estimate: number;
  low: number;
  high: number;
  /** Replicates the interval was computed from (those where the metric was defined for both arms). */
  replicates: number;
}

/**
 * The bootstrap replicates: for each, the mean over the drawn seeds of each arm's score on the drawn
 * images, `[replicate][arm][metric]`. Differences between any two arms are read off the same
 * replicates, so all pairs share one draw.
 */
export function bootstrapArmMeans(score: ResampleScorer, o: BootstrapOptions): number[][][] {
  if (o.seeds < 1 || o.images < 1 || o.replicates < 1)
    throw new Error(
      `bootstrap: needs at least one seed, image and replicate (got ${o.seeds}, ${o.images}, ${o.replicates})`,
    );
  const rng = createRng(o.seed);
  const out: number[][][] = [];
  const images = new Int32Array(o.images);
  for (let b = 0; b < o.replicates; b++) {
    const seeds = Array.from({ length: o.seeds }, () => rng.int(o.seeds));
    for (let i = 0; i < o.images; i++) images[i] = rng.int(o.images);
    const scores = score(images);
    out.push(
      Array.from({ length: o.arms }, (_, a) =>
        Array.from({ length: o.metrics }, (_, m) => mean(seeds.map((s) => scores[a]![s]![m]!))),
      ),
    );
  }
  return out;
}

/** Percentile interval of arm `a` − arm `b` for metric `m` from the replicates; `estimate` is given. */
export function pairedInterval(
  replicates: number[][][],
  a: number,
  b: number,
  m: number,
  estimate: number,
  level = 0.95,
): PairedInterval {
  const diffs: number[] = [];
  for (const r of replicates) {
    const d = r[a]![m]! - r[b]![m]!;
    if (Number.isFinite(d)) diffs.push(d);
  }
  const tail = (1 - level) / 2;
  return {
    estimate,
    low: percentile(diffs, tail),
    high: percentile(diffs, 1 - tail),
    replicates: diffs.length,
  };
}

/** An interval that does not contain 0 separates the arms at this budget. */
export function separable(i: Pick<PairedInterval, 'low' | 'high'>): boolean {
  return i.low > 0 || i.high < 0;
}
