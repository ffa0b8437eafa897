/**
 * RoIAlign (ROIAlignV2 semantics) against TF.js's own cropAndResize — an independent bilinear
 * sampler — and its supplied gradient against finite differences (no TF.js backend has a
 * gradient for cropAndResize, which is why this op exists).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { assignLevels, planRoiAlign, roiAlign } from '../../../src-main/engine/detection/roi-align';

beforeAll(async () => {
  await initBackend('wasm');
});

/**
 * cropAndResize boxes that put its samples where RoIAlign (aligned, `s` samples per bin side)
 * puts its sub-samples: a regular grid of P·s points, spacing bin / s, from x1/stride − ½ + bin / 2s.
 */
function cropBox(box: number[], stride: number, H: number, W: number, P: number, s: number): number[] {
  const ax = (v: number, size: number, len: number) => {
    const bin = len / stride / P;
    const start = v / stride - 0.5 + bin / (2 * s);
    return [start / (size - 1), (start + ((P * s - 1) * bin) / s) / (size - 1)];
  };
  const [y1, y2] = ax(box[1]!, H, box[3]! - box[1]!);
  const [x1, x2] = ax(box[0]!, W, box[2]! - box[0]!);
  return [y1!, x1!, y2!, x2!];
}

describe('roiAlign', () => {
  it('equals cropAndResize at 1 and 2×2 samples per bin (interior boxes, two images, two levels)', () => {
    const f0 = tf.randomNormal([2, 12, 10, 5], 0, 1, 'float32', 7) as tf.Tensor4D;
    const f1 = tf.randomNormal([2, 6, 5, 5], 0, 1, 'float32', 8) as tf.Tensor4D;
    const boxes = [
      [8, 6, 30, 40],
      [20, 10, 36, 30],
      [5, 5, 35, 45],
    ];
    const batch = [0, 1, 1];
    const level = [0, 0, 1];
    const strides = [4, 8];
    const P = 3;
    for (const s of [1, 2]) {
      const plan = planRoiAlign(
        Float32Array.from(boxes.flat()),
        batch,
        level,
        [
          { batch: 2, height: 12, width: 10, stride: 4 },
          { batch: 2, height: 6, width: 5, stride: 8 },
        ],
        P,
        s,
      );
      const got = tf.tidy(() => roiAlign([f0, f1], plan).arraySync());
      boxes.forEach((b, r) => {
        const f = level[r] === 0 ? f0 : f1;
        const [, H, W] = f.shape;
        const want = tf.tidy(() => {
          const crops = tf.image.cropAndResize(
            f,
            tf.tensor2d([cropBox(b, strides[level[r]!]!, H, W, P, s)]),
            tf.tensor1d([batch[r]!], 'int32'),
            [P * s, P * s],
          );
          return tf.avgPool(crops, s, s, 'valid').arraySync()[0]!;
        });
        for (let i = 0; i < P; i++)
          for (let j = 0; j < P; j++)
            for (let c = 0; c < 5; c++)
              expect(got[r]![i]![j]![c]!, `s=${s} roi ${r} bin (${i},${j}) ch ${c}`).toBeCloseTo(
                want[i]![j]![c]!,
                4,
              );
      });
    }
    tf.dispose([f0, f1]);
  });

  it('adaptive sampling uses ceil(bin size) samples: a 2-cell-wide bin averages 2×2 points', () => {
    const f = tf.tidy(() => tf.reshape(tf.range(0, 64, 1, 'float32'), [1, 8, 8, 1])) as tf.Tensor4D;
    // 16 px box on stride 2 = 8 cells → P 4 bins of 2 cells, adaptive grid 2
    const adaptive = planRoiAlign(
      Float32Array.from([0, 0, 16, 16]),
      [0],
      [0],
      [{ batch: 1, height: 8, width: 8, stride: 2 }],
      4,
      0,
    );
    const fixed = planRoiAlign(
      Float32Array.from([0, 0, 16, 16]),
      [0],
      [0],
      [{ batch: 1, height: 8, width: 8, stride: 2 }],
      4,
      2,
    );
    const a = tf.tidy(() => Array.from(roiAlign([f], adaptive).dataSync()));
    const b = tf.tidy(() => Array.from(roiAlign([f], fixed).dataSync()));
    expect(a).toEqual(b);
    // the field is linear (8y + x), so a bin's value is the field at the mean sample position;
    // bin (1, 2): y = −0.5 + 2·1 + {0.5, 1.5} = {2, 3} → 2.5; x = −0.5 + 2·2 + {0.5, 1.5} = {4, 5} → 4.5
    expect(a[1 * 4 + 2]).toBeCloseTo(8 * 2.5 + 4.5, 5);
    // bin (0, 0): y = x = {0, 1} (−0.5 + 0.5 = 0) → 8·0.5 + 0.5
    expect(a[0]).toBeCloseTo(4.5, 5);
    f.dispose();
  });

  it('its gradient matches finite differences, boxes crossing the border included', () => {
    const f0 = tf.variable(tf.randomNormal([2, 7, 6, 3], 0, 1, 'float32', 11));
    const f1 = tf.variable(tf.randomNormal([2, 4, 3, 3], 0, 1, 'float32', 12));
    const boxes = Float32Array.from([
      -6, -3, 14, 12, 3, 9, 25, 30, 10, 2, 11, 4, 0, 0, 24, 32, 13, 7, 40, 45,
    ]);
    const plan = planRoiAlign(
      boxes,
      [0, 1, 1, 0, 1],
      [0, 0, 0, 1, 1],
      [
        { batch: 2, height: 7, width: 6, stride: 4 },
        { batch: 2, height: 4, width: 3, stride: 8 },
      ],
      2,
      0,
    );
    const R = tf.randomNormal([5, 2, 2, 3], 0, 1, 'float32', 13);
    const loss = () =>
      tf.tidy(
        () =>
          tf.sum(
            tf.mul(roiAlign([f0 as unknown as tf.Tensor4D, f1 as unknown as tf.Tensor4D], plan), R),
          ) as tf.Scalar,
      );
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(loss, [f0, f1]);
    value.dispose();
    let checked = 0;
    let nonzero = 0;
    for (const v of [f0, f1]) {
      const g = grads[v.name]!.dataSync();
      const base = v.dataSync().slice();
      for (let i = 0; i < base.length; i++) {
        const eps = 0.05; // the op is linear in the features: any step is exact up to rounding
        const at = (s: number) => {
          const p = base.slice();
          p[i] += s;
          tf.tidy(() => v.assign(tf.tensor(p, v.shape)));
          const l = loss();
          const r = l.dataSync()[0]!;
          l.dispose();
          return r;
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(numeric - g[i]!), `element ${i}: ${numeric} vs ${g[i]}`).toBeLessThan(2e-3);
        if (Math.abs(g[i]!) > 1e-6) nonzero++;
        checked++;
      }
      tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
    }
    expect(checked).toBe(2 * 7 * 6 * 3 + 2 * 4 * 3 * 3);
    expect(nonzero).toBeGreaterThan(60);
    tf.dispose(Object.values(grads));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([f0, f1, R]);
  });

  it('assigns boxes to levels by √area relative to the canonical 224 px at P4', () => {
    const boxes = Float32Array.from([
      0, 0, 224, 224, 0, 0, 112, 112, 0, 0, 111, 111, 0, 0, 448, 448, 0, 0, 10, 10, 0, 0, 2000, 2000,
    ]);
    expect(Array.from(assignLevels(boxes, 2, 5, 224, 4))).toEqual([2, 1, 0, 3, 0, 3]);
  });
});
