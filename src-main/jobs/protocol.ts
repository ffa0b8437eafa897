/**
 * Messages between a supervisor (RunManager or a task runner, in the app / server / CLI process)
 * and an engine worker process. Plain JSON-able objects: they cross child_process IPC or
 * Electron's utilityProcess MessagePort alike.
 */
import type { FinetuneConfig } from '../../shared/config/finetune';
import type { BackendChoice, PretrainConfig } from '../../shared/config/pretrain';
import type { SkippedFile } from '../../shared/dto';
import type { BackendInfo } from '../engine/backend/select';
import type { MetricSample, ProgressInfo, TrainingResult } from '../engine/train/training-hooks';
import type { FinetuneEvaluationSummary } from './finetune-record';

export interface PretrainJob {
  kind: 'pretrain';
  runId: string;
  config: PretrainConfig;
  runDir: string;
  resume: boolean;
  /** The step of the run's last recorded checkpoint, when resuming (resumeCheckpoint). */
  resumeStep?: number;
  /** When resuming on wasm: the thread count the run started with (its kernels, so its roundings). */
  threads?: number;
}

/** A detector fine-tuning run (engine/detection/finetune.ts), streamed like pretraining. */
export interface FinetuneJob {
  kind: 'finetune';
  runId: string;
  config: FinetuneConfig;
  runDir: string;
  resume: boolean;
  /** The step of the run's last recorded checkpoint, when resuming (resumeCheckpoint). */
  resumeStep?: number;
  /** When resuming on wasm: the thread count the run started with (its kernels, so its roundings). */
  threads?: number;
}

/** An image file, or a scene of the built-in demo dataset by index. */
export type ImageRef = { path: string } | { demoIndex: number };

export interface TransportJob {
  kind: 'transport';
  config: PretrainConfig;
  runDir: string;
  image: ImageRef;
  image2?: ImageRef;
  seed: number;
  step?: number;
  grid?: number;
}

export interface ExportJob {
  kind: 'export';
  config: PretrainConfig;
  runDir: string;
  format: 'tfjs' | 'safetensors';
  outPath: string;
  step?: number;
  metadata: Record<string, string>;
}

/**
 * Which GPU adapter webgpu would train on here (the studio's backend picker): answered with a
 * `result` holding a GpuProbeResult. Runs in the process a webgpu run would run in.
 */
export interface GpuProbeJob {
  kind: 'gpu-probe';
}

/** The backend a job's process must host: its config's; webgpu for the GPU probe. */
export function jobBackend(job: EngineJob): BackendChoice {
  return job.kind === 'gpu-probe' ? 'webgpu' : job.config.backend;
}

/**
 * The detection probe of the backbone a fine-tune config starts from, on its train / val data (a
 * study's probe of each arm): the result and each val box's outcome.
 */
export interface ProbeJob {
  kind: 'probe';
  config: FinetuneConfig;
}

/** What a probe job answers: the probe's scores and, per val ground-truth box, its image and outcome. */
export interface ProbeJobResult {
  linearTop1: number;
  knnTop1: number;
  majorityTop1: number;
  seconds: number;
  imageIds: number[];
  linearCorrect: number[];
}

export type EngineJob = PretrainJob | FinetuneJob | TransportJob | ExportJob | GpuProbeJob | ProbeJob;

export type SupervisorMessage =
  { type: 'start'; job: EngineJob } | { type: 'stop'; mode: 'pause' | 'cancel' };

export type WorkerMessage =
  | { type: 'backend'; info: BackendInfo }
  | { type: 'dataset'; images: number; skipped: SkippedFile[] }
  | { type: 'metrics'; points: MetricSample[] }
  | { type: 'progress'; progress: ProgressInfo }
  | { type: 'checkpoint'; step: number; epoch: number; dir: string; bytes: number }
  | { type: 'log'; message: string }
  /** A fine-tune's evaluation on its val set, as it happens (every eval.everyEpochs and at the end). */
  | { type: 'evaluation'; step: number; evaluation: FinetuneEvaluationSummary }
  | { type: 'finished'; result: TrainingResult }
  /** A task's answer (transport, export). */
  | { type: 'result'; result: unknown }
  | { type: 'failed'; name: string; message: string };
