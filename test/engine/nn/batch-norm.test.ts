/**
 * The closed-form batch norm (forward, batch moments, backward) against TF.js autodiff of the plain
 * formula (x − μ)/√(σ² + ε)·γ + β on the cpu backend, for NHWC maps and [N, C] vectors, then the
 * same numbers on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { batchNormInfer, batchNormTrain } from '../../../src-main/engine/nn/batch-norm';
import { expectNormClose, normTestData, relErr, type NormResult } from './norm-fixtures';

const EPS = 1e-5;

interface Case {
  name: string;
  shape: number[];
}
const CASES: Case[] = [
  { name: 'NHWC [3,5,4,6]', shape: [3, 5, 4, 6] },
  { name: '[N,C] [7,5]', shape: [7, 5] },
];

function plainTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const mean = tf.mean(x, axes);
  const variance = tf.mean(tf.square(tf.sub(x, mean)), axes);
  const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS))), gamma), beta);
  return { y, mean, variance };
}

interface Result extends NormResult {
  mean: Float32Array;
  variance: Float32Array;
}

/** Loss Σ y²·w (so dy depends on y and the mean/x̂ terms of the backward matter). */
function evaluate(shape: number[], impl: 'closed-form' | 'plain', offset = 0): Result {
  return tf.tidy(() => {
    const d = normTestData(shape, offset);
    const x = tf.tensor(d.x, shape);
    const gamma = tf.tensor1d(d.gamma);
    const beta = tf.tensor1d(d.beta);
    const w = tf.tensor(d.w, shape);
    const run = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      impl === 'plain' ? plainTrain(a, g, b) : batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, EPS);
    const fwd = run(x, gamma, beta);
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(run(a, g, b).y), w)),
    )([x, gamma, beta]);
    return {
      y: fwd.y.dataSync() as Float32Array,
      mean: fwd.mean.dataSync() as Float32Array,
      variance: fwd.variance.dataSync() as Float32Array,
      loss: value.dataSync()[0],
      dx: grads[0].dataSync() as Float32Array,
      dGamma: grads[1].dataSync() as Float32Array,
      dBeta: grads[2].dataSync() as Float32Array,
    };
  });
}

function expectClose(got: Result, want: Result, tol: number): void {
  expectNormClose(got, want, tol);
  expect(relErr(got.mean, want.mean)).toBeLessThan(tol);
  expect(relErr(got.variance, want.variance)).toBeLessThan(tol);
}

const reference = new Map<string, Result>();

beforeAll(async () => {
  await initBackend('cpu');
  for (const c of CASES) reference.set(c.name, evaluate(c.shape, 'plain'));
});

describe('batchNormTrain on cpu vs autodiff of the plain formula', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    await tf.setBackend('cpu');
    const want = reference.get(c.name)!;
    // The reference is not degenerate: every gradient has signal.
    expect(Math.max(...want.dx.map(Math.abs))).toBeGreaterThan(1e-3);
    expect(Math.max(...want.dGamma.map(Math.abs))).toBeGreaterThan(1e-3);
    expectClose(evaluate(c.shape, 'closed-form'), want, 1e-5);
  });

  it('variance is the biased batch variance; mean and variance carry no gradient', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor2d([1, 10, 2, 20, 4, 60], [3, 2]);
    const g = tf.ones([2]) as tf.Tensor1D;
    const b = tf.zeros([2]) as tf.Tensor1D;
    const r = batchNormTrain(x, g, b);
    const mu = r.mean.dataSync();
    expect(mu[0]).toBeCloseTo(7 / 3, 5);
    expect(mu[1]).toBeCloseTo(30, 4);
    const v = r.variance.dataSync();
    expect(v[0]).toBeCloseTo(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 3, 5);
    expect(v[1]).toBeCloseTo((400 + 100 + 900) / 3, 3);
    const through = tf.grad((t: tf.Tensor) => {
      const s = batchNormTrain(t as tf.Tensor2D, g, b);
      return tf.add(tf.sum(s.mean), tf.sum(s.variance));
    })(x);
    expect(Array.from(through.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    tf.dispose([x, g, b, r.y, r.mean, r.variance, through]);
  });
});

describe('batchNormTrain on wasm', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s equals the cpu reference', async (_, c) => {
    await tf.setBackend('wasm');
    expectClose(evaluate(c.shape, 'closed-form'), reference.get(c.name)!, 2e-5);
  });

  it('survives the caller disposing the moments before backward, and leaks nothing over steps', async () => {
    await tf.setBackend('wasm');
    const shape = [2, 4, 4, 3];
    const d = normTestData(shape, 1);
    const x = tf.tensor(d.x, shape);
    const gamma = tf.variable(tf.tensor1d(d.gamma));
    const beta = tf.variable(tf.tensor1d(d.beta));
    const opt = tf.train.sgd(0.01);
    const losses: number[] = [];
    let counts: number[] = [];
    for (let step = 0; step < 4; step++) {
      const loss = opt.minimize(() => {
        const r = batchNormTrain(x, gamma, beta);
        // The model's BN layer hands the moments to a sink that may dispose them at once.
        r.mean.dispose();
        r.variance.dispose();
        return tf.sum(tf.square(tf.sub(r.y, 1)));
      }, true) as tf.Scalar;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
      counts = [...counts, tf.memory().numTensors];
    }
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(losses[3]).toBeLessThan(losses[0]);
    tf.dispose([x, gamma, beta]);
    opt.dispose();
  });
});

describe('batchNormInfer', () => {
  it('gradient with constant running statistics equals autodiff of the plain formula (cpu and wasm)', async () => {
    const shape = [2, 3, 3, 4];
    const d = normTestData(shape, 2);
    const runMean = Float32Array.from([-35, -18, 1, 22]);
    const runVar = Float32Array.from([2, 5, 9, 0.5]);
    const grads = (impl: 'closed-form' | 'plain') =>
      tf.tidy(() => {
        const x = tf.tensor(d.x, shape);
        const w = tf.tensor(d.w, shape);
        const m = tf.tensor1d(runMean);
        const v = tf.tensor1d(runVar);
        const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const y =
            impl === 'plain'
              ? tf.add(tf.mul(tf.div(tf.sub(a, m), tf.sqrt(tf.add(v, EPS))), g), b)
              : batchNormInfer(a, m, v, g as tf.Tensor1D, b as tf.Tensor1D, EPS);
          return tf.sum(tf.mul(tf.square(y), w));
        };
        return tf
          .grads(f)([x, tf.tensor1d(d.gamma), tf.tensor1d(d.beta)])
          .map((t) => t.dataSync() as Float32Array);
      });
    await tf.setBackend('cpu');
    const want = grads('plain');
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const got = grads('closed-form');
      for (let i = 0; i < 3; i++) expect(relErr(got[i], want[i])).toBeLessThan(2e-5);
    }
  });

  it('rejects mismatched shapes, naming the function', () => {
    const x = tf.zeros([2, 3, 3, 4]);
    expect(() => batchNormTrain(x, tf.ones([3]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D)).toThrow(
      /batchNormTrain: gamma \[3\]/,
    );
    expect(() =>
      batchNormTrain(tf.zeros([2, 3, 4]), tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D),
    ).toThrow(/rank 4.*rank 2/);
  });
});
