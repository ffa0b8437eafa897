/**
 * The wasm Transpose in front of the stock kernel (transpose.ts) against the cpu backend, bit for
 * bit: every canonical case (2-D, batched 2-D, the [C, H, W, N] swap, block moves), sides that are
 * not multiples of 4 (the JS edges), shapes that go to the stock kernel, and no leaked memory.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import {
  canonicalPermutation,
  fastTransposeAvailable,
} from '../../../src-main/engine/backend/kernels/transpose';

interface Case {
  shape: number[];
  perm: number[];
  dtype?: 'float32' | 'int32';
}

const CASES: Case[] = [
  { shape: [512, 256], perm: [1, 0] },
  { shape: [37, 22], perm: [1, 0] }, // edges on both sides
  { shape: [3, 3, 12, 20], perm: [0, 1, 3, 2] }, // conv filter [kh, kw, ci, co] → [kh, kw, co, ci]
  { shape: [1, 1, 18, 9], perm: [0, 1, 3, 2] },
  { shape: [8, 5, 7, 12], perm: [3, 1, 2, 0] }, // conv weight gradient's batch/channel swap
  { shape: [20, 6, 6, 17], perm: [3, 1, 2, 0] }, // … with edges
  { shape: [6, 5, 7, 8], perm: [1, 2, 0, 3] }, // block moves
  { shape: [6, 5, 7, 6], perm: [1, 2, 0, 3] }, // blocks of 6 floats: stock
  { shape: [9, 3, 4, 5], perm: [3, 0, 1, 2] }, // merges to 2-D
  { shape: [4, 6, 8, 10], perm: [2, 0, 3, 1] }, // 4 canonical axes: stock
  { shape: [32, 10, 10, 3], perm: [3, 1, 2, 0] }, // a side of 3: stock
  { shape: [16, 12], perm: [1, 0], dtype: 'int32' }, // stock
  { shape: [7, 9], perm: [0, 1] }, // identity: stock
  { shape: [0, 32, 24, 20], perm: [0, 2, 1, 3] }, // empty (the stock kernel divides by zero)
];

function input(c: Case): tf.Tensor {
  const n = c.shape.reduce((p, q) => p * q, 1);
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 100 + i * 1e-3);
  return c.dtype === 'int32' ? tf.tensor(Int32Array.from(data), c.shape, 'int32') : tf.tensor(data, c.shape);
}

const run = (c: Case) =>
  tf.tidy(() => {
    const y = tf.transpose(input(c), c.perm);
    return { shape: y.shape, data: Array.from(y.dataSync()) };
  });

const refs = new Map<Case, ReturnType<typeof run>>();

beforeAll(async () => {
  await initBackend('cpu');
  for (const c of CASES) refs.set(c, run(c));
  await initBackend('wasm');
});

describe('canonicalPermutation', () => {
  it('drops unit axes and merges axes that stay neighbours', () => {
    expect(canonicalPermutation([32, 24, 24, 32], [3, 1, 2, 0])).toEqual({
      shape: [32, 576, 32],
      perm: [2, 1, 0],
    });
    expect(canonicalPermutation([32, 24, 24, 32], [1, 2, 0, 3])).toEqual({
      shape: [32, 576, 32],
      perm: [1, 0, 2],
    });
    expect(canonicalPermutation([3, 3, 64, 128], [0, 1, 3, 2])).toEqual({
      shape: [9, 64, 128],
      perm: [0, 2, 1],
    });
    expect(canonicalPermutation([1, 1, 64, 128], [0, 1, 3, 2])).toEqual({ shape: [64, 128], perm: [1, 0] });
    expect(canonicalPermutation([2, 3, 4], [0, 1, 2])).toEqual({ shape: [24], perm: [0] });
    expect(canonicalPermutation([4, 6, 8, 10], [2, 0, 3, 1])).toEqual({
      shape: [4, 6, 8, 10],
      perm: [2, 0, 3, 1],
    });
  });
});

describe('wasm Transpose (SIMD tiles and block moves)', () => {
  it('finds the wasm memory for its SIMD functions on this TF.js version (else every call is stock)', () => {
    expect(fastTransposeAvailable(tf.backend())).toBe(true);
  });

  it.each(CASES.map((c) => [`[${c.shape}] perm [${c.perm}]${c.dtype ? ` ${c.dtype}` : ''}`, c] as const))(
    '%s equals cpu bit for bit',
    (_, c) => {
      expect(tf.getBackend()).toBe('wasm');
      const got = run(c);
      const want = refs.get(c)!;
      expect(got.shape).toEqual(want.shape);
      expect(got.data).toEqual(want.data);
    },
  );

  it('keeps tf.memory flat', () => {
    const before = tf.memory().numTensors;
    for (const c of CASES) run(c);
    expect(tf.memory().numTensors).toBe(before);
  });
});
