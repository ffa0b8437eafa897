/**
 * How a supervisor records a training loop's reports: metrics through the one writer, checkpoints in
 * the order that keeps the store's history complete up to its last checkpoint (every metric reported
 * before a checkpoint is committed before the checkpoint is recorded; a resume starts from it). Used by
 * the RunManager (reports from a worker process, for the studio and the CLI alike).
 */
import type { CheckpointRecord } from '../../shared/dto';
import type { MetricSample } from '../engine/train/training-hooks';
import type { ExperimentStore, MetricsWriter } from '../store';

export function recordMetrics(writer: MetricsWriter, runId: string, points: readonly MetricSample[]): void {
  writer.push(points.map((p) => ({ runId, key: p.key, step: p.step, value: p.value, wallTime: p.wallTime })));
}

export function recordCheckpoint(
  store: ExperimentStore,
  writer: MetricsWriter,
  runId: string,
  c: { step: number; epoch: number; dir: string; bytes: number },
): CheckpointRecord {
  writer.flush();
  const checkpoint = store.addCheckpoint({
    runId,
    step: c.step,
    epoch: c.epoch,
    path: c.dir,
    bytes: c.bytes,
  });
  store.updateRunProgress(runId, { step: c.step });
  return checkpoint;
}
