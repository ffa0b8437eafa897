/**
 * channelMean (one whole-tensor average pooling) and channelAffine (a 1×1 depthwise convolution
 * with bias) against Float64 loops, on wasm, at the size of a ResNet stem output where a float32
 * pooling sums 73,728 values per channel.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { channelAffine, channelMean } from '../../../src-main/engine/nn/channel-ops';

beforeAll(async () => {
  await initBackend('wasm');
});

function data(size: number, c: number): Float32Array {
  // Per-channel offsets far from zero and different spreads.
  return Float32Array.from(
    { length: size },
    (_, i) => 5 * ((i % c) - c / 2) + Math.sin(i * 0.377) * (1 + (i % 7)),
  );
}

describe('channelMean', () => {
  it.each([[[32, 48, 48, 32]], [[288, 512]], [[1, 1, 1, 6]], [[3, 1, 5, 4]]])(
    'equals the Float64 mean per channel for %j',
    (shape) => {
      const c = shape[shape.length - 1];
      const size = shape.reduce((p, q) => p * q);
      const v = data(size, c);
      const want = new Float64Array(c);
      const spread = new Float64Array(c);
      for (let i = 0; i < size; i++) want[i % c] += v[i] / (size / c);
      for (let i = 0; i < size; i++) spread[i % c] = Math.max(spread[i % c], Math.abs(v[i] - want[i % c]));
      const x = tf.tensor(v, shape);
      const got = channelMean(x);
      const g = got.dataSync();
      expect(got.shape).toEqual([c]);
      // Float32 rounding of values ~|mean| bounds what any float32 reduction can do; beyond that the
      // error must be small against the spread (what a batch norm divides by).
      for (let k = 0; k < c; k++)
        expect(Math.abs(g[k] - want[k])).toBeLessThan(1e-5 * (spread[k] + Math.abs(want[k])));
      tf.dispose([x, got]);
    },
  );
});

describe('channelAffine', () => {
  it.each([[[2, 3, 4, 5]], [[7, 5]]])('is x·scale + shift per channel for %j', (shape) => {
    const c = shape[shape.length - 1];
    const size = shape.reduce((p, q) => p * q);
    const v = data(size, c);
    const scale = Float32Array.from({ length: c }, (_, k) => 0.5 - 0.3 * k);
    const shift = Float32Array.from({ length: c }, (_, k) => k - 1.5);
    const x = tf.tensor(v, shape);
    const s = tf.tensor1d(scale);
    const b = tf.tensor1d(shift);
    const withShift = channelAffine(x, s, b);
    const without = channelAffine(x, s);
    expect(withShift.shape).toEqual(shape);
    const a = withShift.dataSync();
    const n = without.dataSync();
    for (let i = 0; i < size; i++) {
      expect(a[i]).toBeCloseTo(v[i] * scale[i % c] + shift[i % c], 4);
      expect(n[i]).toBeCloseTo(v[i] * scale[i % c], 4);
    }
    tf.dispose([x, s, b, withShift, without]);
  });
});
