import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { createDenseMlpHead, createMlpHead } from '../../../src-main/engine/models/heads';
import { countParameters } from '../../../src-main/engine/models/parameter-set';
import { createBatchStatsCollector } from '../../../src-main/engine/models/running-stats';

beforeAll(async () => {
  await initBackend('wasm');
});

/** max |a − b|; the operands are built inside the tidy so reshapes and slices do not leak. */
function maxAbsDiff(operands: () => [tf.Tensor, tf.Tensor]): number {
  const d = tf.tidy(() => {
    const [a, b] = operands();
    return tf.max(tf.abs(tf.sub(a, b)));
  });
  const v = d.dataSync()[0];
  d.dispose();
  return v;
}

describe('MLP heads (BYOL projector / predictor)', () => {
  it('has torch Sequential names, [in, out] linear weights and the expected parameter count', () => {
    const head = createMlpHead('projector', 8, 16, 4, 1);
    expect([...head.params.entries()].map(([k, v]) => [k, v.shape])).toEqual([
      ['projector.0.weight', [8, 16]],
      ['projector.0.bias', [16]],
      ['projector.1.weight', [16]],
      ['projector.1.bias', [16]],
      ['projector.3.weight', [16, 4]],
      ['projector.3.bias', [4]],
    ]);
    expect([...head.buffers.keys()]).toEqual(['projector.1.running_mean', 'projector.1.running_var']);
    expect(countParameters(head)).toBe(8 * 16 + 16 + 2 * 16 + 16 * 4 + 4);
    // torch's default Linear init: U(±1/√fan_in) for weight and bias
    const w0 = head.params.get('projector.0.weight')?.dataSync() as Float32Array;
    const w3 = head.params.get('projector.3.weight')?.dataSync() as Float32Array;
    expect(Math.max(...w0.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(8));
    expect(Math.max(...w0.map(Math.abs))).toBeGreaterThan(0.8 / Math.sqrt(8));
    expect(Math.max(...w3.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(16));
    head.dispose();
  });

  it('BYOL-sized projector 2048 → 4096 → 256 has 9,449,728 parameters', () => {
    const head = createMlpHead('projector', 2048, 4096, 256, 0);
    expect(countParameters(head)).toBe(9_449_728);
    const w = head.params.get('projector.0.weight')?.dataSync() as Float32Array;
    let s2 = 0;
    for (const v of w) s2 += v * v;
    // U(−a, a) has std a/√3
    expect(Math.sqrt(s2 / w.length) / (1 / Math.sqrt(2048) / Math.sqrt(3))).toBeCloseTo(1, 2);
    head.dispose();
  });

  it('inference forward equals Linear → BN(running stats) → ReLU → Linear computed by hand', () => {
    const head = createMlpHead('predictor', 3, 5, 2, 4);
    tf.tidy(() => {
      head.buffers.get('predictor.1.running_mean')?.assign(tf.tensor1d([0.1, -0.2, 0.3, 0, 0.05]));
      head.buffers.get('predictor.1.running_var')?.assign(tf.tensor1d([0.5, 2, 1, 0.25, 4]));
      head.params.get('predictor.1.weight')?.assign(tf.tensor1d([1, 2, -1, 0.5, 1]));
      head.params.get('predictor.1.bias')?.assign(tf.tensor1d([0, 0.1, 0.2, -0.3, 0.4]));
    });
    const g = (n: string) => head.params.get(n)?.arraySync() as number[] & number[][];
    const [w0, b0, gm, bt, w3, b3] = ['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias'].map(
      (s) => g(`predictor.${s}`),
    );
    const rm = head.buffers.get('predictor.1.running_mean')?.arraySync() as number[];
    const rv = head.buffers.get('predictor.1.running_var')?.arraySync() as number[];
    const xs = [
      [1, -2, 0.5],
      [0.3, 0.3, -1],
    ];
    const x = tf.tensor2d(xs);
    const before = tf.memory().numTensors;
    const y = head.forward(x, { training: false });
    expect(tf.memory().numTensors).toBe(before + 1);
    const got = y.arraySync();
    xs.forEach((row, r) => {
      const h = b0.map(
        (b: number, j: number) => b + row.reduce((s, v, i) => s + v * (w0[i] as number[])[j], 0),
      );
      const z = h.map((v: number, j: number) =>
        Math.max(0, ((gm[j] as number) * (v - rm[j])) / Math.sqrt(rv[j] + 1e-5) + (bt[j] as number)),
      );
      for (let o = 0; o < 2; o++) {
        const want =
          (b3[o] as number) +
          z.reduce((s: number, v: number, j: number) => s + v * (w3[j] as number[])[o], 0);
        expect(got[r][o]).toBeCloseTo(want, 5);
      }
    });
    tf.dispose([x, y]);
    head.dispose();
  });

  it('dense head on [N,1,1,C] equals the vector head on [N,C], in training and inference', () => {
    const vec = createMlpHead('projector', 6, 12, 5, 9);
    const dense = createDenseMlpHead('projector', 6, 12, 5, 9);
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 3) as tf.Tensor2D;
    const xMap = x.reshape([4, 1, 1, 6]) as tf.Tensor4D;
    for (const training of [true, false]) {
      const sv = createBatchStatsCollector();
      const sd = createBatchStatsCollector();
      const yv = vec.forward(x, { training, onBatchStats: sv.sink });
      const yd = dense.forward(xMap, { training, onBatchStats: sd.sink });
      expect(yd.shape).toEqual([4, 1, 1, 5]);
      expect(maxAbsDiff(() => [yd.reshape([4, 5]), yv])).toBeLessThan(1e-6);
      expect(sd.records.map((r) => [r.bnName, r.count])).toEqual(training ? [['projector.1', 4]] : []);
      expect(sv.records.map((r) => [r.bnName, r.count])).toEqual(training ? [['projector.1', 4]] : []);
      sv.clear();
      sd.clear();
      tf.dispose([yv, yd]);
    }
    tf.dispose([x, xMap]);
    vec.dispose();
    dense.dispose();
  });

  it('dense head on [N,H,W,C] normalises over N·H·W (= the vector head on all pixels)', () => {
    const vec = createMlpHead('dense_projector', 4, 8, 3, 2);
    const dense = createDenseMlpHead('dense_projector', 4, 8, 3, 2);
    const x = tf.randomNormal([2, 3, 5, 4], 1, 2, 'float32', 8) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const sd = createBatchStatsCollector();
    const yd = dense.forward(x, { training: true, onBatchStats: sd.sink });
    expect(sd.records[0].count).toBe(2 * 3 * 5);
    const rows = x.reshape([30, 4]) as tf.Tensor2D;
    const yv = vec.forward(rows, { training: true });
    expect(maxAbsDiff(() => [yd.reshape([30, 3]), yv])).toBeLessThan(1e-5);
    // per-image stats would differ: the first image alone gives another answer
    const first = tf.slice(rows, [0, 0], [15, 4]);
    const y1 = vec.forward(first, { training: true });
    expect(maxAbsDiff(() => [y1, tf.slice(yv, [0, 0], [15, 3])])).toBeGreaterThan(1e-3);
    sd.clear();
    tf.dispose([yd, rows, yv, first, y1]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    vec.dispose();
    dense.dispose();
  });

  it('rejects wrongly shaped input naming the head', () => {
    const head = createMlpHead('projector', 8, 16, 4, 1);
    const dense = createDenseMlpHead('local', 8, 16, 4, 1);
    const x = tf.zeros([2, 7]) as tf.Tensor2D;
    const m = tf.zeros([2, 2, 2, 7]) as tf.Tensor4D;
    expect(() => head.forward(x, { training: false })).toThrow(
      /"projector": expected \[N, 8\], got \[2, 7\]/,
    );
    expect(() => dense.forward(m, { training: false })).toThrow(/"local": expected \[N, H, W, 8\]/);
    expect(() => createMlpHead('p', 0, 4, 4, 0)).toThrow(/inDim must be a positive integer/);
    tf.dispose([x, m]);
    head.dispose();
    dense.dispose();
  });
});
