import { describe, expect, it } from 'vitest';
import { epochOfStep, epochsOfRun } from '../../shared/metrics/epoch';

describe('epochOfStep', () => {
  it('counts whole epochs done: 0 until the first epoch ends, then 1 at its last step', () => {
    expect([0, 1, 9, 10, 11, 19, 20].map((s) => epochOfStep(s, 10))).toEqual([0, 0, 0, 1, 1, 1, 2]);
    expect(epochOfStep(5, 1)).toBe(5);
  });
  it('refuses a step or epoch length that is not a whole number, naming it', () => {
    expect(() => epochOfStep(3, 0)).toThrow(/stepsPerEpoch must be a whole number ≥ 1 \(got 0\)/);
    expect(() => epochOfStep(-1, 4)).toThrow(/step must be a whole number ≥ 0 \(got -1\)/);
  });
  it('a run spans its partial last epoch', () => {
    expect(epochsOfRun(7, 3)).toBe(3);
    expect(epochsOfRun(6, 3)).toBe(2);
  });
});
