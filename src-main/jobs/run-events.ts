/** What a RunManager tells its listeners (the UI streams these; the CLI draws its progress bar). */
import type { CheckpointRecord, MetricPoint, RunRecord } from '../../shared/dto';
import type { ProgressInfo } from '../engine/train/training-hooks';

export type RunEvent =
  | { type: 'status'; run: RunRecord }
  | { type: 'metrics'; runId: string; points: MetricPoint[] }
  | { type: 'progress'; runId: string; progress: ProgressInfo }
  | { type: 'checkpoint'; runId: string; checkpoint: CheckpointRecord }
  | { type: 'log'; runId: string; message: string };

export type RunEventListener = (event: RunEvent) => void;
