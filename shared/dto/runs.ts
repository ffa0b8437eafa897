import type { GpuAdapterInfo, GpuRequest } from './gpu-adapter';
import type { JsonObject } from './json';

/** Runs (pretraining or detector fine-tuning) as the experiment store records them. Times: epoch ms. */
export const RUN_KINDS = ['pretrain', 'finetune'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATUSES = [
  'queued',
  'running',
  'paused',
  'completed',
  'failed',
  'cancelled',
  'interrupted',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * The moves the store accepts (staying in the same status is always allowed).
 * `queued` is also a run whose job waits in a cluster's queue (pending, or requeued) until it runs.
 * `interrupted` means the process died without saying so (found at startup); such a run, like a failed
 * or cancelled one, may be queued again or resumed from its last checkpoint. `completed` is final.
 */
export const RUN_STATUS_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['running', 'paused', 'cancelled', 'failed', 'interrupted'],
  running: ['queued', 'paused', 'completed', 'failed', 'cancelled', 'interrupted'],
  paused: ['running', 'cancelled', 'failed', 'interrupted'],
  interrupted: ['queued', 'running', 'cancelled', 'failed'],
  failed: ['queued', 'running'],
  cancelled: ['queued', 'running'],
  completed: [],
};

/** Statuses after which the run's process is gone: `finishedAt` is set on entering them. */
export const STOPPED_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled', 'interrupted'];

/** The TF.js backend a run actually trained on (known once the process has started). */
export interface BackendInfo {
  name: string;
  version: string;
  threads?: number;
  /** The GPU it ran on (webgpu): adapter, fallback or not, and the device limits, as one line. */
  device?: string;
  /** The same adapter field by field (webgpu), for views that compare runs. */
  adapter?: GpuAdapterInfo;
  /** What the run asked for: `auto` or a backend (its config, or SELFEMD_BACKEND replacing `auto`). */
  requested?: string;
  /** The adapter asked of webgpu (--gpu / --gpu-power), when webgpu was a candidate. */
  gpuRequest?: GpuRequest;
  /** Why backends before it were passed over (e.g. `webgpu: only a fallback adapter …`). */
  notes?: string[];
}

export interface RunRecord {
  /** UUID-like text id, also used for the run's folder name. */
  id: string;
  kind: RunKind;
  name: string;
  /** `byol`, `self-emd` for pretraining; the detector (`retinanet`, ...) for fine-tuning. */
  method: string;
  backbone: string;
  /** Pretraining: the dataset it trains on. Fine-tuning: the dataset it is evaluated on. */
  datasetId: number | null;
  /** Fine-tuning: the dataset it trains on (deleting it is refused while the run exists). */
  trainDatasetId: number | null;
  /** The validated run config, as the jobs layer stored it. */
  config: JsonObject;
  backend: BackendInfo | null;
  status: RunStatus;
  createdAt: number;
  startedAt: number | null;
  updatedAt: number;
  finishedAt: number | null;
  step: number;
  totalSteps: number | null;
  error: string | null;
  /** The pretraining run whose backbone a fine-tune started from. */
  parentRunId: string | null;
  pid: number | null;
  heartbeatAt: number | null;
}

export interface NewRun {
  /** Omit to let the store generate a UUID. Letters, digits, `-` and `_`, at most 64. */
  id?: string;
  kind: RunKind;
  name: string;
  method: string;
  backbone: string;
  datasetId?: number | null;
  trainDatasetId?: number | null;
  /**
   * Plain JSON data (checked when stored: no NaN, undefined, Dates or class instances). Typed `object` so
   * a config interface such as PretrainConfig is accepted without an index signature.
   */
  config: object;
  totalSteps?: number | null;
  parentRunId?: string | null;
}

export interface RunFilter {
  status?: RunStatus | RunStatus[];
  kind?: RunKind;
  datasetId?: number;
  parentRunId?: string;
  /** Newest first; `limit` defaults to all. */
  limit?: number;
  offset?: number;
}

/** Extra facts recorded together with a status change. */
export interface RunStatusDetails {
  pid?: number | null;
  backend?: BackendInfo;
  error?: string | null;
}

export interface RunProgress {
  step: number;
  totalSteps?: number | null;
}
