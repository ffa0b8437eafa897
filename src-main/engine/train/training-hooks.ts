/**
 * What a training loop (pretraining, detector fine-tuning) tells its caller and what it asks of it:
 * the caller (the engine worker, a test, a benchmark) passes these hooks to stream metrics, progress
 * and checkpoints to its supervisor and to say when to stop. Types only: no TF.js, no Node.
 */
import type { RunProgressInfo } from '../../../shared/api/types';

export interface MetricSample {
  key: string;
  step: number;
  value: number;
  wallTime: number;
}

/** Where a run stands after a step, with an ETA; the supervisor stamps it (`at`) for the studio. */
export type ProgressInfo = Omit<RunProgressInfo, 'at'>;

export interface CheckpointInfo {
  step: number;
  epoch: number;
  dir: string;
  bytes: number;
}

export type StopRequest = 'continue' | 'pause' | 'cancel';

export interface TrainingHooks {
  onMetrics?(points: MetricSample[]): void;
  onProgress?(progress: ProgressInfo): void;
  onCheckpoint?(info: CheckpointInfo): void;
  onLog?(message: string): void;
  /** Polled before every optimizer step. `pause` writes a checkpoint first, `cancel` does not. */
  shouldStop?(): StopRequest;
}

/** How a training loop ended (a non-finite loss or any other failure throws instead). */
export interface TrainingResult {
  status: 'completed' | 'paused' | 'cancelled';
  step: number;
  totalSteps: number;
  /** The loss of the last step this process trained (NaN if it trained none). */
  lastLoss: number;
}
