/**
 * The studio's requests, namespaced `datasets.*`, `runs.*`, `metrics.*`, `transport.*`, `exports.*`,
 * `system.*`, `studies.*`, `clusters.*`. `ApiMethods` is the compile-time contract; `METHOD_ARGS` is its run-time twin, one
 * argument shape per method, checked by the caller's transport before sending and by the service
 * before acting (a compromised renderer gets the same answer as a typo).
 */
import { bool, listOf, num, oneOf } from '../config/validation';
import type {
  DatasetRecord,
  MetricSeries,
  RunRecord,
  RunsComparison,
  ArtifactRecord,
  StudyDetails,
  StudyRecord,
  SlurmClusterSettings,
  SlurmClusterSummary,
  ExecutorName,
} from '../dto';
import { CLUSTER_FIELDS, clusterName, executorName } from '../config/cluster';
import { STUDY_BUDGETS } from '../config/study';
import { BACKEND_CHOICES } from '../config/pretrain';
import { fsPath, opt, plainObject, req, runId, shortText, type ArgShape } from './arg-shape';
import {
  DEMO_SPLITS,
  EXPORT_FORMATS,
  FINETUNE_INITS,
  IMPORT_FORMATS,
  NEW_RUN_METHODS,
  type ConfigCheck,
  type DatasetDetails,
  type DatasetImagePage,
  type DatasetImageView,
  type DemoSplit,
  type DirListing,
  type ExportFormat,
  type ExportOutcome,
  type FinetuneInit,
  type ClusterTestResult,
  type ImportFormat,
  type MetricsCsv,
  type NewRunMethod,
  type RunDetails,
  type RunPredictionView,
  type RunProgressInfo,
  type StudyEstimate,
  type StudyRequest,
  type SystemInfo,
  type TransportImagePage,
  type TransportPlan,
} from './types';

type Empty = Record<string, never>;

export interface ApiMethods {
  'system.info': { args: Empty; result: SystemInfo };
  /** Browses the machine the studio runs on (the browser-mode picker; a remote box's folders). */
  'system.listDir': { args: { path?: string; showFiles?: boolean }; result: DirListing };
  /** A native open dialog (Electron only; `unavailable` in browser mode). Null when cancelled. */
  'system.pickPath': { args: { kind: 'folder' | 'file'; title?: string }; result: { path: string | null } };

  'datasets.list': { args: Empty; result: DatasetRecord[] };
  'datasets.get': { args: { id: number }; result: DatasetDetails };
  'datasets.images': { args: { id: number; offset?: number; limit?: number }; result: DatasetImagePage };
  'datasets.thumbnail': { args: { id: number; index: number; size?: number }; result: { dataUrl: string } };
  /** One image whole, with its labelled boxes (the clipped ones marked), for the image viewer. */
  'datasets.image': { args: { id: number; index: number; size?: number }; result: DatasetImageView };
  /** Resolves when the import is recorded; `datasets.importProgress` events carry `importId` meanwhile. */
  'datasets.import': {
    args: {
      path: string;
      format?: ImportFormat;
      name?: string;
      importId?: string;
      /** COCO: the image folder, when the usual layouts do not find it; VOC: instead of JPEGImages/. */
      imageDir?: string;
      /** VOC: a list of ImageSets/Main (datasets.splits names them); YOLO: a split of data.yaml. */
      split?: string;
    };
    result: DatasetRecord;
  };
  'datasets.addDemo': { args: { count: number; split?: DemoSplit; name?: string }; result: DatasetRecord };
  'datasets.delete': { args: { id: number }; result: Empty };
  /** The splits a VOC folder lists (ImageSets/Main/*.txt), for the import form's split selector. */
  'datasets.splits': { args: { path: string }; result: { format: ImportFormat | null; splits: string[] } };

