import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { cosineMatrix, resolveStrategy } from '../../../src-main/engine/ssl/cosine-matrix';
import { cosRef, numericGradient, randomArray, relativeError, rng } from './reference';

beforeAll(async () => {
  await initBackend('wasm');
});

const strategies = ['per-pair', 'batched'] as const;

describe('cosineMatrix', () => {
  it('uses one XNNPACK 2-D matMul per pair on wasm', () => {
    expect(resolveStrategy('auto')).toBe('per-pair');
  });

  it('hand values on both paths (n ≠ m, scale-free)', () => {
    const x = tf.tensor3d([
      [
        [1, 0],
        [3, 4],
      ],
      [
        [0, 2],
        [1, 1],
      ],
    ]);
    const y = tf.tensor3d([
      [
        [2, 0],
        [0, -1],
        [4, 3],
      ],
      [
        [0, 5],
        [-1, -1],
        [1, 0],
      ],
    ]);
    const r = Math.SQRT1_2;
    const expected = [
      [
        [1, 0, 0.8],
        [0.6, -0.8, 24 / 25],
      ],
      [
        [1, -r, 0],
        [r, -1, r],
      ],
    ];
    for (const s of strategies) {
      const out = cosineMatrix(x, y, s);
      const got = out.arraySync();
      expected.forEach((blk, b) =>
        blk.forEach((row, i) => row.forEach((v, j) => expect(got[b][i][j]).toBeCloseTo(v, 6))),
      );
      out.dispose();
    }
    tf.dispose([x, y]);
  });

  it('values and gradients equal the Float64 reference on both paths', () => {
    const rand = rng(11);
    const [B, n, m, C] = [3, 5, 4, 6];
    const xv = Float64Array.from(Float32Array.from(randomArray(B * n * C, rand)));
    const yv = Float64Array.from(Float32Array.from(randomArray(B * m * C, rand)));
    const wv = Float64Array.from(Float32Array.from(randomArray(B * n * m, rand))); // loss = Σ w·cos
    const refLoss = (x: Float64Array, y: Float64Array) => {
      let s = 0;
      for (let b = 0; b < B; b++)
        cosRef(x, b * n * C, y, b * m * C, n, m, C).forEach((v, k) => (s += v * wv[b * n * m + k]));
      return s;
    };
    const refCos = new Float64Array(B * n * m);
    for (let b = 0; b < B; b++) refCos.set(cosRef(xv, b * n * C, yv, b * m * C, n, m, C), b * n * m);
    const gx = numericGradient((q) => refLoss(q, yv), xv);
    const gy = numericGradient((q) => refLoss(xv, q), yv);
    const x = tf.tensor3d(Float32Array.from(xv), [B, n, C]);
    const y = tf.tensor3d(Float32Array.from(yv), [B, m, C]);
    const w = tf.tensor3d(Float32Array.from(wv), [B, n, m]);
    for (const s of strategies) {
      const out = cosineMatrix(x, y, s);
      expect(relativeError(out.dataSync(), refCos)).toBeLessThan(1e-6);
      const [dx, dy] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(cosineMatrix(a as tf.Tensor3D, b as tf.Tensor3D, s), w)),
      )([x, y]);
      expect(relativeError(dx.dataSync(), gx)).toBeLessThan(1e-5);
      expect(relativeError(dy.dataSync(), gy)).toBeLessThan(1e-5);
      tf.dispose([out, dx, dy]);
    }
    tf.dispose([x, y, w]);
  });

  it('a zero vector has cosine 0 with everything and a finite gradient', () => {
    const x = tf.tensor3d([
      [
        [0, 0, 0],
        [1, 2, 2],
      ],
    ]);
    const y = tf.tensor3d([
      [
        [2, 1, 2],
        [0, 0, 1],
      ],
    ]);
    for (const s of strategies) {
      const out = cosineMatrix(x, y, s);
      expect(Array.from(out.dataSync()).slice(0, 2)).toEqual([0, 0]);
      const [dx, dy] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(cosineMatrix(a as tf.Tensor3D, b as tf.Tensor3D, s)),
      )([x, y]);
      expect([...dx.dataSync(), ...dy.dataSync()].every(Number.isFinite)).toBe(true);
      tf.dispose([out, dx, dy]);
    }
    tf.dispose([x, y]);
  });

  it('leaks no tensors forward or backward', () => {
    const x = tf.randomNormal([4, 3, 8]) as tf.Tensor3D;
    const y = tf.randomNormal([4, 5, 8]) as tf.Tensor3D;
    const step = () =>
      tf.dispose(
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(cosineMatrix(a as tf.Tensor3D, b as tf.Tensor3D, 'per-pair')),
        )([x, y]),
      );
    step();
    // The per-pair products allocate below the engine (wasm-io.ts): check the backend's own count too.
    const dataIds = () => tf.backend().numDataIds();
    const before = [tf.memory().numTensors, dataIds()];
    for (let i = 0; i < 3; i++) step();
    cosineMatrix(x, y).dispose();
    expect([tf.memory().numTensors, dataIds()]).toEqual(before);
    expect(() => cosineMatrix(x, tf.ones([4, 5, 7]) as tf.Tensor3D)).toThrow(/cosine-matrix\.ts/);
    tf.dispose([x, y]);
  });
});
