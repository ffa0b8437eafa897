// The same pipeline on the cpu backend, where cosine-matrix.ts takes its plain (batched matMul)
// form: checked against the Float64 reference, forward and gradient.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRETRAIN_CONFIG } from '../../../shared/config/pretrain';
import { initBackend } from '../../../src-main/engine/backend/select';
import { resolveStrategy } from '../../../src-main/engine/ssl/cosine-matrix';
import { emdLoss, type EmdLossOptions } from '../../../src-main/engine/ssl/emd-loss';
import { spatialPyramid } from '../../../src-main/engine/ssl/spatial-pyramid';
import { emdLossRef, emdPairRef, numericGradient, randomArray, relativeError, rng } from './reference';

beforeAll(async () => {
  await initBackend('cpu');
});

const base: EmdLossOptions = { ...DEFAULT_PRETRAIN_CONFIG.emd };

describe('emdLoss on the cpu backend', () => {
  it('uses the batched form and matches the Float64 reference (values and gradient)', () => {
    expect(tf.getBackend()).toBe('cpu');
    expect(resolveStrategy('per-pair')).toBe('batched');
    const rand = rng(61);
    const [B, n, m, C] = [2, 4, 3, 5];
    const f32 = (len: number) =>
      Float64Array.from(Float32Array.from(randomArray(len, rand).map((v) => v + 0.3)));
    const [x, y, vx, vy] = [f32(B * n * C), f32(B * m * C), f32(B * C), f32(B * C)];
    const tx = tf.tensor3d(Float32Array.from(x), [B, n, C]);
    const ty = tf.tensor3d(Float32Array.from(y), [B, m, C]);
    const tvx = tf.tensor2d(Float32Array.from(vx), [B, C]);
    const tvy = tf.tensor2d(Float32Array.from(vy), [B, C]);
    const out = emdLoss(tx, ty, tvx, tvy, base);
    expect(out.loss.dataSync()[0]).toBeCloseTo(emdLossRef(x, y, vx, vy, B, n, m, C, base), 5);
    const [gx] = tf.grads((a: tf.Tensor) => emdLoss(a as tf.Tensor3D, ty, tvx, tvy, base).loss)([tx]);
    const fixed = Array.from({ length: B }, (_, b) => {
      const p = emdPairRef(x, y, vx, vy, b, n, m, C, base);
      return { r: p.r, c: p.c, plan: p.plan };
    });
    const numeric = numericGradient((q) => emdLossRef(q, y, vx, vy, B, n, m, C, base, fixed), x);
    expect(relativeError(gx.dataSync(), numeric)).toBeLessThan(1e-4);
    tf.dispose([tx, ty, tvx, tvy, out.loss, out.similarity, gx]);
  });

  it('pools the pyramid with the same supplied gradient as on wasm', () => {
    const map = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const grad = (stock: boolean) =>
      tf.grad((t: tf.Tensor) =>
        tf.addN(spatialPyramid(t as tf.Tensor4D, [5, 3], stock).map((l) => tf.sum(tf.square(l)))),
      )(map);
    const a = grad(false);
    const b = grad(true);
    expect(relativeError(a.dataSync(), b.dataSync())).toBeLessThan(1e-5);
    tf.dispose([map, a, b]);
  });
});
