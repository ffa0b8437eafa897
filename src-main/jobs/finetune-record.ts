/**
 * How a fine-tune run lands in the experiment store, for the CLI (which trains in its own process)
 * and the studio's RunManager (which trains in a worker) alike: the run (kind `finetune`, its
 * pretraining parent when the backbone came from one), its metrics, and its COCO and VOC evaluations
 * against the validation dataset's record, so the studio shows and compares them.
 */
import * as path from 'node:path';
import type { FinetuneConfig } from '../../shared/config/finetune';
import type { DatasetRecord, JsonObject, RunRecord } from '../../shared/dto';
import type { DetectionEvaluation } from '../engine/detection/evaluate';
import type { DetectionDataset } from '../engine/detection/inputs';
import { COCO_STAT_NAMES } from '../engine/eval/cocoeval';
import type { ExperimentStore } from '../store';

/** What an evaluation carries to the store (the detections themselves stay in the run folder). */
export type FinetuneEvaluationSummary = Pick<DetectionEvaluation, 'stats' | 'perCategory' | 'voc'>;

/** The dataset record of `source` (`demo` → the demo val split), created on first use. */
function datasetFor(
  store: ExperimentStore,
  source: string,
  split: string,
  data: DetectionDataset,
): DatasetRecord {
  const isDemo = source === 'demo';
  const found = store
    .listDatasets()
    .find((d) => (isDemo ? d.kind === 'demo' && d.split === split : d.path === path.resolve(source)));
  if (found) return found;
  return store.createDataset({
    name: isDemo ? `Demo scenes · ${split}` : path.basename(source),
    kind: isDemo ? 'demo' : 'coco',
    path: isDemo ? null : path.resolve(source),
    imageCount: data.samples.length,
    annotationCount: data.coco.annotations.length,
    categories: data.categories.map((c) => ({ id: c.id, name: c.name })),
    split: isDemo ? split : null,
  });
}

/** `<home>/runs/<id>[/checkpoints…]` → id. */
export function runIdInPath(p: string): string | null {
  const parts = path.resolve(p).split(path.sep);
  const i = parts.lastIndexOf('runs');
  return i >= 0 && i + 1 < parts.length ? parts[i + 1]! : null;
}

/** The CLI's record of a run it trains itself: found by name (a resumed run) or created. */
export function startFinetuneRecord(
  store: ExperimentStore,
  args: { runDir: string; config: FinetuneConfig; train: DetectionDataset; val: DetectionDataset },
): { run: RunRecord; datasetId: number } {
  const name = path.basename(args.runDir);
  const dataset = datasetFor(store, args.config.data.val, 'val', args.val);
  const trainDataset = datasetFor(store, args.config.data.train, 'train', args.train);
  const parent = args.config.init.kind === 'pretrain-run' ? runIdInPath(args.config.init.path) : null;
  const existing = store.listRuns({ kind: 'finetune' }).find((r) => r.name === name);
  const run =
    existing ??
    createFinetuneRun(store, {
      name,
      config: args.config,
      datasetId: dataset.id,
      trainDatasetId: trainDataset.id,
      parentRunId: parent && store.hasRun(parent) ? parent : null,
    });
  return { run: store.updateRunStatus(run.id, 'running', { pid: process.pid }), datasetId: dataset.id };
}

/** A new fine-tune run: `datasetId` is the dataset it is evaluated on, `trainDatasetId` the one it trains on. */
export function createFinetuneRun(
  store: ExperimentStore,
  args: {
    name: string;
    config: FinetuneConfig;
    datasetId: number | null;
    trainDatasetId?: number | null;
    parentRunId: string | null;
    totalSteps?: number | null;
  },
): RunRecord {
  return store.createRun({
    kind: 'finetune',
    name: args.name,
    method: args.config.detector,
    backbone: args.config.backbone.name,
    datasetId: args.datasetId,
    trainDatasetId: args.trainDatasetId ?? null,
    config: args.config as unknown as JsonObject,
    parentRunId: args.parentRunId,
    totalSteps: args.totalSteps ?? null,
  });
}

const isStat = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * Records a COCO and a VOC evaluation of the run's weights at `step` on the dataset `datasetId`. A
 * step already evaluated there (a resumed run repeats the evaluations after its checkpoint, with the
 * same numbers) is not recorded twice.
 */
export function recordFinetuneEvaluation(
  store: ExperimentStore,
  args: { runId: string; datasetId: number; step: number; evaluation: FinetuneEvaluationSummary },
): void {
  const e = args.evaluation;
  const done = new Set(
    store
      .listEvaluations(args.runId)
      .filter((x) => x.datasetId === args.datasetId && x.checkpointStep === args.step)
      .map((x) => x.kind),
  );
  if (!done.has('coco'))
    store.addEvaluation({
      runId: args.runId,
      datasetId: args.datasetId,
      kind: 'coco',
      checkpointStep: args.step,
      // COCO's −1 ("no ground truth in this range") is not a number to chart: left out. (NaN crosses
      // a worker's IPC as null: left out too.)
      stats: Object.fromEntries(COCO_STAT_NAMES.map((k, i) => [k, e.stats[i]]).filter(([, v]) => isStat(v))),
      perCategory: Object.values(e.perCategory).map((c) => ({
        categoryId: c.id,
        name: c.name,
        stats: Object.fromEntries(Object.entries({ AP: c.ap, AP50: c.ap50 }).filter(([, v]) => isStat(v))),
      })),
    });
  if (!done.has('voc'))
    store.addEvaluation({
      runId: args.runId,
      datasetId: args.datasetId,
      kind: 'voc',
      checkpointStep: args.step,
      stats: (isStat(e.voc.mAP) ? { mAP: e.voc.mAP } : {}) as Record<string, number>,
      perCategory: Object.entries(e.voc.perClass).map(([name, ap]) => ({
        categoryId: 0,
        name,
        stats: (isStat(ap) ? { AP50: ap } : {}) as Record<string, number>,
      })),
    });
}

export type FinetuneRecordStatus = 'completed' | 'paused' | 'cancelled' | 'failed';

/** The end of a CLI fine-tune (its metrics, checkpoints and evaluations were recorded as they came). */
export function finishFinetuneRecord(
  store: ExperimentStore,
  args: { runId: string; status: FinetuneRecordStatus; step: number; totalSteps: number; error?: string },
): void {
  store.updateRunProgress(args.runId, { step: args.step, totalSteps: args.totalSteps });
  store.updateRunStatus(args.runId, args.status, { pid: null, error: args.error ?? null });
}
