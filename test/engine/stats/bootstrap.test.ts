/**
 * The study's statistics on data whose answer is known: mean, sd and percentiles against hand
 * values; the paired bootstrap's interval against the analytic one of a known additive model, its
 * determinism under the seed, and that pairing cancels what the arms share.
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapArmMeans,
  mean,
  pairedInterval,
  percentile,
  sampleSd,
  separable,
} from '../../../src-main/engine/stats/bootstrap';
import { createRng } from '../../../src-main/engine/data/rng';

describe('study statistics', () => {
  it('mean, sample sd and numpy-style percentiles', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(sampleSd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.13809, 5);
    expect(sampleSd([3])).toBe(0);
    expect(Number.isNaN(mean([]))).toBe(true);
    // numpy.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = 1.075, 2.5, 3.925
    expect(percentile([4, 1, 3, 2], 0.025)).toBeCloseTo(1.075, 12);
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(percentile([4, 1, 3, 2], 0.975)).toBeCloseTo(3.925, 12);
  });

  // Two arms, one seed, per-image scores: arm 1 = arm 0 + d_i with d_i ~ N(1, 0.5²); the metric is the
  // image mean. The bootstrap interval of the difference must match mean(d) ± 1.96 sd(d) / √N.
  it("gives the analytic interval of a mean difference over images, and pairing cancels the arms' shared part", () => {
    const rng = createRng(7);
    const N = 400;
    const shared = Array.from({ length: N }, () => 10 * rng.normal());
    const d = Array.from({ length: N }, () => 1 + 0.5 * rng.normal());
    const arm0 = shared;
    const arm1 = shared.map((v, i) => v + d[i]!);
    const score = (draw: Int32Array) => {
      const m = (xs: number[]) => mean(Array.from(draw, (i) => xs[i]!));
      return [[[m(arm0)]], [[m(arm1)]]];
    };
    const reps = bootstrapArmMeans(score, {
      arms: 2,
      seeds: 1,
      metrics: 1,
      images: N,
      replicates: 2000,
      seed: 3,
    });
    const est = mean(arm1) - mean(arm0);
    const i = pairedInterval(reps, 1, 0, 0, est);
    const se = sampleSd(d) / Math.sqrt(N);
    expect(i.estimate).toBeCloseTo(mean(d), 10);
    // shared has sd 10: an unpaired interval would be ~28× wider; paired it is the one of d alone
    expect(i.low).toBeGreaterThan(est - 1.96 * se * 1.15);
    expect(i.low).toBeLessThan(est - 1.96 * se * 0.85);
    expect(i.high).toBeGreaterThan(est + 1.96 * se * 0.85);
    expect(i.high).toBeLessThan(est + 1.96 * se * 1.15);
    expect(i.replicates).toBe(2000);
    expect(separable(i)).toBe(true);
    // same seed, same replicates
    const again = bootstrapArmMeans(score, {
      arms: 2,
      seeds: 1,
      metrics: 1,
      images: N,
      replicates: 2000,
      seed: 3,
    });
    expect(pairedInterval(again, 1, 0, 0, est)).toEqual(i);
  });

  it('resamples seeds too: a seed effect widens the interval, and identical arms give exactly 0', () => {
    // constant over images; arm 1 − arm 0 is +2 for seed 0 and −1 for seed 1
    const values = [
      [[5], [5]],
      [[7], [4]],
    ];
    const score = () => values;
    const reps = bootstrapArmMeans(score, {
      arms: 2,
      seeds: 2,
      metrics: 1,
      images: 3,
      replicates: 500,
      seed: 1,
    });
    const i = pairedInterval(reps, 1, 0, 0, 0.5);
    // replicates draw seeds {0,0}: +2, {1,1}: −1, mixed: +0.5
    expect(i.low).toBe(-1);
    expect(i.high).toBe(2);
    expect(separable(i)).toBe(false);
    const same = pairedInterval(reps, 0, 0, 0, 0);
    expect([same.low, same.high]).toEqual([0, 0]);
  });

  it('leaves out replicates where a metric is undefined (NaN) and refuses an empty design', () => {
    let k = 0;
    const score = () => [[[k++ % 2 ? Number.NaN : 1]], [[2]]];
    const reps = bootstrapArmMeans(score, {
      arms: 2,
      seeds: 1,
      metrics: 1,
      images: 2,
      replicates: 10,
      seed: 0,
    });
    expect(pairedInterval(reps, 1, 0, 0, 1).replicates).toBe(5);
    expect(() =>
      bootstrapArmMeans(score, { arms: 2, seeds: 0, metrics: 1, images: 2, replicates: 1, seed: 0 }),
    ).toThrow(/at least one seed/);
  });
});
