/**
 * The detection probe: its classifiers reach 100 % where the classes are separable by construction
 * and chance where the features say nothing; on the demo scenes even a random-init backbone's box
 * features beat the majority class; the same seed gives the same numbers; no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { createRng } from '../../../src-main/engine/data/rng';
import { demoSplit } from '../../../src-main/engine/data/demo-scenes';
import { iouAt } from '../../../src-main/engine/detection/boxes';
import { detectionDatasetFromCoco } from '../../../src-main/engine/detection/inputs';
import { createBackbone } from '../../../src-main/engine/models/registry';
import { jitterBoxes } from '../../../src-main/engine/probe/box-jitter';
import { DEFAULT_PROBE_OPTIONS, runProbe, scoreFeatures } from '../../../src-main/engine/probe/probe';
import type { RoiFeatures } from '../../../src-main/engine/probe/roi-features';

beforeAll(async () => {
  await initBackend('wasm');
});

/** `perClass` rows of each of `classes` classes, from `row(class, rng)`. */
function features(
  classes: number,
  perClass: number,
  dim: number,
  seed: number,
  row: (c: number, rng: ReturnType<typeof createRng>) => number[],
): RoiFeatures {
  const rng = createRng(seed);
  const count = classes * perClass;
  const out = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % classes;
    out.set(row(labels[i]!, rng), i * dim);
  }
  return { features: out, dim, count, labels, isGroundTruth: new Uint8Array(count).fill(1) };
}

describe('detection probe', () => {
  it('reaches 100 % on features that separate the classes by construction', async () => {
    // Class c: a unit bump on coordinate c, under Gaussian noise of σ 0.05 on all 16 coordinates.
    const row = (c: number, rng: ReturnType<typeof createRng>) =>
      Array.from({ length: 16 }, (_, j) => (j === c ? 1 : 0) + 0.05 * rng.normal());
    const before = tf.memory().numTensors;
    const s = await scoreFeatures(features(5, 30, 16, 1, row), features(5, 20, 16, 2, row), 5);
    expect(s.linearTop1).toBe(1);
    expect(s.knnTop1).toBe(1);
    expect(s.majorityTop1).toBeCloseTo(0.2, 6);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is at chance on constant features', async () => {
    const row = () => Array.from({ length: 8 }, (_, j) => j / 8);
    const s = await scoreFeatures(features(4, 10, 8, 1, row), features(4, 10, 8, 2, row), 4);
    // Balanced val: whatever single class it answers, top-1 is 1/4.
    expect(s.linearTop1).toBeCloseTo(0.25, 6);
    expect(s.knnTop1).toBeCloseTo(0.25, 6);
  });

  it('jitters boxes at IoU ≥ 0.5 inside the image', () => {
    const boxes = Float32Array.of(10, 10, 40, 30, 0, 0, 8, 8);
    const jit = jitterBoxes(boxes, 6, 0.5, 48, 40, createRng(3));
    expect(jit.length).toBe(2 * 6 * 4);
    let moved = 0;
    for (let i = 0; i < 12; i++) {
      const src = Math.floor(i / 6);
      expect(iouAt(jit, i, boxes, src)).toBeGreaterThanOrEqual(0.5);
      expect(jit[i * 4]).toBeGreaterThanOrEqual(0);
      expect(jit[i * 4 + 2]).toBeLessThanOrEqual(48);
      if (iouAt(jit, i, boxes, src) < 0.999) moved++;
    }
    expect(moved).toBeGreaterThan(8);
  });

  it('a random-init backbone is above chance on the demo scenes (ResNet-18, 96 px, 50 + 50 images)', async () => {
    const { train, val } = demoData(50, 96);
    const backbone = createBackbone('resnet18', { baseWidth: 32, seed: 0 });
    try {
      const before = tf.memory().numTensors;
      const r = await runProbe(backbone, train, val, { ...DEFAULT_PROBE_OPTIONS, size: 96 });
      expect(tf.memory().numTensors).toBe(before);
      expect(r.classes).toBe(6);
      expect(r.trainSamples).toBe(r.trainBoxes * (1 + DEFAULT_PROBE_OPTIONS.jitter));
      expect(r.featureDim).toBe(backbone.featureInfo.res4.channels + backbone.featureInfo.res5.channels);
      // Chance: 1/6 for a guess, the majority class's share for a constant answer.
      expect(r.linearTop1).toBeGreaterThan(1 / 6 + 0.05);
      expect(r.linearTop1).toBeGreaterThan(r.majorityTop1 + 0.05);
      expect(r.knnTop1).toBeGreaterThan(r.majorityTop1);
    } finally {
      backbone.dispose();
    }
  });

  it('gives the same numbers for the same seed', async () => {
    const { train, val } = demoData(6, 64);
    const backbone = createBackbone('resnet18', { baseWidth: 4, seed: 1 });
    try {
      const options = { ...DEFAULT_PROBE_OPTIONS, size: 64, seed: 5 };
      const a = await runProbe(backbone, train, val, options);
      const b = await runProbe(backbone, train, val, options);
      expect([b.linearTop1, b.knnTop1]).toEqual([a.linearTop1, a.knnTop1]);
    } finally {
      backbone.dispose();
    }
  });
});

function demoData(count: number, size: number) {
  const split = demoSplit({ train: count, val: count, size, seed: 0 });
  return {
    train: detectionDatasetFromCoco(split.train.images, split.train.coco),
    val: detectionDatasetFromCoco(split.val.images, split.val.coco),
  };
}
