/**
 * InfoNCE and NT-Xent against plain float64 JavaScript written from their definitions, and their
 * gradients against central finite differences of that reference.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { infoNceLoss, ntXentLoss } from '../../../src-main/engine/ssl/contrastive-loss';

beforeAll(async () => {
  await initBackend('wasm');
});

type M = number[][];
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
const logSumExp = (xs: number[]) => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

/** −log softmax of the positive among [positive, negatives], averaged over queries. */
function infoNceRef(q: M, k: M, queue: M, t: number): number {
  let sum = 0;
  q.forEach((qi, i) => {
    const qn = unit(qi);
    const logits = [dot(qn, unit(k[i])), ...queue.map((n) => dot(qn, unit(n)))].map((x) => x / t);
    sum += logSumExp(logits) - logits[0];
  });
  return sum / q.length;
}

function ntXentRef(z: M, t: number): number {
  const n = z.length / 2;
  const zn = z.map(unit);
  let sum = 0;
  zn.forEach((zi, i) => {
    const others = zn.flatMap((zj, j) => (j === i ? [] : [dot(zi, zj) / t]));
    sum += logSumExp(others) - dot(zi, zn[(i + n) % (2 * n)]) / t;
  });
  return sum / z.length;
}

/** Central differences of f at x (float64), entry by entry. */
function finiteDiff(f: (x: M) => number, x: M, h = 1e-5): M {
  return x.map((row, i) =>
    row.map((_, j) => {
      const plus = x.map((r) => [...r]);
      const minus = x.map((r) => [...r]);
      plus[i][j] += h;
      minus[i][j] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    }),
  );
}

const Q: M = [
  [1, 0, 0.5],
  [0.2, -1, 0.3],
];
const K: M = [
  [0.9, 0.1, 0.4],
  [0.1, -0.8, 0.6],
];
const QUEUE: M = [
  [0, 1, 0],
  [-1, 0.5, 0.2],
  [0.3, 0.3, -0.9],
  [0.7, -0.2, 0.1],
];
const Z: M = [
  [1, 0.2, -0.3],
  [-0.4, 1, 0.1],
  [0.5, 0.5, 0.5],
  [0.9, 0.3, -0.1],
  [-0.2, 0.8, 0.3],
  [0.4, 0.6, 0.2],
];

describe('infoNceLoss', () => {
  it('equals the float64 definition on a tiny case, at τ = 0.2 and τ = 1', () => {
    for (const t of [0.2, 1]) {
      const got = infoNceLoss(tf.tensor2d(Q), tf.tensor2d(K), tf.tensor2d(QUEUE), t);
      expect(got.dataSync()[0]).toBeCloseTo(infoNceRef(Q, K, QUEUE, t), 4);
      got.dispose();
    }
  });

  it('is log(K + 1) when every logit is equal (orthogonal positive and negatives)', () => {
    const q = tf.tensor2d([[1, 0, 0]]);
    const k = tf.tensor2d([[0, 1, 0]]);
    const queue = tf.tensor2d([
      [0, 0, 1],
      [0, -1, 0],
      [0, 0, -1],
    ]);
    expect(infoNceLoss(q, k, queue, 0.2).dataSync()[0]).toBeCloseTo(Math.log(4), 5);
  });

  it('gradient on q matches finite differences; none flows into keys or queue', () => {
    const t = 0.2;
    const g = tf.grad((x: tf.Tensor) => infoNceLoss(x as tf.Tensor2D, tf.tensor2d(K), tf.tensor2d(QUEUE), t))(
      tf.tensor2d(Q),
    );
    const want = finiteDiff((x) => infoNceRef(x, K, QUEUE, t), Q);
    const got = g.arraySync() as M;
    got.flat().forEach((v, i) => expect(v).toBeCloseTo(want.flat()[i], 3));
    expect(Math.max(...want.flat().map(Math.abs))).toBeGreaterThan(0.05); // a case that moves
    expect(() =>
      tf.grad((x: tf.Tensor) => infoNceLoss(tf.tensor2d(Q), x as tf.Tensor2D, tf.tensor2d(QUEUE), t))(
        tf.tensor2d(K),
      ),
    ).toThrow(/Cannot compute gradient/);
  });

  it('names the file and the shapes on bad input', () => {
    expect(() => infoNceLoss(tf.tensor2d(Q), tf.tensor2d(K), tf.ones([4, 2]) as tf.Tensor2D, 0.2)).toThrow(
      /contrastive-loss\.ts.*\[4,2\]/,
    );
    expect(() => infoNceLoss(tf.tensor2d(Q), tf.tensor2d(K), tf.tensor2d(QUEUE), 0)).toThrow(/temperature/);
  });
});

describe('ntXentLoss', () => {
  it('equals the float64 definition on a tiny case, at τ = 0.5 and τ = 0.1', () => {
    for (const t of [0.5, 0.1]) {
      const got = ntXentLoss(tf.tensor2d(Z), t);
      expect(got.dataSync()[0]).toBeCloseTo(ntXentRef(Z, t), 4);
      got.dispose();
    }
  });

  it('is log(2N − 1) when all rows are the same vector', () => {
    const z = tf.tensor2d([
      [1, 2],
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    expect(ntXentLoss(z, 0.5).dataSync()[0]).toBeCloseTo(Math.log(3), 5);
  });

  it('gradient through both views matches finite differences', () => {
    const t = 0.5;
    const g = tf.grad((x: tf.Tensor) => ntXentLoss(x as tf.Tensor2D, t))(tf.tensor2d(Z));
    const want = finiteDiff((x) => ntXentRef(x, t), Z);
    const got = g.arraySync() as M;
    got.flat().forEach((v, i) => expect(v).toBeCloseTo(want.flat()[i], 3));
    expect(Math.max(...want.flat().map(Math.abs))).toBeGreaterThan(0.05);
  });

  it('leaks no tensors and refuses an odd batch', () => {
    const z = tf.tensor2d(Z);
    ntXentLoss(z, 0.5).dispose();
    const before = tf.memory().numTensors;
    ntXentLoss(z, 0.5).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => ntXentLoss(tf.ones([3, 2]) as tf.Tensor2D, 0.5)).toThrow(/contrastive-loss\.ts.*\[3,2\]/);
    z.dispose();
  });
});
