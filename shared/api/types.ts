/**
 * Shapes the API returns beyond the store's DTOs: what a screen needs in one answer (a dataset with its
 * per-category counts, a run with its checkpoints and live progress), the transport plan and exports.
 */
import type { DetectorName } from '../config/finetune';
import { PRETRAIN_METHODS, type BackendChoice } from '../config/pretrain';
import type { WebGpuStatus } from '../dto/gpu-adapter';
import type { ExecutorName, RunExecution } from '../dto/clusters';
import type { ConfigIssue } from '../config/validation';
import type {
  ArtifactRecord,
  CheckpointRecord,
  DatasetRecord,
  EvaluationRecord,
  RunRecord,
  TransportResult,
} from '../dto';

// ---------------------------------------------------------------------------------------------- system

export type TransportKind = 'electron' | 'browser';

export interface HardwareInfo {
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  totalMemoryGb: number;
  /** Backends that can be loaded here, in the order `auto` tries them (`auto` first). */
  backends: BackendChoice[];
  /** A CUDA build of TF.js is installed (tfjs-node-gpu). */
  gpu: boolean;
  /** Whether webgpu runs where the studio starts runs, on which adapter, or why not. */
  webgpu: WebGpuStatus;
}

export interface SystemInfo {
  version: string;
  transport: TransportKind;
  /** Where runs, datasets and the database live. */
  home: string;
  hardware: HardwareInfo;
  /**
   * Config overrides sized for this machine: a wasm/CPU machine gets a run that finishes in minutes,
   * a GPU machine the paper's sizes. The new-run form starts from these.
   */
  recommended: { label: string; overrides: Record<string, unknown> };
  /**
   * The same for a detector fine-tune, per detector (shared/config/finetune overrides: on a CPU the
   * detectors train at different image sizes); the fine-tune form starts from the chosen detector's.
   */
  recommendedFinetune: Record<DetectorName, { label: string; overrides: Record<string, unknown> }>;
  /** A native file dialog exists (Electron); otherwise the renderer browses with system.listDir. */
  nativePicker: boolean;
  /** Files can be uploaded (browser mode: drag-and-drop from another machine). */
  uploads: boolean;
}

export interface DirEntry {
  name: string;
  kind: 'dir' | 'file';
  bytes: number;
}

export interface DirListing {
  path: string;
  parent: string | null;
  entries: DirEntry[];
}

// -------------------------------------------------------------------------------------------- datasets

