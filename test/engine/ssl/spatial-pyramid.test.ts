import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { pyramidPairs, spatialPyramid } from '../../../src-main/engine/ssl/spatial-pyramid';

beforeAll(async () => {
  await initBackend('wasm');
});

/** [1, h, w, 2]: channel 0 holds 10·row + col, channel 1 holds −(10·row + col). */
function ramp(h: number, w: number): tf.Tensor4D {
  const v: number[] = [];
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) v.push(10 * i + j, -(10 * i + j));
  return tf.tensor4d(v, [1, h, w, 2]);
}

describe('spatialPyramid', () => {
  it('gives the paper’s 7×7, 5×5, 3×3 levels of a 7×7 map (224 px), each cell the mean of its crop', () => {
    const map = ramp(7, 7);
    const [l7, l5, l3] = spatialPyramid(map, [7, 5, 3]);
    expect([l7.shape, l5.shape, l3.shape]).toEqual([
      [1, 7, 7, 2],
      [1, 5, 5, 2],
      [1, 3, 3, 2],
    ]);
    expect(l7.arraySync()).toEqual(map.arraySync());
    // A linear ramp's crop mean is its centre value: 5×5 cell (a, b) = crop 3×3 centred at (a+1, b+1).
    const a5 = l5.arraySync()[0];
    expect(a5[0][0]).toEqual([11, -11]);
    expect(a5[4][2][0]).toBeCloseTo(10 * 5 + 3, 5);
    // 3×3 cell (a, b) = crop 5×5 centred at (a+2, b+2).
    const a3 = l3.arraySync()[0];
    expect(a3[0][0][0]).toBeCloseTo(22, 5);
    expect(a3[2][1][1]).toBeCloseTo(-(10 * 4 + 3), 5);
    tf.dispose([map, l7, l5, l3]);
  });

  it('averages (not sums): a non-linear map checked cell by cell', () => {
    const map = tf.tensor4d([1, 2, 3, 4, 50, 6, 7, 8, 9], [1, 3, 3, 1]);
    const [l2] = spatialPyramid(map, [2]);
    expect(Array.from(l2.dataSync())).toEqual(
      [57 / 4, 61 / 4, 69 / 4, 73 / 4].map((v) => expect.closeTo(v, 5)),
    );
    tf.dispose([map, l2]);
  });

  it('clamps a grid larger than the map to the map, per axis, one level per grid', () => {
    const map = ramp(4, 6);
    const levels = spatialPyramid(map, [7, 5, 3]);
    expect(levels.map((l) => l.shape)).toEqual([
      [1, 4, 6, 2],
      [1, 4, 5, 2],
      [1, 3, 3, 2],
    ]);
    expect(levels[0].arraySync()).toEqual(map.arraySync());
    // Grid 5 on the 4-row axis: kernel 1 × 2 → cell (0, 0) = mean of (0,0), (0,1).
    expect((levels[1].arraySync() as number[][][][])[0][0][0][0]).toBeCloseTo(0.5, 6);
    // Disposing a level does not dispose the map.
    tf.dispose(levels);
    expect(map.isDisposed).toBe(false);
    map.dispose();
  });

  it('passes gradients back to the map (avgPool backward on wasm)', () => {
    const map = ramp(7, 7);
    const g = tf.grad((m: tf.Tensor) =>
      tf.addN(spatialPyramid(m as tf.Tensor4D, [5, 3]).map((l) => tf.sum(l))),
    )(map);
    // Corner (0,0) lies in one 3×3 crop (÷9) and one 5×5 crop (÷25); the centre (3,3) in 9 of the
    // 25 3×3 crops and in all 9 5×5 crops.
    const a = (g.arraySync() as number[][][][])[0];
    expect(a[0][0][0]).toBeCloseTo(1 / 9 + 1 / 25, 6);
    expect(a[3][3][0]).toBeCloseTo(9 / 9 + 9 / 25, 5);
    tf.dispose([map, g]);
  });
});

describe('spatialPyramid gradient (pooled padding instead of the stock AvgPoolGrad)', () => {
  it('equals tf.avgPool’s own gradient (non-square map, several grids)', () => {
    const map = tf.randomNormal([3, 6, 5, 4], 0, 1, 'float32', 9) as tf.Tensor4D;
    const w = [3, 2, 1].map((g, k) =>
      tf.randomNormal([3, Math.min(g, 6), Math.min(g, 5), 4], 0, 1, 'float32', k),
    );
    const run = (stock: boolean) =>
      tf.grad((m: tf.Tensor) =>
        tf.addN(spatialPyramid(m as tf.Tensor4D, [3, 2, 1], stock).map((l, k) => tf.sum(tf.mul(l, w[k])))),
      )(map);
    const a = run(false);
    const b = run(true);
    expect(Math.max(...Array.from(b.dataSync(), Math.abs))).toBeGreaterThan(0.1);
    Array.from(a.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(b.dataSync()[i], 5));
    tf.dispose([map, a, b, ...w]);
  });

  it('leaks no tensors', () => {
    const map = tf.randomNormal([2, 7, 7, 3]) as tf.Tensor4D;
    const step = () =>
      tf.dispose(
        tf.grad((m: tf.Tensor) => tf.addN(spatialPyramid(m as tf.Tensor4D, [7, 5, 3]).map((l) => tf.sum(l))))(
          map,
        ),
      );
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    map.dispose();
  });
});

describe('pyramidPairs', () => {
  const levels = (tag: number) => [1, 2, 3].map((k) => tf.fill([1, k, k, 1], tag) as tf.Tensor4D);

  it('cross: every level of A with every level of B, A-major', () => {
    const a = levels(1);
    const b = levels(2);
    const pairs = pyramidPairs(a, b, 'cross');
    expect(pairs.length).toBe(9);
    expect(pairs.map(([p, q]) => [p.shape[1], q.shape[1]])).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [2, 1],
      [2, 2],
      [2, 3],
      [3, 1],
      [3, 2],
      [3, 3],
    ]);
    expect(pairs[5][0]).toBe(a[1]);
    expect(pairs[5][1]).toBe(b[2]);
    tf.dispose([...a, ...b]);
  });

  it('same: level k with level k; unequal level counts are an error', () => {
    const a = levels(1);
    const b = levels(2);
    const pairs = pyramidPairs(a, b, 'same');
    expect(pairs.length).toBe(3);
    pairs.forEach(([p, q], k) => {
      expect(p).toBe(a[k]);
      expect(q).toBe(b[k]);
    });
    expect(() => pyramidPairs(a, b.slice(1), 'same')).toThrow(/spatial-pyramid\.ts/);
    tf.dispose([...a, ...b]);
  });
});
