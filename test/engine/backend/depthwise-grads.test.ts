/**
 * The depthwise-conv gradients supplied to wasm (kernels/depthwise-conv-grads.ts): against central
 * finite differences of the wasm forward (the loss Σ r·y² is quadratic in x and in w, so a central
 * difference has no truncation error: what remains is float32 round-off), and against the cpu
 * backend's stock kernels elementwise, over the cases in depthwise-cases.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { CASES, type Case, grads, label, loss, relErr, tensors } from './depthwise-cases';

/** Central differences of the loss at `count` evenly spread coordinates of input `which`. */
function finiteDifferences(c: Case, which: 'x' | 'f', count: number): { at: number[]; fd: number[] } {
  const eps = 1e-2;
  return tf.tidy(() => {
    const t = tensors(c);
    const base = (which === 'x' ? t.x : t.f).dataSync() as Float32Array;
    const at = Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * base.length) / count));
    const evalAt = (values: Float32Array) => {
      const moved = tf.tensor4d(
        values,
        (which === 'x' ? t.x : t.f).shape as [number, number, number, number],
      );
      const v = (which === 'x' ? loss(c, t.r)(moved, t.f) : loss(c, t.r)(t.x, moved)).dataSync()[0]!;
      moved.dispose();
      return v;
    };
    const fd = at.map((i) => {
      const plus = Float32Array.from(base);
      const minus = Float32Array.from(base);
      plus[i]! += eps;
      minus[i]! -= eps;
      return (evalAt(plus) - evalAt(minus)) / (2 * eps);
    });
    return { at, fd };
  });
}

const cpuRefs = new Map<Case, { dx: Float32Array; df: Float32Array }>();
beforeAll(async () => {
  await initBackend('cpu');
  for (const c of CASES) cpuRefs.set(c, await grads(c));
  await initBackend('wasm');
});

describe('wasm depthwise-conv gradients', () => {
  it('are supplied: wasm has no stock DepthwiseConv2dNativeBackprop* kernels', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel(tf.DepthwiseConv2dNativeBackpropInput, 'wasm')).toBeDefined();
    expect(tf.getKernel(tf.DepthwiseConv2dNativeBackpropFilter, 'wasm')).toBeDefined();
  });

  it.each(CASES.map((c) => [label(c), c] as const))(
    '%s: match finite differences and the cpu kernels',
    async (_, c) => {
      const got = await grads(c);
      for (const which of ['x', 'f'] as const) {
        const { at, fd } = finiteDifferences(c, which, 12);
        const analytic = at.map((i) => (which === 'x' ? got.dx : got.df)[i]!);
        expect(relErr(analytic, fd), `${which} vs finite differences`).toBeLessThan(2e-3);
        // not a degenerate check: the sampled gradients are far from zero
        expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(0.1);
      }
      const want = cpuRefs.get(c)!;
      expect(relErr(got.dx, want.dx)).toBeLessThan(1e-5);
      expect(relErr(got.df, want.df)).toBeLessThan(1e-5);
    },
  );

  it('leave tf.memory flat', async () => {
    await grads(CASES[1]!);
    const before = tf.memory().numTensors;
    await grads(CASES[1]!);
    expect(tf.memory().numTensors).toBe(before);
  });
});
