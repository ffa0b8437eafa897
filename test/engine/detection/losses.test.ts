/**
 * The detection losses against their formulas evaluated in plain JS, and their gradients: they
 * must be usable inside a tape (no comparison ops recorded) and match finite differences.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { decodeBoxes } from '../../../src-main/engine/detection/box-coder';
import {
  boxRegressionLoss,
  giouLoss,
  sigmoidCrossEntropy,
  sigmoidFocalLoss,
  smoothL1Loss,
} from '../../../src-main/engine/detection/losses';

beforeAll(async () => {
  await initBackend('wasm');
});

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('losses', () => {
  it('sigmoid focal loss equals −α_t (1 − p_t)^γ log p_t, ignoring masked rows', () => {
    const x = [2.5, -1, 0.3, -4, 1.2, 0];
    const t = [1, 0, 0, 1, 0, 1];
    const w = [1, 1, 1, 1, 0, 1];
    let expected = 0;
    for (let i = 0; i < x.length; i++) {
      const p = sigmoid(x[i]!);
      const pt = t[i] ? p : 1 - p;
      const at = t[i] ? 0.25 : 0.75;
      expected += w[i]! * -at * (1 - pt) ** 2 * Math.log(pt);
    }
    const got = tf.tidy(
      () =>
        sigmoidFocalLoss(
          tf.tensor2d(x, [3, 2]),
          tf.tensor2d(t, [3, 2]),
          0.25,
          2,
          tf.tensor2d(w, [3, 2]),
        ).dataSync()[0]!,
    );
    expect(got).toBeCloseTo(expected, 5);
    const g15 = tf.tidy(() => sigmoidFocalLoss(tf.tensor1d(x), tf.tensor1d(t), 0.25, 1.5).dataSync()[0]!);
    let e15 = 0;
    for (let i = 0; i < x.length; i++) {
      const p = sigmoid(x[i]!);
      const pt = t[i] ? p : 1 - p;
      e15 += -(t[i] ? 0.25 : 0.75) * (1 - pt) ** 1.5 * Math.log(pt);
    }
    expect(g15).toBeCloseTo(e15, 5);
  });

  it('binary cross-entropy and smooth L1 (β = 0.1 and L1) by hand', () => {
    const bce = tf.tidy(
      () =>
        sigmoidCrossEntropy(
          tf.tensor1d([3, -2, 0.5]),
          tf.tensor1d([1, 0, 0]),
          tf.tensor1d([1, 1, 0]),
        ).dataSync()[0]!,
    );
    expect(bce).toBeCloseTo(-Math.log(sigmoid(3)) - Math.log(1 - sigmoid(-2)), 5);
    const d = [0.05, -0.3, 0.1, 2];
    const sl1 = tf.tidy(() => smoothL1Loss(tf.tensor1d(d), tf.zeros([4]), 0.1, tf.ones([4])).dataSync()[0]!);
    expect(sl1).toBeCloseTo((0.5 * 0.05 ** 2) / 0.1 + (0.3 - 0.05) + (0.1 - 0.05) + (2 - 0.05), 5);
    const l1 = tf.tidy(
      () => smoothL1Loss(tf.tensor1d(d), tf.zeros([4]), 0, tf.tensor1d([1, 1, 0, 1])).dataSync()[0]!,
    );
    expect(l1).toBeCloseTo(0.05 + 0.3 + 2, 5);
  });

  it('GIoU loss: 0 for identical boxes, 1 − IoU + hull gap otherwise', () => {
    const v = tf.tidy(() =>
      Array.from(
        giouLoss(
          tf.tensor2d([0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10], [3, 4]),
          tf.tensor2d([0, 0, 10, 10, 5, 0, 15, 10, 20, 0, 30, 10], [3, 4]),
          tf.tensor2d([1, 0, 0], [3, 1]),
        ).dataSync(),
      ),
    );
    expect(v[0]).toBeCloseTo(0, 5);
    // half-overlap: IoU 50/150, hull 150 = union → GIoU = 1/3, loss 2/3; disjoint at gap 10: IoU 0, hull 300, union 200 → 1 + 1/3
    const each = [1, 2].map((i) =>
      tf.tidy(
        () =>
          giouLoss(
            tf.tensor2d([0, 0, 10, 10], [1, 4]),
            tf.tensor2d(i === 1 ? [5, 0, 15, 10] : [20, 0, 30, 10], [1, 4]),
            tf.ones([1, 1]),
          ).dataSync()[0]!,
      ),
    );
    expect(each[0]).toBeCloseTo(2 / 3, 5);
    expect(each[1]).toBeCloseTo(4 / 3, 5);
  });

  it('gradients on the tape match finite differences (focal, smooth L1, GIoU through the box decode)', () => {
    const logits = tf.variable(tf.tensor2d([0.4, -1.3, 2.2, 0.1], [2, 2]));
    const deltas = tf.variable(tf.tensor2d([0.1, -0.2, 0.3, 0.05, -0.4, 0.2, -0.1, 0.15], [2, 4]));
    const refs = Float32Array.from([10, 10, 30, 40, 50, 20, 80, 60]);
    // No corner within a finite-difference step of its counterpart (min / max kinks).
    const gtBoxes = Float32Array.from([12, 8, 33, 45, 48, 32, 75, 58]);
    const f = () =>
      tf.tidy(() => {
        const cls = sigmoidFocalLoss(logits, tf.tensor2d([1, 0, 0, 1], [2, 2]), 0.25, 2);
        const box = boxRegressionLoss(
          deltas,
          {
            deltas: tf.tensor2d([0.2, 0, 0.1, 0.1, -0.3, 0.1, 0, 0.1], [2, 4]),
            boxes: tf.tensor2d(gtBoxes, [2, 4]),
            refs: tf.tensor2d(refs, [2, 4]),
            weights: tf.ones([2, 1]),
          },
          'giou',
          0,
          [1, 1, 1, 1],
        );
        const sl1 = smoothL1Loss(deltas, tf.zeros([2, 4]), 0.11, tf.ones([2, 4]));
        return tf.addN([cls, box, sl1]) as tf.Scalar;
      });
    const { value, grads } = tf.variableGrads(f, [logits, deltas]);
    value.dispose();
    for (const v of [logits, deltas]) {
      const g = grads[v.name]!.dataSync();
      const base = v.dataSync().slice();
      for (let i = 0; i < base.length; i++) {
        const eps = 1e-2;
        const at = (s: number) => {
          const p = base.slice();
          p[i] += s;
          tf.tidy(() => v.assign(tf.tensor(p, v.shape)));
          const l = f();
          const r = l.dataSync()[0]!;
          l.dispose();
          return r;
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        expect(
          Math.abs(numeric - g[i]!),
          `${v === logits ? 'logits' : 'deltas'}[${i}]: ${numeric} vs ${g[i]}`,
        ).toBeLessThan(3e-3);
      }
      tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
    }
    tf.dispose([logits, deltas, ...Object.values(grads)]);
  });

  it('the on-tape decode agrees with the JS decode', () => {
    const refs = Float32Array.from([10, 10, 30, 40, 50, 20, 80, 60]);
    const d = [0.1, -0.2, 0.3, 0.05, -0.4, 0.2, -0.1, 9];
    const js = decodeBoxes(refs, d, [10, 10, 5, 5]);
    // GIoU of a box with itself is 1: decoding the same deltas on the tape must land exactly on js
    const loss = tf.tidy(
      () =>
        boxRegressionLoss(
          tf.tensor2d(d, [2, 4]),
          {
            deltas: tf.zeros([2, 4]),
            boxes: tf.tensor2d(js, [2, 4]),
            refs: tf.tensor2d(refs, [2, 4]),
            weights: tf.ones([2, 1]),
          },
          'giou',
          0,
          [10, 10, 5, 5],
        ).dataSync()[0]!,
    );
    expect(loss).toBeCloseTo(0, 4);
  });
});
