/**
 * BN running statistics, updated after the gradient step from the moments a training-mode
 * forward reported (outside the tape, as torch does inside its BN kernel):
 *   running_mean ← (1 − m) · running_mean + m · batch_mean
 *   running_var  ← (1 − m) · running_var  + m · batch_var · n / (n − 1)
 *   num_batches_tracked += 1
 */
import * as tf from '@tensorflow/tfjs';
import type { BatchMoments, BatchStatsSink, ParameterSet } from './types';

export interface BatchStatsRecord extends BatchMoments {
  bnName: string;
}

export interface BatchStatsCollector {
  /** Pass as ForwardOptions.onBatchStats. */
  readonly sink: BatchStatsSink;
  /** In report order; a BN used twice in a step (two views) appears twice, and is updated twice as in torch. */
  readonly records: BatchStatsRecord[];
  /** Dispose the kept moments and forget them. */
  clear(): void;
}

export function createBatchStatsCollector(): BatchStatsCollector {
  const records: BatchStatsRecord[] = [];
  return {
    records,
    sink(bnName, mean, variance, count) {
      // Called inside the forward's tidy: keep the moments so they outlive it.
      records.push({ bnName, mean: tf.keep(mean), variance: tf.keep(variance), count });
    },
    clear() {
      for (const r of records) {
        r.mean.dispose();
        r.variance.dispose();
      }
      records.length = 0;
    },
  };
}

/**
 * Apply torchvision's running-stat update for every reported BN. Accepts the collector's records
 * (applied in order) or a Map keyed by BN name. Does not dispose the moments.
 */
export function updateRunningStats(
  model: ParameterSet,
  stats: readonly BatchStatsRecord[] | ReadonlyMap<string, BatchMoments>,
  momentum = 0.1,
): void {
  if (!(momentum >= 0 && momentum <= 1))
    throw new Error(`updateRunningStats: momentum must be in [0, 1] (got ${momentum})`);
  const entries: [string, BatchMoments][] = Array.isArray(stats)
    ? (stats as readonly BatchStatsRecord[]).map((r) => [r.bnName, r])
    : [...(stats as ReadonlyMap<string, BatchMoments>).entries()];
  // Validate everything first so a bad name cannot leave the model half-updated.
  for (const [bn, m] of entries) {
    const rm = model.buffers.get(`${bn}.running_mean`);
    const rv = model.buffers.get(`${bn}.running_var`);
    if (!rm || !rv) throw new Error(`updateRunningStats: the model has no BN layer "${bn}"`);
    if (m.count < 2)
      throw new Error(`updateRunningStats: "${bn}" has count ${m.count}; need at least 2 values per channel`);
    if (m.mean.size !== rm.size || m.variance.size !== rv.size) {
      throw new Error(
        `updateRunningStats: "${bn}" moments have ${m.mean.size} channels, running stats ${rm.size}`,
      );
    }
  }
  for (const [bn, m] of entries) {
    const rm = model.buffers.get(`${bn}.running_mean`) as tf.Variable;
    const rv = model.buffers.get(`${bn}.running_var`) as tf.Variable;
    const unbias = m.count / (m.count - 1);
    tf.tidy(() => {
      rm.assign(tf.add(tf.mul(rm, 1 - momentum), tf.mul(m.mean, momentum)));
      rv.assign(tf.add(tf.mul(rv, 1 - momentum), tf.mul(m.variance, momentum * unbias)));
    });
    const tracked = model.numBatchesTracked;
    if (tracked) tracked.set(bn, (tracked.get(bn) ?? 0) + 1);
  }
}
