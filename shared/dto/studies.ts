/**
 * Studies as the experiment store records them: one comparison of backbone arms (random, BYOL,
 * Self-EMD variants, a file) over N fine-tune seeds, whose pretrainings and fine-tunes are ordinary
 * runs linked to it, and its result (per metric: mean ± sd per arm, paired differences with bootstrap
 * intervals). Times: epoch ms.
 */
import type { JsonObject } from './json';

export const STUDY_STATUSES = ['running', 'paused', 'interrupted', 'completed', 'failed'] as const;
export type StudyStatus = (typeof STUDY_STATUSES)[number];

export const STUDY_ROLES = ['pretrain', 'finetune'] as const;
export type StudyRole = (typeof STUDY_ROLES)[number];

export interface StudyRecord {
  id: string;
  name: string;
  /** The resolved study (data, arms, seeds, budget, the shared configs, what each arm changes). */
  config: JsonObject;
  arms: string[];
  seeds: number;
  budget: string;
  status: StudyStatus;
  error: string | null;
  /** The result once every run has finished (StudyResult as JSON), else null. */
  result: JsonObject | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface NewStudy {
  id?: string;
  name: string;
  config: object;
  arms: string[];
  seeds: number;
  budget: string;
}

/** A run of a study: an arm's pretraining (seed null) or one arm × seed fine-tune. */
export interface StudyRunLink {
  studyId: string;
  runId: string;
  arm: string;
  role: StudyRole;
  seed: number | null;
}

/** The detection probe of one arm's backbone with one seed, and each val box's outcome. */
export interface StudyProbeRecord {
  studyId: string;
  arm: string;
  seed: number;
  stats: { linearTop1: number; knnTop1: number; majorityTop1: number };
  /** Per val ground-truth box: the id of its image and whether the linear probe named its class. */
  boxes: { imageIds: number[]; linearCorrect: number[] };
  createdAt: number;
}

/** One metric's row of a study's result. */
export interface StudyMetricRow {
  /**
   * `AP`, `AP50`, `AP75`, `APs`, `APm`, `APl`, `VOC AP50`, then a mask detector's `mask AP`,
   * `mask AP50`, `mask AP75` (COCO segm), then `probe`.
   */
  metric: string;
  arms: {
    arm: string;
    /** In percent; null where undefined (no objects of a size in val). */
    mean: number | null;
    sd: number | null;
    seeds: (number | null)[];
  }[];
  /** Each arm against each reference (byol, random) present: difference and its 95 % interval. */
  differences: {
    arm: string;
    reference: string;
    estimate: number;
    low: number;
    high: number;
    separable: boolean;
    /** In words: "self-emd − byol: +1.2 AP [−0.3, +2.6], not separable at this budget". */
    text: string;
  }[];
}

export interface StudyResult {
  studyId: string;
  budget: string;
  arms: string[];
  seeds: number[];
  valImages: number;
  replicates: number;
  rows: StudyMetricRow[];
  /** Files written in the study folder. */
  files: { markdown: string; csv: string; json: string };
}

/** One slot of the arms × seeds grid as the Study screen shows it. */
export interface StudyCell {
  arm: string;
  role: StudyRole;
  seed: number | null;
  runId: string | null;
  status: string;
  step: number;
  totalSteps: number | null;
}

export interface StudyDetails {
  study: StudyRecord;
  cells: StudyCell[];
  probes: { arm: string; seed: number; linearTop1: number }[];
  /** Seconds left, from measured step times; null while nothing has been measured. */
  etaSeconds: number | null;
  live: boolean;
}
