import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { NegativeQueue } from '../../../src-main/engine/ssl/negative-queue';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Key i is the unit vector along axis i % dim, scaled by i + 1 (the queue normalises it back). */
const keys = (from: number, n: number, dim: number) =>
  tf.tensor2d(
    Array.from({ length: n }, (_, r) =>
      Array.from({ length: dim }, (_, c) => (c === (from + r) % dim ? from + r + 1 : 0)),
    ),
  );
const rowAxis = (q: NegativeQueue) =>
  (q.keys.arraySync() as number[][]).map((row) => row.findIndex((v) => v > 0.999));

describe('NegativeQueue', () => {
  it('starts with unit rows and writes keys in order, wrapping the pointer', () => {
    const q = new NegativeQueue(5, 8, 1);
    (q.keys.arraySync() as number[][]).forEach((row) => expect(Math.hypot(...row)).toBeCloseTo(1, 5));
    q.enqueue(keys(0, 2, 8)); // rows 0,1 ← keys 0,1
    expect(q.ptr).toBe(2);
    q.enqueue(keys(2, 2, 8)); // rows 2,3
    expect(q.ptr).toBe(4);
    expect(rowAxis(q).slice(0, 4)).toEqual([0, 1, 2, 3]);
    q.enqueue(keys(4, 3, 8)); // row 4 ← key 4, then wraps: rows 0,1 ← keys 5,6
    expect(q.ptr).toBe(2);
    expect(rowAxis(q)).toEqual([5, 6, 2, 3, 4]);
    q.enqueue(keys(7, 3, 8)); // rows 2,3,4 ← keys 7,8,9 (axes 7,0,1); ends exactly at the end
    expect(q.ptr).toBe(0);
    expect(rowAxis(q)).toEqual([5, 6, 7, 0, 1]);
    q.dispose();
  });

  it('stores normalised keys and refuses more keys than it holds or the wrong width', () => {
    const q = new NegativeQueue(2, 2, 0);
    q.enqueue(tf.tensor2d([[3, 4]]));
    expect(Array.from(q.keys.dataSync().slice(0, 2))).toEqual([
      expect.closeTo(0.6, 6),
      expect.closeTo(0.8, 6),
    ]);
    expect(() => q.enqueue(tf.ones([3, 2]) as tf.Tensor2D)).toThrow(/3 keys do not fit a queue of 2/);
    expect(() => q.enqueue(tf.ones([1, 3]) as tf.Tensor2D)).toThrow(/expected keys \[n, 2\]/);
    expect(() => q.setPointer(2)).toThrow(/pointer 2/);
    q.dispose();
  });

  it('leaks no tensors per enqueue', () => {
    const q = new NegativeQueue(4, 3, 0);
    const k = keys(0, 3, 3);
    q.enqueue(k);
    const before = tf.memory().numTensors;
    q.enqueue(k);
    q.enqueue(k);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(k);
    q.dispose();
  });
});
