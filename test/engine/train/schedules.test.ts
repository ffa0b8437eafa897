import { describe, expect, it } from 'vitest';
import { byolTau, warmupCosineLr } from '../../../src-main/engine/train/schedules';

describe('schedules', () => {
  it('warms up linearly, then follows a cosine to zero', () => {
    const peak = 0.2;
    expect(warmupCosineLr(0, peak, 4, 20)).toBeCloseTo(0.05, 12);
    expect(warmupCosineLr(3, peak, 4, 20)).toBeCloseTo(0.2, 12);
    expect(warmupCosineLr(4, peak, 4, 20)).toBeCloseTo(0.2, 12);
    // Half-way through the cosine part: peak / 2.
    expect(warmupCosineLr(12, peak, 4, 20)).toBeCloseTo(0.1, 12);
    expect(warmupCosineLr(20, peak, 4, 20)).toBeCloseTo(0, 12);
    expect(warmupCosineLr(5, peak, 0, 10)).toBeCloseTo(0.1, 12);
  });

  it("BYOL's τ rises from τ_base to 1", () => {
    expect(byolTau(0, 100, 0.99)).toBeCloseTo(0.99, 12);
    expect(byolTau(50, 100, 0.99)).toBeCloseTo(0.995, 12);
    expect(byolTau(100, 100, 0.99)).toBeCloseTo(1, 12);
    expect(byolTau(150, 100, 0.99)).toBeCloseTo(1, 12);
  });
});
