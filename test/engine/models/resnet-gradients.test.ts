/**
 * The functional ResNet is trainable: training-mode gradients reach every parameter and agree
 * with a finite-difference directional derivative, on wasm with the supplied conv gradient kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { createBackbone } from '../../../src-main/engine/models/registry';

const BACKEND = process.env.SELFEMD_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm';

beforeAll(async () => {
  await initBackend(BACKEND);
});

describe('ResNet gradients', () => {
  it('reach every parameter and match a finite-difference directional derivative', () => {
    const b = createBackbone('resnet18', { baseWidth: 4, seed: 1 });
    // 64×64 so layer4's BN sees 2·2·2 values per channel (with 2 values BN output is ±1: degenerate)
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const params = [...b.params.values()];
    // a readout of two feature levels, in training mode (batch statistics)
    const loss = () =>
      tf.tidy(() => {
        const o = b.forward(x, { training: true });
        return tf.add(tf.mean(o.res5), tf.mean(tf.square(o.res3))) as tf.Scalar;
      });
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(loss, params);
    const names = [...b.params.keys()];
    const gradList = params.map((p) => grads[p.name]);
    gradList.forEach((g, i) => {
      expect(g, names[i]).toBeDefined();
      const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
      expect(Number.isFinite(norm) && norm > 0, `${names[i]} gradient norm ${norm}`).toBe(true);
    });
    // directional derivative along a random unit direction d: (L(θ+εd) − L(θ−εd)) / 2ε ≈ ⟨∇L, d⟩
    const dirs = params.map((p, i) => tf.randomNormal(p.shape, 0, 1, 'float32', 100 + i));
    const dnorm = Math.sqrt(dirs.reduce((s, d) => s + tf.tidy(() => tf.sum(tf.square(d)).dataSync()[0]), 0));
    const analytic =
      dirs.reduce((s, d, i) => s + tf.tidy(() => tf.sum(tf.mul(gradList[i], d)).dataSync()[0]), 0) / dnorm;
    const eps = 1e-2;
    const originals = params.map((p) => p.clone());
    const at = (t: number) => {
      // assign inside the tidy: the variable keeps its value, the temporaries go
      tf.tidy(() => params.forEach((p, i) => p.assign(tf.add(originals[i], tf.mul(dirs[i], t / dnorm)))));
      const l = loss();
      const v = l.dataSync()[0];
      l.dispose();
      return v;
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    params.forEach((p, i) => p.assign(originals[i]));
    expect(Math.abs(analytic)).toBeGreaterThan(1e-3);
    expect(Math.abs(numeric - analytic) / Math.abs(analytic)).toBeLessThan(0.02);
    tf.dispose([value, ...Object.values(grads), ...dirs, ...originals]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    b.dispose();
  });
});
