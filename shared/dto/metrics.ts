/**
 * Scalar training metrics (loss, lr, ...), one value per (run, key, step). Times: epoch ms.
 * NaN is a legitimate value (a diverged loss); the store keeps it and gives it back as NaN.
 */
export interface MetricPoint {
  runId: string;
  key: string;
  step: number;
  value: number;
  wallTime: number;
}

/** What producers hand to the store: `wallTime` defaults to the moment the store receives it. */
export type MetricInput = Omit<MetricPoint, 'wallTime'> & { wallTime?: number };

export interface MetricSample {
  step: number;
  value: number;
  wallTime: number;
}

export interface MetricSeries {
  runId: string;
  key: string;
  /** Ascending by step. */
  points: MetricSample[];
  /** Points stored for this key in the queried range (before downsampling). */
  totalPoints: number;
  downsampled: boolean;
}

export interface MetricQuery {
  /** Only steps strictly after this one (for polling a live run). */
  sinceStep?: number;
  /**
   * Cap on points per series (≥ 2). Longer series keep their first and last points and, for each of
   * ⌊(maxPoints − 2) / 2⌋ equal-count buckets between them, the bucket's lowest and highest value, so
   * spikes and divergence (NaN counts as highest) stay visible where every-k-th sampling would drop them.
   */
  maxPoints?: number;
}
