import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRETRAIN_CONFIG } from '../../../shared/config/pretrain';
import { initBackend } from '../../../src-main/engine/backend/select';
import { emdLoss, transportPlan, type EmdLossOptions } from '../../../src-main/engine/ssl/emd-loss';
import {
  emdLossRef,
  emdPairRef,
  numericGradient,
  randomArray,
  relativeError,
  rng,
  type RefEmdOptions,
} from './reference';

beforeAll(async () => {
  await initBackend('wasm');
});

const base: EmdLossOptions = { ...DEFAULT_PRETRAIN_CONFIG.emd };

/** Float32-representable Float64 data, so the Float64 reference sees exactly what TF.js sees. */
const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));

interface Problem {
  B: number;
  n: number;
  m: number;
  C: number;
  x: Float64Array;
  y: Float64Array;
  vx: Float64Array;
  vy: Float64Array;
}

function problem(seed: number, B: number, n: number, m: number, C: number): Problem {
  const rand = rng(seed);
  // A positive bias makes most cosines positive, so the marginals are not all at the ε floor.
  const biased = (len: number) => f32(randomArray(len, rand).map((v) => v + 0.3));
  return { B, n, m, C, x: biased(B * n * C), y: biased(B * m * C), vx: biased(B * C), vy: biased(B * C) };
}

const tensors = (p: Problem) => ({
  x: tf.tensor3d(Float32Array.from(p.x), [p.B, p.n, p.C]),
  y: tf.tensor3d(Float32Array.from(p.y), [p.B, p.m, p.C]),
  vx: tf.tensor2d(Float32Array.from(p.vx), [p.B, p.C]),
  vy: tf.tensor2d(Float32Array.from(p.vy), [p.B, p.C]),
});

describe('emdLoss by hand', () => {
  it('with one node per map the plan is 1 and the loss is 2 − 2 cos', () => {
    const out = emdLoss(
      tf.tensor3d([[[1, 0]], [[3, 4]]]),
      tf.tensor3d([[[1, 1]], [[-3, -4]]]),
      tf.ones([2, 2]),
      tf.ones([2, 2]),
      {
        ...base,
        returnPlan: true,
      },
    );
    expect(Array.from(out.similarity.dataSync())).toEqual([
      expect.closeTo(Math.SQRT1_2, 6),
      expect.closeTo(-1, 6),
    ]);
    expect(out.loss.dataSync()[0]).toBeCloseTo((2 - Math.SQRT2 + 4) / 2, 5);
    expect(Array.from(out.plan!.dataSync())).toEqual([expect.closeTo(1, 6), expect.closeTo(1, 6)]);
    tf.dispose([out.loss, out.similarity, out.plan!]);
  });

  it('matches nodes across a permutation: S ≈ 1 for permuted one-hot maps, 0 for orthogonal ones', () => {
    const eye = (rows: number[]) => rows.map((k) => Array.from({ length: 8 }, (_, c) => (c === k ? 1 : 0)));
    const x = tf.tensor3d([eye([0, 1, 2, 3]), eye([0, 1, 2, 3])]);
    const y = tf.tensor3d([eye([2, 0, 3, 1]), eye([4, 5, 6, 7])]);
    // Global vectors that see every node alike, so r and c are uniform (1/4).
    const v = tf.tensor2d([Array(8).fill(1), Array(8).fill(1)]);
    const out = emdLoss(x, y, v, v, { ...base, returnPlan: true });
    const s = out.similarity.dataSync();
    expect(s[0]).toBeGreaterThan(0.999); // exp(−20) leaks almost nothing to the wrong nodes
    expect(s[1]).toBeCloseTo(0, 6);
    // The plan of pair 0 puts 1/4 on x_i → the y node with the same one-hot.
    const plan = out.plan!.arraySync()[0];
    expect(plan[0][1]).toBeCloseTo(0.25, 3);
    expect(plan[2][0]).toBeCloseTo(0.25, 3);
    expect(out.loss.dataSync()[0]).toBeCloseTo((2 - 2 * s[0] + 2) / 2, 5);
    tf.dispose([x, y, v, out.loss, out.similarity, out.plan!]);
  });
});