  'runs.list': { args: Empty; result: RunRecord[] };
  'runs.get': { args: { id: string }; result: RunDetails };
  /** Validates a new run's config exactly as runs.start would, without starting it. */
  'runs.validate': {
    args: { method: NewRunMethod; datasetId?: number; config: Record<string, unknown> };
    result: ConfigCheck;
  };
  'runs.start': {
    args: {
      method: NewRunMethod;
      datasetId: number;
      name?: string;
      config: Record<string, unknown>;
      /** Where it executes: 'local' (this machine, the default) or a configured cluster's name. */
      on?: ExecutorName;
    };
    result: RunRecord;
  };
  /**
   * Validates a detector fine-tune exactly as runs.startFinetune would, without starting it. `config`
   * overrides the defaults recommended for this machine (shared/config/finetune); the datasets decide
   * the data, the init its backbone. Ids may be left out while the form is incomplete.
   */
  'runs.validateFinetune': {
    args: {
      init: FinetuneInit;
      parentRunId?: string;
      /** With init `file`: an exported backbone (.safetensors, or a TF.js model.json or its folder). */
      weightsPath?: string;
      trainDatasetId?: number;
      valDatasetId?: number;
      config: Record<string, unknown>;
    };
    result: ConfigCheck;
  };
  /** Starts fine-tuning a RetinaNet or Faster R-CNN; it is evaluated (COCO and VOC) on the val dataset at the end. */
  'runs.startFinetune': {
    args: {
      init: FinetuneInit;
      parentRunId?: string;
      weightsPath?: string;
      trainDatasetId: number;
      valDatasetId: number;
      name?: string;
      config: Record<string, unknown>;
      /** Where it executes: 'local' (this machine, the default) or a configured cluster's name. */
      on?: ExecutorName;
    };
    result: RunRecord;
  };
  /**
   * A val image of a fine-tune run with the detections its last evaluation wrote (boxes; a mask
   * detector's masks), `index` over the images it scored, detections scoring at least `minScore`.
   */
  'runs.predictions': {
    args: { id: string; index: number; size?: number; minScore?: number };
    result: RunPredictionView;
  };
  /** Checkpoints and stops; resolves once the training process has. */
  'runs.pause': { args: { id: string }; result: RunRecord };
  'runs.resume': { args: { id: string }; result: RunRecord };
  'runs.cancel': { args: { id: string }; result: RunRecord };
  'runs.delete': { args: { id: string }; result: Empty };
  /** Last progress report of every live run, by run id. */
  'runs.progress': { args: Empty; result: Record<string, RunProgressInfo> };

  'metrics.get': {
    args: { runId: string; keys?: string[]; sinceStep?: number; maxPoints?: number };
    result: MetricSeries[];
  };
  'metrics.compare': { args: { runIds: string[] }; result: RunsComparison };
  'metrics.csv': { args: { runIds: string[]; keys?: string[] }; result: MetricsCsv };

  /** Images of the data a run trained on, with small thumbnails. */
  'transport.images': {
    args: { runId: string; offset?: number; limit?: number };
    result: TransportImagePage;
  };
  'transport.compute': {
    args: { runId: string; imageIndex: number; seed: number; step?: number; grid?: number };
    result: TransportPlan;
  };

  'exports.run': {
    args: { runId: string; format: ExportFormat; step?: number; outPath?: string };
    result: ExportOutcome;
  };
  'exports.list': { args: { runId?: string }; result: ArtifactRecord[] };
  'exports.defaultPath': {
    args: { runId: string; format: ExportFormat; step?: number };
    result: { path: string };
  };

  'studies.list': { args: Empty; result: StudyRecord[] };
  'studies.get': { args: { id: string }; result: StudyDetails };
  /** Resolves the request and starts the study (its runs one after another); answers at once. */
  'studies.start': { args: StudyRequest; result: StudyRecord };
  /** How long such a study should take here, from the step times measured so far. */
  'studies.estimate': { args: StudyRequest; result: StudyEstimate };
  /** Pauses the study's running run; the study stops there. */
  'studies.pause': { args: { id: string }; result: StudyRecord };
  /** Continues with what is missing: nothing finished runs again. */
  'studies.resume': { args: { id: string }; result: StudyRecord };

  /** Configured Slurm clusters, by name; never their tokens (`hasToken` says whether one is stored). */
  'clusters.list': { args: Empty; result: SlurmClusterSummary[] };
  /** Adds or replaces a cluster by name. `token` left out keeps the stored one; empty removes it. */
  'clusters.save': { args: ClusterSaveArgs; result: SlurmClusterSummary };
  /** Connection test: slurmrestd answers a ping, and the shared folder is a writable folder here. */
  'clusters.test': { args: { name: string }; result: ClusterTestResult };
  /** Removes a cluster's settings (and its token). */
  'clusters.remove': { args: { name: string }; result: Empty };
}

/** `clusters.save`'s arguments: the settings (kind defaults to slurm); `token: ''` removes the stored one. */
export type ClusterSaveArgs = Omit<SlurmClusterSettings, 'kind'> & { kind?: 'slurm' };

export type MethodName = keyof ApiMethods;
export type ArgsOf<M extends MethodName> = ApiMethods[M]['args'];
export type ResultOf<M extends MethodName> = ApiMethods[M]['result'];

const id = req(num({ int: true, min: 1, max: 2 ** 53 - 1 }));
const index = num({ int: true, min: 0, max: 10_000_000 });
const step = opt(num({ int: true, min: 0, max: 1e12 }));
const runIds = listOf(runId, { minLength: 1 });
const metricKeys = listOf(shortText(120), { minLength: 1 });
const importId = shortText(64);

const STUDY_REQUEST: ArgShape = {
  name: opt(shortText(120)),
  arms: req(listOf(shortText(1000), { minLength: 2 })),
  seeds: req(num({ int: true, min: 1, max: 32 })),
  budget: req(oneOf(STUDY_BUDGETS)),
  data: req(plainObject),
  pretrainSteps: opt(num({ int: true, min: 1, max: 1e9 })),
  finetuneSteps: opt(num({ int: true, min: 1, max: 1e9 })),
  backend: opt(oneOf(BACKEND_CHOICES)),
  pretrain: opt(plainObject),
  finetune: opt(plainObject),
  replicates: opt(num({ int: true, min: 10, max: 100_000 })),
  on: opt(executorName),
};

