import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src-main/engine/data/rng';

describe('Rng (xoshiro128**)', () => {
  it('matches the reference xoshiro128** sequence from state [1,2,3,4]', () => {
    // Reference values from the C implementation (xoshiro128starstar.c) with s = {1, 2, 3, 4}.
    const r = new Rng([1, 2, 3, 4]);
    const out = Array.from({ length: 6 }, () => r.nextUint32());
    expect(out).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 100 }, () => a.next());
    const sb = Array.from({ length: 100 }, () => b.next());
    const sc = Array.from({ length: 100 }, () => c.next());
    expect(sa).toEqual(sb);
    expect(sa.filter((v, i) => v === sc[i]).length).toBe(0);
  });

  it('getState/setState resumes bit-for-bit through JSON', () => {
    const r = new Rng(7);
    for (let i = 0; i < 1000; i++) r.next();
    const saved = JSON.parse(JSON.stringify(r.getState())) as number[];
    const expected = [r.next(), r.int(10), r.normal(), r.uniform(-3, 5)];
    const resumed = new Rng(0);
    resumed.setState(saved);
    expect([resumed.next(), resumed.int(10), resumed.normal(), resumed.uniform(-3, 5)]).toEqual(expected);
    expect(() => resumed.setState([0, 0, 0, 0])).toThrow(/not all zero/);
    expect(() => resumed.setState([1, 2, 3])).toThrow(/4 uint32/);
    expect(() => resumed.setState([1, 2, 3, 2 ** 32])).toThrow(/4 uint32/);
  });

  it('has roughly correct moments for next, uniform, int and normal', () => {
    const r = new Rng(1);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let minU = Infinity;
    let maxU = -Infinity;
    const counts = new Array<number>(7).fill(0);
    let ns = 0;
    let ns2 = 0;
    let ns4 = 0;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      s += x;
      s2 += x * x;
      const u = r.uniform(2, 5);
      minU = Math.min(minU, u);
      maxU = Math.max(maxU, u);
      counts[r.int(7)]! += 1;
      const z = r.normal();
      ns += z;
      ns2 += z * z;
      ns4 += z ** 4;
    }
    expect(s / n).toBeCloseTo(0.5, 2);
    expect(s2 / n - (s / n) ** 2).toBeCloseTo(1 / 12, 2);
    expect(minU).toBeGreaterThanOrEqual(2);
    expect(maxU).toBeLessThan(5);
    for (const c of counts) expect(Math.abs(c / n - 1 / 7)).toBeLessThan(0.005);
    expect(Math.abs(ns / n)).toBeLessThan(0.01);
    expect(ns2 / n).toBeCloseTo(1, 1);
    expect(ns4 / n).toBeGreaterThan(2.85); // Gaussian kurtosis 3
    expect(ns4 / n).toBeLessThan(3.15);
  });

  it('fork gives independent, reproducible streams and does not advance the parent', () => {
    const r = new Rng(5);
    const before = r.getState();
    const a1 = r.fork('augment');
    const a2 = r.fork('augment');
    const b = r.fork('shuffle');
    expect(r.getState()).toEqual(before);
    const xa1 = Array.from({ length: 50 }, () => a1.nextUint32());
    const xa2 = Array.from({ length: 50 }, () => a2.nextUint32());
    const xb = Array.from({ length: 50 }, () => b.nextUint32());
    const xr = Array.from({ length: 50 }, () => r.nextUint32());
    expect(xa1).toEqual(xa2);
    expect(xa1.filter((v, i) => v === xb[i]).length).toBe(0);
    expect(xa1.filter((v, i) => v === xr[i]).length).toBe(0);
    // Child streams are uncorrelated with each other.
    const fa = new Rng(5).fork('augment');
    const fb = new Rng(5).fork('shuffle');
    let sab = 0;
    const m = 20_000;
    for (let i = 0; i < m; i++) sab += (fa.next() - 0.5) * (fb.next() - 0.5);
    expect(Math.abs(sab / m) * 12).toBeLessThan(0.03);
  });

  it('int is within range and permutation is a permutation', () => {
    const r = new Rng(9);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(3);
      expect(v === 0 || v === 1 || v === 2).toBe(true);
    }
    const p = r.permutation(100);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => r.int(0)).toThrow(/integer/);
  });
});