describe('emdLoss against the Float64 reference', () => {
  for (const marginals of ['global-vector', 'mean-feature'] as const) {
    it(`values, plan and marginal sums (${marginals}, n ≠ m)`, () => {
      const p = problem(21, 3, 6, 4, 5);
      const t = tensors(p);
      const out = emdLoss(t.x, t.y, t.vx, t.vy, { ...base, marginals, returnPlan: true });
      const plan = out.plan!.dataSync();
      const ref: RefEmdOptions = { ...base, marginals };
      for (let b = 0; b < p.B; b++) {
        const pr = emdPairRef(p.x, p.y, p.vx, p.vy, b, p.n, p.m, p.C, ref);
        expect(out.similarity.dataSync()[b]).toBeCloseTo(pr.similarity, 5);
        expect(relativeError(plan.subarray(b * p.n * p.m, (b + 1) * p.n * p.m), pr.plan)).toBeLessThan(1e-4);
        // Unit mass, and the last update (columns) makes the column sums exact.
        let total = 0;
        for (let j = 0; j < p.m; j++) {
          let col = 0;
          for (let i = 0; i < p.n; i++) col += plan[b * p.n * p.m + i * p.m + j];
          expect(col).toBeCloseTo(pr.c[j], 5);
          total += col;
        }
        expect(total).toBeCloseTo(1, 5);
      }
      expect(out.loss.dataSync()[0]).toBeCloseTo(
        emdLossRef(p.x, p.y, p.vx, p.vy, p.B, p.n, p.m, p.C, ref),
        5,
      );
      tf.dispose([t.x, t.y, t.vx, t.vy, out.loss, out.similarity, out.plan!]);
    });
  }

  it('is the same on the per-pair (XNNPACK) and batched paths, 49 × 16 nodes, C = 32', () => {
    const p = problem(22, 4, 49, 16, 32);
    const t = tensors(p);
    const a = emdLoss(t.x, t.y, t.vx, t.vy, { ...base, strategy: 'per-pair', returnPlan: true });
    const b = emdLoss(t.x, t.y, t.vx, t.vy, { ...base, strategy: 'batched', returnPlan: true });
    expect(a.plan!.shape).toEqual([4, 49, 16]);
    expect(relativeError(a.plan!.dataSync(), b.plan!.dataSync())).toBeLessThan(1e-4);
    expect(relativeError(a.similarity.dataSync(), b.similarity.dataSync())).toBeLessThan(1e-5);
    tf.dispose([t.x, t.y, t.vx, t.vy, a.loss, a.similarity, a.plan!, b.loss, b.similarity, b.plan!]);
  });
});

describe('emdLoss gradients (tf.grads vs Float64 central differences)', () => {
  // Default λ = 20, T = 10, on a tiny problem (B = 2, 3 × 4 nodes, C = 5).
  const cases: { name: string; opts: Partial<EmdLossOptions> }[] = [
    { name: 'detached plan and marginals (default): gradient through M only', opts: {} },
    { name: 'through the Sinkhorn iterations, marginals detached', opts: { detachPlan: false } },
    {
      name: 'through the iterations and the Eq. 13 marginals',
      opts: { detachPlan: false, detachMarginals: false },
    },
    {
      name: 'through the iterations and the Eq. 12 marginals',
      opts: { detachPlan: false, detachMarginals: false, marginals: 'mean-feature' },
    },
  ];
  for (const { name, opts: extra } of cases) {
    it(name, () => {
      const opts: EmdLossOptions = { ...base, ...extra };
      const p = problem(31, 2, 3, 4, 5);
      const t = tensors(p);
      // The global vectors only enter through the Eq. 13 marginals: with those detached (or unused)
      // they have no path to the loss at all, and tf.grads refuses them.
      const vectorsConnected =
        !opts.detachMarginals && !opts.detachPlan && opts.marginals === 'global-vector';
      const loss = (...a: tf.Tensor[]) =>
        emdLoss(a[0] as tf.Tensor3D, a[1] as tf.Tensor3D, a[2] as tf.Tensor2D, a[3] as tf.Tensor2D, opts)
          .loss;
      const grads = vectorsConnected
        ? tf.grads(loss)([t.x, t.y, t.vx, t.vy])
        : tf.grads((x: tf.Tensor, y: tf.Tensor) => loss(x, y, t.vx, t.vy))([t.x, t.y]);
      if (!vectorsConnected)
        expect(() =>
          tf.grads((vx: tf.Tensor, vy: tf.Tensor) => loss(t.x, t.y, vx, vy))([t.vx, t.vy]),
        ).toThrow(/Cannot compute gradient/);

      // What a stop-gradient holds constant, evaluated at the unperturbed point.
      const ref: RefEmdOptions = opts;
      const pairs = Array.from({ length: p.B }, (_, b) =>
        emdPairRef(p.x, p.y, p.vx, p.vy, b, p.n, p.m, p.C, ref),
      );
      const fixed = pairs.map((pr) => ({
        ...(opts.detachMarginals ? { r: pr.r, c: pr.c } : {}),
        ...(opts.detachPlan ? { plan: pr.plan } : {}),
      }));
      const sizes = [p.x.length, p.y.length, p.vx.length, p.vy.length];
      const flat = Float64Array.from([...p.x, ...p.y, ...p.vx, ...p.vy]);
      const split = (q: Float64Array) => {
        const parts: Float64Array[] = [];
        let o = 0;
        for (const s of sizes) parts.push(q.subarray(o, (o += s)));
        return parts;
      };
      const numeric = split(
        numericGradient((q) => {
          const [x, y, vx, vy] = split(q);
          return emdLossRef(x, y, vx, vy, p.B, p.n, p.m, p.C, ref, fixed);
        }, flat),
      );
      ['x', 'y'].forEach((_, k) => {
        const g = grads[k].dataSync();
        expect(relativeError(g, numeric[k])).toBeLessThan(1e-4);
      });
      for (const k of [2, 3]) {
        if (!vectorsConnected) {
          expect(Math.max(...Array.from(numeric[k], Math.abs))).toBeLessThan(1e-9);
        } else {
          expect(Math.max(...Array.from(numeric[k], Math.abs))).toBeGreaterThan(1e-4);
          expect(relativeError(grads[k].dataSync(), numeric[k])).toBeLessThan(1e-4);
        }
      }
      tf.dispose([...grads, t.x, t.y, t.vx, t.vy]);
    });
  }

  it('the detached gradient differs from the full one (the flag does something)', () => {
    const p = problem(32, 2, 3, 4, 5);
    const t = tensors(p);
    const g = (detachPlan: boolean) =>
      tf.grads(
        (x: tf.Tensor) => emdLoss(x as tf.Tensor3D, t.y, t.vx, t.vy, { ...base, lambda: 5, detachPlan }).loss,
      )([t.x])[0];
    const a = g(true);
    const b = g(false);
    expect(relativeError(a.dataSync(), b.dataSync())).toBeGreaterThan(1e-2);
    tf.dispose([a, b, t.x, t.y, t.vx, t.vy]);
  });
});