export const METHOD_ARGS: { readonly [M in MethodName]: ArgShape } = {
  'system.info': {},
  'system.listDir': { path: opt(fsPath), showFiles: opt(bool) },
  'system.pickPath': { kind: req(oneOf(['folder', 'file'])), title: opt(shortText(120)) },

  'datasets.list': {},
  'datasets.get': { id },
  'datasets.images': { id, offset: opt(index), limit: opt(num({ int: true, min: 1, max: 500 })) },
  'datasets.thumbnail': { id, index: req(index), size: opt(num({ int: true, min: 16, max: 512 })) },
  'datasets.image': { id, index: req(index), size: opt(num({ int: true, min: 64, max: 2048 })) },
  'datasets.import': {
    path: req(fsPath),
    format: opt(oneOf(IMPORT_FORMATS)),
    name: opt(shortText(120)),
    importId: opt(importId),
    imageDir: opt(fsPath),
    split: opt(shortText(120)),
  },
  'datasets.addDemo': {
    count: req(num({ int: true, min: 2, max: 10_000 })),
    split: opt(oneOf(DEMO_SPLITS)),
    name: opt(shortText(120)),
  },
  'datasets.delete': { id },
  'datasets.splits': { path: req(fsPath) },

  'runs.list': {},
  'runs.get': { id: req(runId) },
  'runs.validate': {
    method: req(oneOf(NEW_RUN_METHODS)),
    datasetId: opt(num({ int: true, min: 1 })),
    config: req(plainObject),
  },
  'runs.start': {
    method: req(oneOf(NEW_RUN_METHODS)),
    datasetId: id,
    name: opt(shortText(120)),
    config: req(plainObject),
    on: opt(executorName),
  },
  'runs.validateFinetune': {
    init: req(oneOf(FINETUNE_INITS)),
    parentRunId: opt(runId),
    weightsPath: opt(fsPath),
    trainDatasetId: opt(num({ int: true, min: 1 })),
    valDatasetId: opt(num({ int: true, min: 1 })),
    config: req(plainObject),
  },
  'runs.startFinetune': {
    init: req(oneOf(FINETUNE_INITS)),
    parentRunId: opt(runId),
    weightsPath: opt(fsPath),
    trainDatasetId: id,
    valDatasetId: id,
    name: opt(shortText(120)),
    config: req(plainObject),
    on: opt(executorName),
  },
  'runs.predictions': {
    id: req(runId),
    index: req(index),
    size: opt(num({ int: true, min: 64, max: 2048 })),
    minScore: opt(num({ min: 0, max: 1 })),
  },
  'runs.pause': { id: req(runId) },
  'runs.resume': { id: req(runId) },
  'runs.cancel': { id: req(runId) },
  'runs.delete': { id: req(runId) },
  'runs.progress': {},

  'metrics.get': {
    runId: req(runId),
    keys: opt(metricKeys),
    sinceStep: opt(num({ int: true, min: -1 })),
    maxPoints: opt(num({ int: true, min: 2, max: 100_000 })),
  },
  'metrics.compare': { runIds: req(runIds) },
  'metrics.csv': { runIds: req(runIds), keys: opt(metricKeys) },

  'transport.images': {
    runId: req(runId),
    offset: opt(index),
    limit: opt(num({ int: true, min: 1, max: 200 })),
  },
  'transport.compute': {
    runId: req(runId),
    imageIndex: req(index),
    seed: req(num({ int: true, min: 0, max: 2 ** 31 - 1 })),
    step,
    grid: opt(num({ int: true, min: 1, max: 64 })),
  },

  'exports.run': { runId: req(runId), format: req(oneOf(EXPORT_FORMATS)), step, outPath: opt(fsPath) },
  'exports.list': { runId: opt(runId) },
  'exports.defaultPath': { runId: req(runId), format: req(oneOf(EXPORT_FORMATS)), step },

  'studies.list': {},
  'studies.get': { id: req(runId) },
  'studies.start': STUDY_REQUEST,
  'studies.estimate': STUDY_REQUEST,
  'studies.pause': { id: req(runId) },
  'studies.resume': { id: req(runId) },

  'clusters.list': {},
  'clusters.save': { ...CLUSTER_FIELDS, kind: { ...CLUSTER_FIELDS.kind, optional: true } },
  'clusters.test': { name: req(clusterName) },
  'clusters.remove': { name: req(clusterName) },
};

export const METHOD_NAMES = Object.keys(METHOD_ARGS) as MethodName[];

export function isMethodName(v: unknown): v is MethodName {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(METHOD_ARGS, v);
}
