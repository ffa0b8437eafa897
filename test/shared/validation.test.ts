import { describe, expect, it } from 'vitest';
import { num, type ConfigIssue } from '../../shared/config/validation';

const issuesOf = (check: ReturnType<typeof num>, v: unknown): ConfigIssue[] => {
  const issues: ConfigIssue[] = [];
  check(v, 'datasetId', issues);
  return issues;
};

describe('num', () => {
  it('refuses whole numbers past 2^53 as the field’s own issue (the fuzzer found one reach the store)', () => {
    const id = num({ int: true, min: 1 });
    expect(issuesOf(id, 2 ** 53)).toEqual([
      { path: 'datasetId', message: 'must be ≤ 9007199254740991, got 9007199254740992' },
    ]);
    expect(issuesOf(id, Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(issuesOf(num({ int: true }), -(2 ** 60))).toEqual([
      { path: 'datasetId', message: 'must be ≥ -9007199254740991, got -1152921504606847000' },
    ]);
    // A smaller bound of its own is the one named.
    expect(issuesOf(num({ int: true, max: 10 }), 2 ** 53)).toEqual([
      { path: 'datasetId', message: 'must be ≤ 10, got 9007199254740992' },
    ]);
    expect(issuesOf(id, 2.5)).toEqual([{ path: 'datasetId', message: 'must be a whole number, got 2.5' }]);
  });
});
