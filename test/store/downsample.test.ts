import { describe, expect, it } from 'vitest';
import type { MetricSample } from '../../shared/dto/metrics';
import { downsampleMinMax } from '../../src-main/store/downsample';

/** A deterministic pseudo-random series (LCG), with a few NaN. */
function series(n: number, seed: number): MetricSample[] {
  let x = seed;
  return Array.from({ length: n }, (_, step) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const value = x % 97 === 0 ? NaN : (x / 2 ** 31) * 10 - 5;
    return { step: step * 3, value, wallTime: step };
  });
}

describe('downsampleMinMax', () => {
  it('returns short series unchanged', () => {
    const s = series(10, 1);
    expect(downsampleMinMax(s, s.length, 10)).toEqual(s);
  });

  it('keeps first, last and each bucket’s min and max, within budget', () => {
    for (const [n, maxPoints, seed] of [
      [1000, 50, 3],
      [1001, 51, 5],
      [777, 4, 7],
      [5000, 999, 11],
    ]) {
      const s = series(n, seed);
      const out = downsampleMinMax(s, n, maxPoints);
      expect(out.length).toBeLessThanOrEqual(maxPoints);
      expect(out[0]).toBe(s[0]);
      expect(out[out.length - 1]).toBe(s[n - 1]);
      expect(out.every((p, i) => i === 0 || p.step > out[i - 1].step)).toBe(true);

      // Recompute the buckets independently and check each one's extremes are present.
      const buckets = Math.floor((maxPoints - 2) / 2);
      const kept = new Set(out);
      for (let b = 0; b < buckets; b++) {
        const lo = 1 + Math.ceil((b * (n - 2)) / buckets);
        const hi = 1 + Math.ceil(((b + 1) * (n - 2)) / buckets);
        const bucket = s.slice(lo, hi);
        const finite = bucket.filter((p) => !Number.isNaN(p.value));
        const min = finite.reduce((a, p) => (p.value < a.value ? p : a), finite[0]);
        expect(kept.has(min)).toBe(true);
        const nan = bucket.find((p) => Number.isNaN(p.value));
        const max = nan ?? finite.reduce((a, p) => (p.value > a.value ? p : a), finite[0]);
        expect(kept.has(max)).toBe(true);
      }
      expect(out.length).toBeGreaterThanOrEqual(2 + buckets);
    }
  });

  it('with a budget of 2 or 3 keeps only the ends', () => {
    const s = series(100, 13);
    expect(downsampleMinMax(s, 100, 2)).toEqual([s[0], s[99]]);
    expect(downsampleMinMax(s, 100, 3)).toEqual([s[0], s[99]]);
  });
});
