/** Shared by the export tests: give a fresh backbone realistic, non-trivial BN state. */
import * as tf from '@tensorflow/tfjs';
import { createBatchStatsCollector, updateRunningStats } from '../../../src-main/engine/models/running-stats';
import type { Backbone } from '../../../src-main/engine/models/types';

/**
 * Running stats := one batch's statistics (momentum 1), so inference activations stay O(1)
 * through the depth, then γ and β are moved off 1 / 0 (seeded) so a swapped or mis-transposed BN
 * parameter would show in the outputs.
 */
export function calibrateBatchNorm(backbone: Backbone, seed: number, batch = 4): void {
  const x = tf.randomNormal([batch, 64, 64, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
  const collector = createBatchStatsCollector();
  tf.dispose(backbone.forward(x, { training: true, onBatchStats: collector.sink }));
  updateRunningStats(backbone, collector.records, 1);
  collector.clear();
  x.dispose();
  let k = 0;
  for (const [name, v] of backbone.params) {
    if (v.rank !== 1) continue;
    k++;
    tf.tidy(() => {
      const r = tf.randomUniform(v.shape, -0.25, 0.25, 'float32', seed * 1000 + k);
      v.assign(name.endsWith('.weight') ? tf.add(r, 1) : r);
    });
  }
}

export function maxAbs(t: tf.Tensor): number {
  const m = tf.tidy(() => tf.max(tf.abs(t)));
  const v = m.dataSync()[0];
  m.dispose();
  return v;
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const m = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = m.dataSync()[0];
  m.dispose();
  return v;
}
