/**
 * The wasm BatchMatMul in front of the stock kernel (batch-mat-mul.ts) against the cpu backend:
 * transposed operands, batches large enough to go per item, broadcast batches, rank-2 and rank-4
 * operands, the matMul gradient (which is transposed products), and no leaked wasm memory.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gemmFunction } from '../../../src-main/engine/backend/kernels/gemm';
import { initBackend } from '../../../src-main/engine/backend/select';

function pattern(n: number, a: number, b = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * a + b) + 0.3 * Math.cos(i * 0.11));
}

interface Case {
  a: number[];
  b: number[];
  tA: boolean;
  tB: boolean;
}

const CASES: Case[] = [
  { a: [40, 30], b: [30, 20], tA: false, tB: false }, // stock path
  { a: [30, 40], b: [30, 20], tA: true, tB: false },
  { a: [40, 30], b: [20, 30], tA: false, tB: true },
  { a: [30, 40], b: [20, 30], tA: true, tB: true },
  { a: [1, 30, 40], b: [1, 20, 30], tA: true, tB: true },
  { a: [6, 33, 40], b: [6, 40, 29], tA: false, tB: false }, // per item (≥ 16384 MACs)
  { a: [6, 40, 33], b: [6, 29, 40], tA: true, tB: true },
  { a: [2, 3, 33, 40], b: [2, 3, 29, 40], tA: false, tB: true },
  { a: [6, 33, 40], b: [1, 40, 29], tA: false, tB: false }, // broadcast b
  { a: [1, 33, 40], b: [5, 29, 40], tA: false, tB: true }, // broadcast a
  // The FMA GEMM (M % 4 = N % 8 = 0): plain, A transposed, B transposed while packed (K % 4 = 0)
  // or before (K = 18), both, and K = 1.
  { a: [36, 20], b: [20, 24], tA: false, tB: false },
  { a: [20, 36], b: [20, 24], tA: true, tB: false },
  { a: [36, 20], b: [24, 20], tA: false, tB: true },
  { a: [36, 18], b: [24, 18], tA: false, tB: true },
  { a: [1, 18, 36], b: [1, 24, 18], tA: true, tB: true },
  { a: [8, 1], b: [1, 8], tA: false, tB: false },
  { a: [520, 300], b: [300, 16], tA: false, tB: false }, // several row blocks, the last one partial
  { a: [8, 0], b: [0, 16], tA: false, tB: false }, // K = 0: zeros (the stock kernel returns garbage)
  { a: [3, 0, 5], b: [3, 5, 0], tA: true, tB: true },
  { a: [7, 5, 6], b: [7, 6, 4], tA: false, tB: false }, // tiny: stock loop
  { a: [7, 6, 5], b: [7, 4, 6], tA: true, tB: true },
];

function product(c: Case): { value: Float32Array; shape: number[] } {
  return tf.tidy(() => {
    const a = tf.tensor(
      pattern(
        c.a.reduce((p, q) => p * q),
        0.37,
      ),
      c.a,
    );
    const b = tf.tensor(
      pattern(
        c.b.reduce((p, q) => p * q),
        0.21,
        1,
      ),
      c.b,
    );
    const out = tf.matMul(a, b, c.tA, c.tB);
    return { value: out.dataSync() as Float32Array, shape: out.shape };
  });
}

function gradients(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor2d(pattern(64 * 48, 0.3), [64, 48]);
    const w = tf.tensor2d(pattern(48 * 32, 0.7, 2), [48, 32]);
    const t = tf.tensor2d(pattern(64 * 32, 0.13, 3), [64, 32]);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), t)),
    )([x, w]);
    return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
  });
}

function maxRelErr(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / scale;
}

const refs = new Map<Case, { value: Float32Array; shape: number[] }>();
let gradRefs: Float32Array[];

beforeAll(async () => {
  await initBackend('cpu');
  for (const c of CASES) refs.set(c, product(c));
  gradRefs = gradients();
  await initBackend('wasm');
});

describe('wasm BatchMatMul (transposes and batches through XNNPACK)', () => {
  it('finds relaxed SIMD for the FMA GEMM on this engine (else every product goes to XNNPACK)', () => {
    expect(typeof gemmFunction(tf.backend())).toBe('function');
  });

  it.each(CASES.map((c) => [`[${c.a}]${c.tA ? 'ᵀ' : ''} · [${c.b}]${c.tB ? 'ᵀ' : ''}`, c] as const))(
    '%s equals cpu',
    (_, c) => {
      expect(tf.getBackend()).toBe('wasm');
      const got = product(c);
      const want = refs.get(c)!;
      expect(got.shape).toEqual(want.shape);
      expect(maxRelErr(got.value, want.value)).toBeLessThan(1e-5);
    },
  );

  it('gives the matMul gradient of cpu and frees everything it allocates', () => {
    const buffers = () => tf.engine().backend.numDataIds();
    const before = { ...tf.memory(), ids: buffers() };
    const got = gradients();
    for (const c of CASES) product(c);
    const after = { ...tf.memory(), ids: buffers() };
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    // Backend-level buffers (the kernel's intermediates never become tensors).
    expect(after.ids).toBe(before.ids);
    expect(maxRelErr(got[0], gradRefs[0])).toBeLessThan(1e-5);
    expect(maxRelErr(got[1], gradRefs[1])).toBeLessThan(1e-5);
  });
});
