import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { gibbsKernel, sinkhorn } from '../../../src-main/engine/ssl/sinkhorn';
import { exactOt } from './exact-ot';
import { randomArray, rng, sinkhornRef } from './reference';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Random marginals of unit mass, bounded away from 0. */
function marginal(len: number, rand: () => number): number[] {
  const w = Array.from({ length: len }, () => 0.2 + rand());
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

describe('exact OT (test solver)', () => {
  it('solves a 2×2 problem by hand', () => {
    // Rows 0.3/0.7, columns 0.6/0.4, moving across costs 1: keep 0.3 and 0.4 in place, move 0.3.
    const { cost, plan } = exactOt(
      [
        [0, 1],
        [1, 0],
      ],
      [0.3, 0.7],
      [0.6, 0.4],
    );
    expect(cost).toBeCloseTo(0.3, 12);
    expect(plan).toEqual([
      [0.3, 0],
      [expect.closeTo(0.3, 12), expect.closeTo(0.4, 12)],
    ]);
  });

  it('matches the best assignment for uniform marginals (Birkhoff: vertices are permutations)', () => {
    const rand = rng(7);
    for (let trial = 0; trial < 5; trial++) {
      const n = 4;
      const M = Array.from({ length: n }, () => Array.from({ length: n }, () => rand()));
      const perms = (k: number[]): number[][] =>
        k.length <= 1
          ? [k]
          : k.flatMap((x, i) => perms([...k.slice(0, i), ...k.slice(i + 1)]).map((p) => [x, ...p]));
      const best = Math.min(...perms([0, 1, 2, 3]).map((p) => p.reduce((s, j, i) => s + M[i][j], 0) / n));
      const u = new Array(n).fill(1 / n);
      expect(exactOt(M, u, u).cost).toBeCloseTo(best, 12);
    }
  });
});

describe('sinkhorn', () => {
  it('equals a Float64 Sinkhorn–Knopp at T = 10 within 1e-5 relative, entry by entry', () => {
    const rand = rng(1);
    const [B, n, m, T] = [3, 5, 7, 10];
    const costs = randomArray(B * n * m, rand, 0, 2);
    const rs = Array.from({ length: B }, () => marginal(n, rand));
    const cs = Array.from({ length: B }, () => marginal(m, rand));
    for (const shifted of [false, true]) {
      const { K, plan } = tf.tidy(() => {
        const M = tf.tensor3d(Float32Array.from(costs), [B, n, m]);
        const Kt = shifted ? gibbsKernel(M, 20) : (tf.exp(tf.mul(M, -20)) as tf.Tensor3D);
        const p = sinkhorn(Kt, tf.tensor2d(rs.flat(), [B, n]), tf.tensor2d(cs.flat(), [B, m]), T);
        return { K: Kt.dataSync().slice(), plan: p.dataSync().slice() };
      });
      let worst = 0;
      for (let b = 0; b < B; b++) {
        // The reference runs on the very float32 kernel values the TF.js code saw, in Float64.
        // Its r, c are the float32-rounded marginals too.
        const ref = sinkhornRef(
          K.subarray(b * n * m, (b + 1) * n * m),
          Float32Array.from(rs[b]),
          Float32Array.from(cs[b]),
          n,
          m,
          T,
        );
        for (let k = 0; k < n * m; k++)
          worst = Math.max(worst, Math.abs(plan[b * n * m + k] - ref[k]) / ref[k]);
      }
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('updates rows first, then columns: after one iteration the columns sum to c exactly, the rows do not', () => {
    const rand = rng(2);
    const [n, m] = [4, 3];
    const M = randomArray(n * m, rand, 0, 1);
    const r = marginal(n, rand);
    const c = marginal(m, rand);
    const plan = tf.tidy(
      () =>
        sinkhorn(
          gibbsKernel(tf.tensor3d(Float32Array.from(M), [1, n, m]), 5),
          tf.tensor2d(r, [1, n]),
          tf.tensor2d(c, [1, m]),
          1,
        ).arraySync()[0],
    );
    const colSums = c.map((_, j) => plan.reduce((s, row) => s + row[j], 0));
    const rowSums = plan.map((row) => row.reduce((s, x) => s + x, 0));
    colSums.forEach((s, j) => expect(s).toBeCloseTo(c[j], 6));
    expect(Math.max(...rowSums.map((s, i) => Math.abs(s - r[i])))).toBeGreaterThan(1e-3);
    // By hand for u = 1: v = r / (K1), so diag(v)K has row sums r; then u rescales the columns.
    const K = M.map((x) => Math.exp(-5 * x));
    const v = r.map((ri, i) => ri / [0, 1, 2].reduce((s, j) => s + K[i * m + j], 0));
    const u = c.map((cj, j) => cj / [0, 1, 2, 3].reduce((s, i) => s + K[i * m + j] * v[i], 0));
    expect(plan[2][1]).toBeCloseTo(v[2] * K[2 * m + 1] * u[1], 6);
  });

  it('converges to the exact OT cost as λ grows (λ = 5, 20, 80)', () => {
    const rand = rng(3);
    const [B, n, m] = [4, 3, 4];
    const problems = Array.from({ length: B }, () => {
      const M = Array.from({ length: n }, () => Array.from({ length: m }, () => rand()));
      const r = marginal(n, rand);
      const c = marginal(m, rand);
      return { M, r, c, exact: exactOt(M, r, c).cost };
    });
    const lambdas = [5, 20, 80];
    const iterations = [200, 800, 3000]; // convergence slows as λ grows
    const gaps = lambdas.map((lambda, k) => {
      const plans = tf.tidy(() =>
        sinkhorn(
          gibbsKernel(tf.tensor3d(problems.map((p) => p.M)), lambda),
          tf.tensor2d(problems.map((p) => p.r)),
          tf.tensor2d(problems.map((p) => p.c)),
          iterations[k],
        ).arraySync(),
      );
      return problems.map((p, b) => {
        const plan = plans[b];
        // Converged: both marginals met.
        plan.forEach((row, i) => expect(row.reduce((s, x) => s + x, 0)).toBeCloseTo(p.r[i], 4));
        p.c.forEach((cj, j) => expect(plan.reduce((s, row) => s + row[j], 0)).toBeCloseTo(cj, 4));
        const cost = plan.reduce((s, row, i) => s + row.reduce((t, x, j) => t + x * p.M[i][j], 0), 0);
        const gap = cost - p.exact;
        // The entropic plan costs at least the optimum and at most log(nm)/λ more.
        expect(gap).toBeGreaterThan(-1e-5);
        expect(gap).toBeLessThanOrEqual(Math.log(n * m) / lambda + 1e-5);
        return gap;
      });
    });
    for (let b = 0; b < B; b++) {
      expect(gaps[1][b]).toBeLessThan(gaps[0][b]);
      expect(gaps[2][b]).toBeLessThan(gaps[1][b]);
      expect(gaps[2][b]).toBeLessThan(2e-3);
    }
    // Not a degenerate problem: at λ = 5 the entropic plan is measurably off the optimum.
    expect(Math.max(...gaps[0])).toBeGreaterThan(1e-2);
  });

  it('stays finite when a whole column of K underflows (λ = 80, cost gap 2)', () => {
    // Column 1 costs 2 more than column 0 in every row: exp(−160) is 0 in float32.
    const K = gibbsKernel(
      tf.tensor3d([
        [
          [0, 2],
          [0, 2],
        ],
      ]),
      80,
    );
    const plan = sinkhorn(K, tf.tensor2d([[0.5, 0.5]]), tf.tensor2d([[0.5, 0.5]]), 10);
    const values = plan.dataSync();
    expect(Array.from(values).every(Number.isFinite)).toBe(true);
    tf.dispose([K, plan]);
  });

  it('leaks no tensors', () => {
    const K = tf.randomUniform([2, 3, 4], 0.1, 1) as tf.Tensor3D;
    const r = tf.fill([2, 3], 1 / 3) as tf.Tensor2D;
    const c = tf.fill([2, 4], 1 / 4) as tf.Tensor2D;
    sinkhorn(K, r, c, 10).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) sinkhorn(K, r, c, 10).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([K, r, c]);
  });

  it('names the file and the problem on bad shapes', () => {
    const K = tf.ones([1, 2, 3]) as tf.Tensor3D;
    expect(() => sinkhorn(K, tf.ones([1, 3]) as tf.Tensor2D, tf.ones([1, 3]) as tf.Tensor2D, 5)).toThrow(
      /sinkhorn\.ts/,
    );
    expect(() => sinkhorn(K, tf.ones([1, 2]) as tf.Tensor2D, tf.ones([1, 3]) as tf.Tensor2D, 0)).toThrow(
      /iterations/,
    );
  });
});
