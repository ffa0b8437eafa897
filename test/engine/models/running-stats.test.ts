import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { addBatchNorm, createParameterSet } from '../../../src-main/engine/models/parameter-set';
import { createBackbone } from '../../../src-main/engine/models/registry';
import { createBatchStatsCollector, updateRunningStats } from '../../../src-main/engine/models/running-stats';
import type { BatchMoments } from '../../../src-main/engine/models/types';

beforeAll(async () => {
  await initBackend('wasm');
});

const values = (v: tf.Tensor | undefined) => Array.from(v?.dataSync() ?? []);

describe('updateRunningStats (torchvision BN update)', () => {
  it('running = (1−m)·running + m·batch, with the unbiased variance n/(n−1)', () => {
    const set = createParameterSet();
    addBatchNorm(set, 'bn', 2);
    tf.tidy(() => set.buffers.get('bn.running_mean')?.assign(tf.tensor1d([1, 2])));
    const moments: BatchMoments = { mean: tf.tensor1d([3, 5]), variance: tf.tensor1d([2, 4]), count: 5 };
    updateRunningStats(set, new Map([['bn', moments]]));
    // mean: 0.9·[1, 2] + 0.1·[3, 5]; var: 0.9·1 + 0.1·[2, 4]·5/4
    values(set.buffers.get('bn.running_mean')).forEach((v, i) => expect(v).toBeCloseTo([1.2, 2.3][i], 6));
    values(set.buffers.get('bn.running_var')).forEach((v, i) => expect(v).toBeCloseTo([1.15, 1.4][i], 6));
    expect(set.numBatchesTracked.get('bn')).toBe(1);

    // a second update, other momentum: compounding from the new values
    updateRunningStats(set, [{ bnName: 'bn', ...moments, count: 3 }], 0.5);
    values(set.buffers.get('bn.running_mean')).forEach((v, i) => expect(v).toBeCloseTo([2.1, 3.65][i], 6));
    // 0.5·1.15 + 0.5·2·1.5 = 2.075; 0.5·1.4 + 0.5·4·1.5 = 3.7
    values(set.buffers.get('bn.running_var')).forEach((v, i) => expect(v).toBeCloseTo([2.075, 3.7][i], 6));
    expect(set.numBatchesTracked.get('bn')).toBe(2);
    tf.dispose([moments.mean, moments.variance]);
  });

  it('rejects unknown BN names and counts below 2 without touching anything', () => {
    const set = createParameterSet();
    addBatchNorm(set, 'bn', 1);
    const m = { mean: tf.tensor1d([9]), variance: tf.tensor1d([9]) };
    expect(() =>
      updateRunningStats(set, [
        { bnName: 'bn', ...m, count: 4 },
        { bnName: 'bn9', ...m, count: 4 },
      ]),
    ).toThrow(/no BN layer "bn9"/);
    expect(() => updateRunningStats(set, [{ bnName: 'bn', ...m, count: 1 }])).toThrow(/"bn" has count 1/);
    expect(values(set.buffers.get('bn.running_mean'))).toEqual([0]);
    expect(set.numBatchesTracked.get('bn')).toBe(0);
    tf.dispose([m.mean, m.variance]);
  });

  it('applies a backbone step with two views in report order (BN used twice → two updates, as torch)', () => {
    const b = createBackbone('resnet18', { baseWidth: 4, seed: 2 });
    const before = tf.memory().numTensors;
    const v1 = tf.randomNormal([2, 32, 32, 3], 0.5, 1, 'float32', 1) as tf.Tensor4D;
    const v2 = tf.randomNormal([2, 32, 32, 3], -0.5, 2, 'float32', 2) as tf.Tensor4D;
    const collector = createBatchStatsCollector();
    tf.tidy(() => {
      b.forward(v1, { training: true, onBatchStats: collector.sink });
      b.forward(v2, { training: true, onBatchStats: collector.sink });
    });
    const bn1 = collector.records.filter((r) => r.bnName === 'bn1');
    expect(bn1.length).toBe(2);
    const n = bn1[0].count;
    expect(n).toBe(2 * 16 * 16);
    const [m1, m2] = bn1.map((r) => values(r.mean));
    const [s1, s2] = bn1.map((r) => values(r.variance));
    updateRunningStats(b, collector.records);
    const rm = values(b.buffers.get('bn1.running_mean'));
    const rv = values(b.buffers.get('bn1.running_var'));
    for (let c = 0; c < 4; c++) {
      expect(rm[c]).toBeCloseTo(0.9 * (0.1 * m1[c]) + 0.1 * m2[c], 5);
      const u = n / (n - 1);
      expect(rv[c]).toBeCloseTo(0.9 * (0.9 + 0.1 * s1[c] * u) + 0.1 * s2[c] * u, 5);
    }
    expect(rm.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    const tracked = (b as unknown as { numBatchesTracked: Map<string, number> }).numBatchesTracked;
    expect(tracked.get('bn1')).toBe(2);
    expect(tracked.get('layer4.1.bn2')).toBe(2);
    collector.clear();
    tf.dispose([v1, v2]);
    expect(tf.memory().numTensors).toBe(before);
    b.dispose();
  });
});