describe('emdLoss memory and inputs', () => {
  it('leaks no tensors across repeated forward + backward calls (all flag combinations)', () => {
    const p = problem(41, 3, 5, 4, 6);
    const t = tensors(p);
    for (const detachPlan of [true, false])
      for (const detachMarginals of [true, false]) {
        const step = () => {
          const { value, grads } = tf.tidy(() => {
            const f = (x: tf.Tensor, y: tf.Tensor) =>
              emdLoss(x as tf.Tensor3D, y as tf.Tensor3D, t.vx, t.vy, {
                ...base,
                detachPlan,
                detachMarginals,
              }).loss;
            const r = tf.valueAndGrads(f)([t.x, t.y]);
            return { value: r.value, grads: r.grads };
          });
          tf.dispose([value, ...grads]);
        };
        step();
        const before = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) step();
        expect(tf.memory().numTensors).toBe(before);
      }
    const before = tf.memory().numTensors;
    const out = emdLoss(t.x, t.y, t.vx, t.vy, { ...base, returnPlan: true });
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([out.loss, out.similarity, out.plan!, t.x, t.y, t.vx, t.vy]);
  });

  it('names the file and the problem on bad input', () => {
    const x = tf.ones([2, 3, 4]) as tf.Tensor3D;
    const v = tf.ones([2, 4]) as tf.Tensor2D;
    expect(() => emdLoss(x, tf.ones([2, 3, 5]) as tf.Tensor3D, v, v, base)).toThrow(/emd-loss\.ts.*channels/);
    expect(() => emdLoss(x, x, v, v, { ...base, lambda: 0 })).toThrow(/emd\.lambda/);
    tf.dispose([x, v]);
  });
});

describe('transportPlan', () => {
  it('returns the plan of emdLoss as plain arrays with the map grids, and leaks nothing', async () => {
    const p = problem(51, 2, 6, 4, 3);
    const t = tensors(p);
    const xMap = tf.reshape(t.x, [2, 2, 3, 3]) as tf.Tensor4D;
    const yMap = tf.reshape(t.y, [2, 2, 2, 3]) as tf.Tensor4D;
    const out = emdLoss(t.x, t.y, t.vx, t.vy, { ...base, returnPlan: true });
    const before = tf.memory().numTensors;
    const tp = await transportPlan(xMap, yMap, t.vx, t.vy, base);
    expect(tf.memory().numTensors).toBe(before);
    expect([tp.batch, tp.n, tp.m, tp.xGrid, tp.yGrid]).toEqual([2, 6, 4, [2, 3], [2, 2]]);
    expect(tp.plan).toBeInstanceOf(Float32Array);
    expect(relativeError(tp.plan, out.plan!.dataSync())).toBeLessThan(1e-6);
    expect(relativeError(tp.similarity, out.similarity.dataSync())).toBeLessThan(1e-6);
    const ref = emdPairRef(p.x, p.y, p.vx, p.vy, 1, p.n, p.m, p.C, base);
    expect(relativeError(tp.r.subarray(6, 12), ref.r)).toBeLessThan(1e-5);
    expect(relativeError(tp.c.subarray(4, 8), ref.c)).toBeLessThan(1e-5);
    tf.dispose([xMap, yMap, out.loss, out.similarity, out.plan!, t.x, t.y, t.vx, t.vy]);
  });
});