export const IMPORT_FORMATS = ['auto', 'images', 'coco', 'voc', 'yolo'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export const DEMO_SPLITS = ['train', 'val'] as const;
export type DemoSplit = (typeof DEMO_SPLITS)[number];

export interface CategoryCount {
  id: number;
  name: string;
  /** Annotated objects of this category. */
  count: number;
  /** Images with at least one object of it. */
  images: number;
}

export interface DatasetDetails {
  dataset: DatasetRecord;
  categoryCounts: CategoryCount[];
  /** A pretraining run can use it (demo train split, or a folder of images). */
  pretrainable: boolean;
}

export interface DatasetImage {
  index: number;
  /** Path relative to the dataset's image root, or the demo scene's name. */
  name: string;
  width: number;
  height: number;
  annotations: number;
}

/** One labelled box of an image, in the image's pixels (x, y, w, h). */
export interface ImageBox {
  bbox: [number, number, number, number];
  categoryId: number;
  category: string;
  /** The file's box reached outside the image and was clipped to it (listed in the import report). */
  clipped: boolean;
}

/** An image of a dataset opened in the viewer: the picture and its boxes. */
export interface DatasetImageView extends DatasetImage {
  /** PNG data URL of the whole image, its long side at most the size asked for. */
  dataUrl: string;
  boxes: ImageBox[];
  /** False for datasets whose boxes were not kept (image folders, imports older than the viewer). */
  boxesKnown: boolean;
}

/** One detection of a fine-tuned detector, in its image's own pixels (the prediction preview). */
export interface PredictedInstance {
  bbox: [number, number, number, number];
  categoryId: number;
  category: string;
  score: number;
  /**
   * Mask detectors: the instance's mask at the preview's size (RunPredictionView.maskSize) as COCO's
   * uncompressed RLE counts: runs over the pixels in column-major order, starting with zeros.
   */
  maskCounts?: number[];
}

/** A val image of a fine-tune run with the detections of its last evaluation, for the preview. */
export interface RunPredictionView extends DatasetImage {
  /** PNG data URL of the image, its long side at most the size asked for. */
  dataUrl: string;
  /** How many val images the evaluation scored (index runs over them). */
  total: number;
  /** The checkpoint step the evaluation scored; null when the store has no record of it. */
  step: number | null;
  /** [height, width] of the masks (the preview's pixels); null for box detectors. */
  maskSize: [number, number] | null;
  /** Highest score first, at or above the score asked for. */
  detections: PredictedInstance[];
}

export interface DatasetImagePage {
  total: number;
  images: DatasetImage[];
}

export type ImportPhase = 'scanning' | 'reading' | 'recording' | 'done' | 'failed';

// ------------------------------------------------------------------------------------------------ runs

/** The new-run form's choices: a recorded baseline, then every pretraining method of the config. */
export const NEW_RUN_METHODS = ['random-init', ...PRETRAIN_METHODS] as const;
/** `random-init` records a baseline (a backbone with no pretraining) for the detector to compare against. */
export type NewRunMethod = (typeof NEW_RUN_METHODS)[number];

/**
 * Where a fine-tuned detector's backbone comes from: `parent` — the pretraining run named by
 * `parentRunId` (its latest checkpoint; for a random-init baseline run, its seeded random weights);
 * `random` — fresh random weights, a baseline with no parent.
 */
export const FINETUNE_INITS = ['parent', 'random', 'file'] as const;
export type FinetuneInit = (typeof FINETUNE_INITS)[number];

export interface RunProgressInfo {
  step: number;
  totalSteps: number;
  epoch: number;
  stepsPerEpoch: number;
  secondsPerStep: number;
  etaSeconds: number;
  /** Epoch ms when this was reported. */
  at: number;
}

export interface CheckpointView extends CheckpointRecord {
  /** The files are still there (training keeps the newest few on disk). */
  onDisk: boolean;
}

export interface RunLogLine {
  at: number;
  message: string;
}

export interface RunDetails {
  run: RunRecord;
  checkpoints: CheckpointView[];
  evaluations: EvaluationRecord[];
  artifacts: ArtifactRecord[];
  /** The last progress report of a live run. */
  progress: RunProgressInfo | null;
  live: boolean;
  /** Newest last. */
  log: RunLogLine[];
  /** The dataset the run trained on, when it was recorded. */
  dataset: DatasetRecord | null;
  /** Where it executes: a Slurm job's id, state and reason; null for a run on this machine. */
  execution: RunExecution | null;
}

export interface ConfigCheck {
  issues: ConfigIssue[];
  /** Optimizer steps the run would take (when the config is valid and the dataset size is known). */
  totalSteps: number | null;
}

// ------------------------------------------------------------------------------------------- transport

export interface TransportImage {
  index: number;
  name: string;
  /** A small PNG data URL. */
  thumbnail: string;
}

export interface TransportImagePage {
  total: number;
  images: TransportImage[];
}

/** The EMD transport plan between two random crops of one image (Fig. 5 of the paper). */
export type TransportPlan = TransportResult;

// --------------------------------------------------------------------------------------------- exports

export const EXPORT_FORMATS = ['safetensors', 'tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOutcome {
  path: string;
  bytes: number;
  format: ExportFormat;
  checkpointStep: number;
  artifact: ArtifactRecord | null;
  /** safetensors: how it loads in PyTorch (which torchvision constructor, or that none builds it). */
  pytorchNote?: string;
}

export interface MetricsCsv {
  filename: string;
  csv: string;
}

// ---------------------------------------------------------------------------------------------- studies

/** A new study, as the Study screen and `selfemd study` ask for one (shared/config/study.ts). */
export interface StudyRequest {
  name?: string;
  /** Arm names: random, byol, moco-v2, simclr, self-emd-eq12, self-emd, self-emd+spc+scale, file:PATH, supervised:PATH. */
  arms: string[];
  /** Fine-tune seeds per arm. */
  seeds: number;
  budget: 'smoke' | 'small' | 'paper';
  /** `demo`, or absolute paths: an image folder to pretrain on, labelled train and val sets. */
  data: { unlabeled: string; train: string; val: string };
  /** Explicit step counts instead of the budget's schedule lengths. */
  pretrainSteps?: number;
  finetuneSteps?: number;
  backend?: BackendChoice;
  /** Config overrides on the budget (tests: tiny sizes). */
  pretrain?: Record<string, unknown>;
  finetune?: Record<string, unknown>;
  /** Bootstrap replicates (default 200). */
  replicates?: number;
  /** Where the study's runs execute: 'local' (this machine, the default) or a cluster's name. */
  on?: ExecutorName;
}

/** How long a study of this request should take here, from measured step times. */
export interface StudyEstimate {
  pretrainRuns: number;
  finetuneRuns: number;
  pretrainSteps: number;
  finetuneSteps: number;
  /** Seconds per step measured on this machine's backend (null: no run of that kind measured yet). */
  secondsPerStep: { pretrain: number | null; finetune: number | null };
  seconds: number | null;
}

// -------------------------------------------------------------------------------------------- clusters

/** One part of a cluster's connection test, in words the settings screen shows. */
export interface ClusterCheck {
  /** What was checked: 'slurmrestd', 'token', 'shared folder'. */
  what: string;
  ok: boolean;
  /** What was found, or what failed and why. */
  message: string;
}

export interface ClusterTestResult {
  cluster: string;
  /** Every check passed. */
  ok: boolean;
  checks: ClusterCheck[];
  /** How long the test took, ms. */
  ms: number;
}
