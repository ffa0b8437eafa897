import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { byolLoss } from '../../../src-main/engine/ssl/byol-loss';
import { stopGradient, withoutGradient } from '../../../src-main/engine/ssl/stop-gradient';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('byolLoss', () => {
  it('is mean(2 − 2 cos): hand values', () => {
    // cos = 1, 0, 24/25, −1 → per-row loss 0, 2, 0.08, 4 → mean 1.52.
    const p = tf.tensor2d([
      [1, 0],
      [0, 2],
      [3, 4],
      [1, 1],
    ]);
    const z = tf.tensor2d([
      [5, 0],
      [1, 0],
      [4, 3],
      [-2, -2],
    ]);
    expect(byolLoss(p, z).dataSync()[0]).toBeCloseTo(1.52, 6);
    tf.dispose([p, z]);
  });

  it('gradient by hand on p, none through z', () => {
    // d/dp (2 − 2 p̂·ẑ) = −2 (ẑ − (p̂·ẑ) p̂) / ‖p‖; p = (3, 4), z = (4, 3): −2·((.8,.6) − .96·(.6,.8))/5.
    const p = tf.tensor2d([[3, 4]]);
    const z = tf.tensor2d([[4, 3]]);
    const g = tf.grad((t: tf.Tensor) => byolLoss(t as tf.Tensor2D, z))(p);
    expect(Array.from(g.dataSync())).toEqual([expect.closeTo(-0.0896, 6), expect.closeTo(0.0672, 6)]);
    expect(() => tf.grad((t: tf.Tensor) => byolLoss(p, t as tf.Tensor2D))(z)).toThrow(
      /Cannot compute gradient/,
    );
    tf.dispose([p, z, g]);
  });

  it('is 0/NaN-safe for a zero vector and leaks no tensors', () => {
    const p = tf.tensor2d([
      [0, 0],
      [1, 0],
    ]);
    const z = tf.tensor2d([
      [1, 0],
      [1, 0],
    ]);
    byolLoss(p, z).dispose();
    const before = tf.memory().numTensors;
    const l = byolLoss(p, z);
    expect(l.dataSync()[0]).toBeCloseTo(1, 6); // rows: 2 − 0 and 2 − 2
    l.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => byolLoss(p, tf.ones([2, 3]) as tf.Tensor2D)).toThrow(/byol-loss\.ts/);
    tf.dispose([p, z]);
  });
});

describe('stopGradient / withoutGradient', () => {
  it('stops the gradient on one path and keeps the other', () => {
    // f(x) = Σ sg(x)·x → ∂f/∂x = x (not 2x).
    const x = tf.tensor1d([1, -2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(stopGradient(t), t)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([x, g]);
  });

  it('records nothing on the tape: the tape holds no tensors for the detached work', () => {
    const x = tf.tensor1d([0.5, 0.25]);
    const heavy = () => {
      let t: tf.Tensor = x;
      for (let i = 0; i < 20; i++) t = tf.exp(tf.mul(t, 0.5));
      return t;
    };
    const count = (detached: boolean) => {
      let during = 0;
      tf.grad((t: tf.Tensor) => {
        const c = detached ? withoutGradient(heavy) : heavy();
        during = tf.memory().numTensors;
        return tf.sum(tf.mul(t, c));
      })(x).dispose();
      return during;
    };
    // Recorded ops keep their inputs/outputs alive until backprop; detached ones are disposed at once.
    expect(count(false) - count(true)).toBeGreaterThanOrEqual(19);
    x.dispose();
  });
});
