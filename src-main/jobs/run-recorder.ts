/**
 * How a supervisor records a training loop's reports: metrics through the one writer, checkpoints in
 * the order that keeps the store's history complete up to its last checkpoint (every metric reported
 * before a checkpoint is committed before the checkpoint is recorded; a resume starts from it). Used by
 * the RunManager (reports from a worker process, for the studio and the CLI alike).
 */
import type { BackendInfo as RunBackend, CheckpointRecord } from '../../shared/dto';
import { gpuLine } from '../../shared/dto/gpu-adapter';
import type { BackendInfo } from '../engine/backend/select';
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

/**
 * What a run's record keeps of the backend its process set up: the backend and version, what was
 * asked for (the backend, and of webgpu the adapter: --gpu / --gpu-power) and, on webgpu, the adapter
 * it got (as a line, and field by field for comparisons), with why earlier candidates were passed over.
 */
export function backendRecord(info: BackendInfo): RunBackend {
  return {
    name: info.choice,
    version: info.version,
    threads: info.threads,
    requested: info.requested,
    ...(info.gpuRequest ? { gpuRequest: info.gpuRequest } : {}),
    ...(info.gpu ? { device: gpuLine(info.gpu), adapter: info.gpu } : {}),
    ...(info.notes.length ? { notes: info.notes } : {}),
  };
}
