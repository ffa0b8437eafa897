import type { CheckpointRecord } from './checkpoints';
import type { EvaluationRecord } from './evaluations';
import type { MetricSample } from './metrics';
import type { RunRecord } from './runs';

/** One run's side of a comparison: what the compare view shows in its table. */
export interface RunComparison {
  run: RunRecord;
  /** The latest sample of every metric key the run logged. */
  latestMetrics: Record<string, MetricSample>;
  lastCheckpoint: CheckpointRecord | null;
  /** Oldest first. */
  evaluations: EvaluationRecord[];
}

export interface RunsComparison {
  runs: RunComparison[];
  /** Dotted config paths (`optim.lr`, `data.imageSize`) whose values differ between the runs, sorted. */
  differingConfigPaths: string[];
}
