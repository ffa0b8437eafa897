import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { emdMarginals, type MarginalOptions } from '../../../src-main/engine/ssl/marginals';

beforeAll(async () => {
  await initBackend('wasm');
});

const eps = 1e-3;
const global: MarginalOptions = { marginals: 'global-vector', marginalEpsilon: eps, detachMarginals: true };

describe('emdMarginals', () => {
  it('Eq. 13 by hand: r_i = max(cos(x_i, v_y), 0) + ε, normalised', () => {
    // x nodes at 0°, 90°, 180° and 45° from v_y = (2, 0): cosines 1, 0, −1, √½.
    const x = tf.tensor3d([
      [
        [3, 0],
        [0, 5],
        [-1, 0],
        [1, 1],
      ],
    ]);
    const y = tf.tensor3d([
      [
        [0, 2],
        [4, 4],
      ],
    ]);
    const vx = tf.tensor2d([[0, 1]]);
    const vy = tf.tensor2d([[2, 0]]);
    const { r, c } = emdMarginals(x, y, vx, vy, global);
    const raw = [1 + eps, eps, eps, Math.SQRT1_2 + eps];
    const sr = raw.reduce((a, b) => a + b);
    Array.from(r.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(raw[i] / sr, 6));
    // c_j = cos(y_j, v_x = (0, 1)): 1 and √½.
    const rawC = [1 + eps, Math.SQRT1_2 + eps];
    Array.from(c.dataSync()).forEach((v, j) => expect(v).toBeCloseTo(rawC[j] / (rawC[0] + rawC[1]), 6));
    tf.dispose([x, y, vx, vy, r, c]);
  });

  it('Eq. 12 by hand: the other map’s mean feature replaces the global vector', () => {
    const x = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
      ],
    ]); // mean (½, ½): direction 45°
    const y = tf.tensor3d([
      [
        [1, 0],
        [-1, 0],
        [0, 3],
      ],
    ]); // mean (0, 1): direction 90°
    const junk = tf.tensor2d([[123, -7]]); // not read by 'mean-feature'
    const { r, c } = emdMarginals(x, y, junk, junk, { ...global, marginals: 'mean-feature' });
    // r: cos(x_i, (0,1)) = 0, 1.   c: cos(y_j, (1,1)/√2) = √½, −√½ → 0, √½.
    const rr = [eps, 1 + eps];
    const cc = [Math.SQRT1_2 + eps, eps, Math.SQRT1_2 + eps];
    Array.from(r.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(rr[i] / (rr[0] + rr[1]), 6));
    const sc = cc.reduce((a, b) => a + b);
    Array.from(c.dataSync()).forEach((v, j) => expect(v).toBeCloseTo(cc[j] / sc, 6));
    tf.dispose([x, y, junk, r, c]);
  });

  it('does not depend on the scale of the features or of the global vectors', () => {
    const x = tf.randomNormal([2, 5, 4], 0, 1, 'float32', 3) as tf.Tensor3D;
    const y = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 4) as tf.Tensor3D;
    const v = tf.randomNormal([2, 4], 0, 1, 'float32', 5) as tf.Tensor2D;
    const a = emdMarginals(x, y, v, v, global);
    const scaled = tf.tidy(() =>
      emdMarginals(
        tf.mul(x, 37) as tf.Tensor3D,
        tf.mul(y, 0.01) as tf.Tensor3D,
        tf.mul(v, 5) as tf.Tensor2D,
        tf.mul(v, 5) as tf.Tensor2D,
        global,
      ),
    );
    expect(Array.from(scaled.r.dataSync())).toEqual(
      Array.from(a.r.dataSync()).map((t) => expect.closeTo(t, 6)),
    );
    expect(Array.from(scaled.c.dataSync())).toEqual(
      Array.from(a.c.dataSync()).map((t) => expect.closeTo(t, 6)),
    );
    tf.dispose([x, y, v, a.r, a.c, scaled.r, scaled.c]);
  });

  it('floors all-negative similarities at ε: uniform weights, never 0/0', () => {
    const x = tf.tensor3d([
      [
        [1, 0],
        [2, 0],
        [5, 0],
      ],
    ]);
    const { r } = emdMarginals(x, x, tf.tensor2d([[-1, 0]]), tf.tensor2d([[-1, 0]]), global);
    Array.from(r.dataSync()).forEach((v) => expect(v).toBeCloseTo(1 / 3, 6));
    tf.dispose([x, r]);
  });

  it('detachMarginals: no gradient path through r; without it the gradient is non-zero', () => {
    const x = tf.tensor3d([
      [
        [1, 0.5],
        [0.2, 1],
        [0.7, 0.7],
      ],
    ]);
    const y = tf.tensor3d([
      [
        [1, 1],
        [0.3, 1],
      ],
    ]);
    const v = tf.tensor2d([[1, 0.2]]);
    const w = tf.tensor2d([[1, 2, 3]]);
    const f = (detach: boolean) => (t: tf.Tensor) =>
      tf.sum(tf.mul(emdMarginals(t as tf.Tensor3D, y, v, v, { ...global, detachMarginals: detach }).r, w));
    expect(() => tf.grad(f(true))(x)).toThrow(/Cannot compute gradient/);
    const g = tf.grad(f(false))(x);
    expect(Math.max(...Array.from(g.dataSync(), Math.abs))).toBeGreaterThan(1e-3);
    tf.dispose([x, y, v, w, g]);
  });

  it('names the file and the field on bad input', () => {
    const x = tf.ones([1, 2, 3]) as tf.Tensor3D;
    const v = tf.ones([1, 3]) as tf.Tensor2D;
    expect(() => emdMarginals(x, x, v, v, { ...global, marginalEpsilon: 0 })).toThrow(
      /marginals\.ts.*marginalEpsilon/,
    );
    expect(() => emdMarginals(x, x, tf.ones([1, 4]) as tf.Tensor2D, v, global)).toThrow(/marginals\.ts/);
    tf.dispose([x, v]);
  });
});
