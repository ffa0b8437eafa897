/**
 * A trained model as named parts (an encoder's backbone/projector/predictor…, a detector's
 * backbone/fpn/heads), each a ParameterSet. The optimizer, checkpoints and running statistics key
 * everything `part/name`; these are the conversions between the two views, shared by every task.
 */
import type * as tf from '@tensorflow/tfjs';
import { updateRunningStats, type BatchStatsRecord } from '../models/running-stats';
import type { ParameterSet } from '../models/types';

export type ModelParts = ReadonlyMap<string, ParameterSet>;

function splitKey(key: string): { part: string; name: string } {
  const slash = key.indexOf('/');
  return { part: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Variables of all parts, keyed `part/name`. */
export function partVariables(parts: ModelParts, which: 'params' | 'buffers'): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [part, set] of parts) for (const [name, v] of set[which]) out.set(`${part}/${name}`, v);
  return out;
}

/** Every BN's `num_batches_tracked`, keyed `part/bn` (a counter: JSON, not a tensor). */
export function batchCounts(parts: ModelParts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [part, set] of parts)
    for (const [bn, n] of set.numBatchesTracked ?? []) out[`${part}/${bn}`] = n;
  return out;
}

/** Puts back counters saved by batchCounts; `source` (a checkpoint folder) names the culprit of an unknown part. */
export function restoreBatchCounts(parts: ModelParts, counts: Record<string, number>, source: string): void {
  for (const [key, n] of Object.entries(counts)) {
    const { part, name } = splitKey(key);
    const set = parts.get(part);
    if (!set) throw new Error(`${source}: BN counter "${key}" names a part this model does not have`);
    set.numBatchesTracked?.set(name, n);
  }
}

/**
 * BN moments of a training step arrive keyed `part/bn`; each part updates its own running
 * statistics, in the order they were reported (a BN used twice in a step is updated twice).
 */
export function applyRunningStats(parts: ModelParts, records: readonly BatchStatsRecord[]): void {
  const byPart = new Map<ParameterSet, BatchStatsRecord[]>();
  for (const r of records) {
    const { part, name } = splitKey(r.bnName);
    const set = parts.get(part);
    if (!set) throw new Error(`BN statistics for unknown part "${r.bnName}"`);
    if (!byPart.has(set)) byPart.set(set, []);
    byPart.get(set)!.push({ ...r, bnName: name });
  }
  for (const [set, rs] of byPart) updateRunningStats(set, rs);
}
