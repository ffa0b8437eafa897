/** A saved training state. Exactly one checkpoint per run is the last one (the one to resume from). */
export interface CheckpointRecord {
  id: number;
  runId: string;
  step: number;
  epoch: number | null;
  path: string;
  createdAt: number;
  bytes: number;
  isLast: boolean;
}

export interface NewCheckpoint {
  runId: string;
  step: number;
  epoch?: number | null;
  path: string;
  bytes: number;
  /** Defaults to true: a new checkpoint becomes the run's last one. */
  isLast?: boolean;
}
