/**
 * The plain-JS geometry of the detectors: anchors, box coding, IoU matching, sampling, NMS, the
 * resize / flip of boxes and the step-decay schedule — each against numbers worked out by hand
 * from detectron2's definitions.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src-main/engine/data/rng';
import { cellAnchors, gridAnchors, multiLevelAnchors } from '../../../src-main/engine/detection/anchors';
import { decodeBoxes, encodeBoxes, SCALE_CLAMP } from '../../../src-main/engine/detection/box-coder';
import { pairwiseIou } from '../../../src-main/engine/detection/boxes';
import { resizedShape, transformBoxes } from '../../../src-main/engine/detection/inputs';
import { matchBoxes } from '../../../src-main/engine/detection/matcher';
import { batchedNms, nms, topk } from '../../../src-main/engine/detection/nms';
import { subsample } from '../../../src-main/engine/detection/sampling';
import { scaledSchedule, stepDecayLr } from '../../../src-main/engine/detection/schedule';

const close = (a: ArrayLike<number>, b: number[], digits = 4) => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, digits));
};

describe('anchors', () => {
  it('cell anchors: size-major, ratio = h/w, area = size²', () => {
    const a = cellAnchors([32, 64], [0.5, 1, 2]);
    expect(a.length).toBe(6 * 4);
    // size 32, ratio 0.5: w = √(1024/0.5) = 45.2548, h = 22.6274
    close(a.subarray(0, 4), [-22.6274, -11.3137, 22.6274, 11.3137]);
    close(a.subarray(4, 8), [-16, -16, 16, 16]);
    close(a.subarray(8, 12), [-11.3137, -22.6274, 11.3137, 22.6274]);
    close(a.subarray(16, 20), [-32, -32, 32, 32]);
  });

  it('grid anchors are centred at (x·stride, y·stride), cell-major then anchor', () => {
    const g = gridAnchors({ stride: 8, sizes: [16], ratios: [1, 2] }, 2, 3);
    expect(g.length / 4).toBe(2 * 3 * 2);
    // cell (y=1, x=2) is index (1·3 + 2) = 5; its second anchor (ratio 2) is row 11
    const w = Math.sqrt(256 / 2);
    close(g.subarray(11 * 4, 12 * 4), [16 - w / 2, 8 - w, 16 + w / 2, 8 + w]);
    const m = multiLevelAnchors(
      [
        { stride: 8, sizes: [32], ratios: [1] },
        { stride: 16, sizes: [64], ratios: [1] },
      ],
      [
        [4, 4],
        [2, 2],
      ],
    );
    expect(m.counts).toEqual([16, 4]);
    expect(m.starts).toEqual([0, 16]);
    close(m.boxes.subarray(17 * 4, 18 * 4), [16 - 32, -32, 16 + 32, 32]);
  });
});

describe('box coder (Box2BoxTransform)', () => {
  it('encodes by hand-computed deltas and decodes back', () => {
    const refs = Float32Array.from([0, 0, 10, 20]);
    const target = Float32Array.from([2, 4, 22, 24]);
    // ref centre (5, 10), size 10×20; target centre (12, 14), size 20×20
    const d = encodeBoxes(refs, target, [10, 10, 5, 5]);
    close(d, [10 * 0.7, 10 * 0.2, 5 * Math.log(2), 5 * Math.log(1)]);
    close(decodeBoxes(refs, d, [10, 10, 5, 5]), [2, 4, 22, 24]);
  });

  it('clamps dw, dh at log(1000/16) when decoding', () => {
    const b = decodeBoxes(Float32Array.from([0, 0, 1, 1]), [0, 0, 100, 0], [1, 1, 1, 1]);
    expect(b[2]! - b[0]!).toBeCloseTo(Math.exp(SCALE_CLAMP), 2);
    expect(Math.exp(SCALE_CLAMP)).toBeCloseTo(62.5, 6);
  });
});

describe('matcher', () => {
  const gt = Float32Array.from([0, 0, 10, 10, 20, 20, 30, 40]);
  const preds = Float32Array.from([
    0,
    0,
    10,
    10, // IoU 1 with gt0
    0,
    0,
    10,
    5, // 50 / 100 = 0.5 with gt0
    0,
    0,
    10,
    4.5, // 45 / 100 = 0.45 with gt0
    0,
    0,
    10,
    3, // 0.3 with gt0
    100,
    100,
    110,
    110, // nothing
    20,
    20,
    30,
    25, // 50 / 200 = 0.25 with gt1 (gt1's best)
  ]);

  it('pairwise IoU', () => {
    const iou = pairwiseIou(gt, preds);
    close(iou.subarray(0, 6), [1, 0.5, 0.45, 0.3, 0, 0]);
    close(iou.subarray(6, 12), [0, 0, 0, 0, 0, 0.25]);
  });

  it('labels by [0.4, 0.5) intervals, and low-quality matches rescue each object', () => {
    const strict = matchBoxes(gt, preds, {
      thresholds: [0.4, 0.5],
      labels: [0, -1, 1],
      allowLowQualityMatches: false,
    });
    expect(Array.from(strict.labels)).toEqual([1, 1, -1, 0, 0, 0]);
    expect(Array.from(strict.matched)).toEqual([0, 0, 0, 0, 0, 1]);
    const lq = matchBoxes(gt, preds, {
      thresholds: [0.4, 0.5],
      labels: [0, -1, 1],
      allowLowQualityMatches: true,
    });
    expect(Array.from(lq.labels)).toEqual([1, 1, -1, 0, 0, 1]);
    const none = matchBoxes(new Float32Array(0), preds, {
      thresholds: [0.5],
      labels: [0, 1],
      allowLowQualityMatches: true,
    });
    expect(Array.from(none.labels)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('sampling, NMS, top-k', () => {
  it('subsample keeps ≤ num·fraction positives and fills with negatives', () => {
    const labels = Array.from({ length: 100 }, (_, i) => (i < 10 ? 1 : i < 90 ? 0 : -1));
    const s = subsample(
      100,
      (i) => labels[i] === 1,
      (i) => labels[i] === 0,
      16,
      0.25,
      new Rng(3),
    );
    expect(s.positives.length).toBe(4);
    expect(s.negatives.length).toBe(12);
    expect(s.positives.every((i) => i < 10)).toBe(true);
    expect(s.negatives.every((i) => i >= 10 && i < 90)).toBe(true);
    expect(new Set([...s.positives, ...s.negatives]).size).toBe(16);
    const few = subsample(
      100,
      (i) => labels[i] === 1,
      (i) => labels[i] === 0,
      64,
      0.5,
      new Rng(3),
    );
    expect([few.positives.length, few.negatives.length]).toEqual([10, 54]);
  });

  it('nms drops boxes overlapping a better one by more than the threshold', () => {
    const boxes = Float32Array.from([0, 0, 10, 10, 1, 0, 11, 10, 0, 0, 10, 5, 50, 50, 60, 60]);
    // IoU(0,1) = 90/110 = 0.818, IoU(0,2) = 0.5, IoU(1,2) = 45/105
    expect(nms(boxes, [0.9, 0.8, 0.7, 0.1], 0.5)).toEqual([0, 2, 3]);
    expect(nms(boxes, [0.9, 0.8, 0.7, 0.1], 0.49)).toEqual([0, 3]);
    expect(nms(boxes, [0.5, 0.8, 0.7, 0.1], 0.85)).toEqual([1, 2, 0, 3]);
    // class-wise: box 1 survives in its own class
    expect(batchedNms(boxes, [0.9, 0.8, 0.7, 0.1], [0, 1, 0, 0], 0.5)).toEqual([0, 1, 2, 3]);
    expect(topk([0.1, 0.5, 0.3, 0.5], 3)).toEqual([1, 3, 2]);
  });
});

describe('resize, flip, schedule', () => {
  it('ResizeShortestEdge: short side to size, long side capped', () => {
    expect(resizedShape(480, 640, 800, 1333)).toEqual([800, 1067]);
    expect(resizedShape(400, 1200, 800, 1333)).toEqual([444, 1333]);
    expect(resizedShape(128, 128, 96, 160)).toEqual([96, 96]);
  });

  it('boxes follow a resize and a horizontal flip', () => {
    const b = transformBoxes(Float32Array.from([10, 20, 30, 60]), [100, 200], [50, 100], true);
    close(b, [100 - 15, 10, 100 - 5, 30]);
  });

  it('warm-up then ×0.1 at 2/3 and 8/9 of the run (detectron2 1× shape)', () => {
    const s = scaledSchedule(900, {
      lr: 0.02,
      warmupFraction: 1 / 90,
      warmupFactor: 0.001,
      decayAt: [2 / 3, 8 / 9],
      gamma: 0.1,
    });
    expect(s.warmupSteps).toBe(10);
    expect(s.milestones).toEqual([600, 800]);
    expect(stepDecayLr(0, s)).toBeCloseTo(0.02 * 0.001, 10);
    expect(stepDecayLr(5, s)).toBeCloseTo(0.02 * (0.001 * 0.5 + 0.5), 10);
    expect(stepDecayLr(10, s)).toBeCloseTo(0.02, 10);
    expect(stepDecayLr(599, s)).toBeCloseTo(0.02, 10);
    expect(stepDecayLr(600, s)).toBeCloseTo(0.002, 10);
    expect(stepDecayLr(850, s)).toBeCloseTo(0.0002, 10);
  });
});
