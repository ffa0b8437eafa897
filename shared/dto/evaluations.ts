/** Detection evaluations of a run on a dataset. Times: epoch ms. */
export const EVALUATION_KINDS = ['coco', 'voc'] as const;
export type EvaluationKind = (typeof EVALUATION_KINDS)[number];

/**
 * Named summary numbers: COCO's `AP`, `AP50`, ..., `ARl`; VOC's `mAP`. Finite numbers only (COCO uses -1 for "undefined").
 * A mask detector's COCO record also holds the segm evaluation's, prefixed with SEGM_STAT_PREFIX (`segm_AP`, ...).
 */
export const SEGM_STAT_PREFIX = 'segm_';

export type EvaluationStats = Record<string, number>;

export interface CategoryStats {
  categoryId: number;
  name: string;
  stats: EvaluationStats;
}

export interface EvaluationRecord {
  id: number;
  runId: string;
  datasetId: number;
  kind: EvaluationKind;
  /** Step of the checkpoint evaluated; null when not tied to one. */
  checkpointStep: number | null;
  stats: EvaluationStats;
  perCategory: CategoryStats[];
  createdAt: number;
}

export interface NewEvaluation {
  runId: string;
  datasetId: number;
  kind: EvaluationKind;
  checkpointStep?: number | null;
  stats: EvaluationStats;
  perCategory?: CategoryStats[];
}
