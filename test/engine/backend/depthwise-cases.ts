/**
 * Depthwise-conv gradient cases shared by the wasm and webgpu tests: strides 1/2, same/valid/
 * symmetric padding, odd sizes, channel multipliers 1 and 2 (core's gradient refuses dilations > 1
 * on every backend). The loss is Σ r·y², so gradients depend on the forward values too.
 */
import * as tf from '@tensorflow/tfjs';

export interface Case {
  x: [number, number, number, number];
  k: number;
  m: number;
  s: number;
  pad: 'same' | 'valid' | number;
}
// Stride 1 with multiplier 1 takes the wasm input gradient's XNNPACK form (the first two and the
// 5×5 'same' on an odd size); the rest its loop.
export const CASES: Case[] = [
  { x: [2, 8, 8, 5], k: 3, m: 1, s: 1, pad: 1 },
  { x: [2, 9, 7, 3], k: 5, m: 1, s: 1, pad: 'same' },
  { x: [2, 9, 7, 5], k: 3, m: 1, s: 2, pad: 1 },
  { x: [2, 8, 8, 4], k: 3, m: 1, s: 2, pad: 'same' },
  { x: [1, 9, 9, 3], k: 3, m: 2, s: 1, pad: 'valid' },
  { x: [2, 10, 10, 3], k: 5, m: 2, s: 2, pad: 'same' },
  { x: [2, 9, 9, 4], k: 3, m: 1, s: 2, pad: 'valid' },
];
export const label = (c: Case) => `x ${c.x} k${c.k} m${c.m} s${c.s} pad ${c.pad}`;

export const pattern = (n: number, f: number, phase = 0) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * f + phase) * 0.8 + 0.1 * Math.cos(i * 0.37));

export function tensors(c: Case) {
  const [n, h, w, ch] = c.x;
  const x = tf.tensor4d(pattern(n * h * w * ch, 0.41), c.x);
  const f = tf.tensor4d(pattern(c.k * c.k * ch * c.m, 0.23, 1), [c.k, c.k, ch, c.m]);
  const y = tf.depthwiseConv2d(x, f, c.s, c.pad);
  const r = tf.tensor(pattern(y.size, 0.19, 2), y.shape);
  y.dispose();
  return { x, f, r };
}

export const loss = (c: Case, r: tf.Tensor) => (x: tf.Tensor4D, f: tf.Tensor4D) =>
  tf.sum(tf.mul(r, tf.square(tf.depthwiseConv2d(x, f, c.s, c.pad))));

/** Read asynchronously: webgpu has no synchronous reads in Node. */
export async function grads(c: Case): Promise<{ dx: Float32Array; df: Float32Array }> {
  const [dx, df] = tf.tidy(() => {
    const { x, f, r } = tensors(c);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(c, r)(a as tf.Tensor4D, b as tf.Tensor4D))([x, f]);
  });
  const out = { dx: (await dx!.data()) as Float32Array, df: (await df!.data()) as Float32Array };
  tf.dispose([dx!, df!]);
  return out;
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}
