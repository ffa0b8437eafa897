/**
 * The learning-rate range test's analysis: exponential rates, the bias-corrected smoothing, and the
 * suggestion (steepest descent before divergence) on curves whose answer is known.
 */
import { describe, expect, it } from 'vitest';
import {
  formatLrRange,
  lrRangeRates,
  smoothLosses,
  suggestLearningRate,
  type LrRangePoint,
} from '../../shared/metrics/lr-range';

/** A test's points from a loss as a function of log10(lr), optionally with deterministic noise. */
function curve(loss: (log10lr: number) => number, steps = 60, noise = 0): LrRangePoint[] {
  const rates = lrRangeRates(1e-4, 1, steps);
  const losses = rates.map((lr, i) => loss(Math.log10(lr)) + noise * Math.sin(i * 2.3));
  const smoothed = smoothLosses(losses, 0.5);
  return rates.map((lr, i) => ({ step: i + 1, lr, loss: losses[i]!, smoothed: smoothed[i]! }));
}

describe('lr range test', () => {
  it('spaces the rates exponentially from min to max', () => {
    const r = lrRangeRates(1e-3, 10, 9);
    expect(r[0]).toBeCloseTo(1e-3, 12);
    expect(r[8]).toBeCloseTo(10, 9);
    for (let i = 1; i < r.length; i++) expect(r[i]! / r[i - 1]!).toBeCloseTo(10 ** 0.5, 9);
    expect(() => lrRangeRates(0.1, 0.01, 20)).toThrow(/min/);
    expect(() => lrRangeRates(1e-4, 1, 3)).toThrow(/at least 8 steps/);
  });

  it('smooths without pulling the first values towards zero', () => {
    expect(smoothLosses([2, 2, 2], 0.9)).toEqual([2, 2, 2].map((v) => expect.closeTo(v, 12)));
    const s = smoothLosses([1, 3], 0.5);
    expect(s[1]).toBeCloseTo((0.5 * 0.5 * 1 + 0.5 * 3) / 0.75, 12);
  });

  it('suggests the rate of steepest descent, inside the range and before divergence', () => {
    // Falls fastest around lr 1e-2 (a logistic step in log lr), then explodes above 0.2.
    const pts = curve(
      (x) => 2 - 1.5 / (1 + Math.exp(-4 * (x + 2))) + (x > -0.7 ? 50 * (x + 0.7) ** 2 : 0),
      60,
      0.01,
    );
    const s = suggestLearningRate(pts);
    expect(s.lr).toBeGreaterThanOrEqual(1e-4);
    expect(s.lr).toBeLessThanOrEqual(1);
    expect(Math.log10(s.lr)).toBeGreaterThan(-2.6);
    expect(Math.log10(s.lr)).toBeLessThan(-1.4);
    expect(s.divergedAt).not.toBeNull();
    expect(pts[s.divergedAt!]!.lr).toBeGreaterThan(0.2);
    expect(s.index).toBeLessThan(s.divergedAt!);
    expect(s.minLossLr).toBeGreaterThan(s.lr);
    const table = formatLrRange(pts, s);
    expect(table).toContain('← steepest descent');
    expect(table).toContain('← diverged');
    expect(table).toMatch(/suggested lr: 0\.0\d+/);
  });

  it('says so when the loss never falls or diverges at once', () => {
    expect(() => suggestLearningRate(curve((x) => 1 + 0.1 * (x + 4)))).toThrow(/never fell/);
    expect(() => suggestLearningRate(curve((x) => (x > -3.9 ? 100 : 1)))).toThrow(/diverged after/);
  });
});
