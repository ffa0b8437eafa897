/**
 * Records a fine-tune run of the CLI in the experiment store: the run (kind `finetune`, its
 * pretraining parent when the backbone came from one), its metrics, and its COCO and VOC
 * evaluations against the validation dataset's record, so the studio shows and compares them.
 */
import * as path from 'node:path';
import type { FinetuneConfig } from '../../shared/config/finetune';
import type { DatasetRecord, JsonObject, RunRecord } from '../../shared/dto';
import type { DetectionEvaluation } from '../engine/detection/evaluate';
import type { DetectionDataset } from '../engine/detection/inputs';
import { COCO_STAT_NAMES } from '../engine/eval/cocoeval';
import type { MetricSample } from '../engine/train/pretrain';
import type { ExperimentStore } from '../store';

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
function runIdInPath(p: string): string | null {
  const parts = path.resolve(p).split(path.sep);
  const i = parts.lastIndexOf('runs');
  return i >= 0 && i + 1 < parts.length ? parts[i + 1] : null;
}

export function startFinetuneRecord(
  store: ExperimentStore,
  args: { runDir: string; config: FinetuneConfig; val: DetectionDataset },
): { run: RunRecord; datasetId: number } {
  const name = path.basename(args.runDir);
  const dataset = datasetFor(store, args.config.data.val, 'val', args.val);
  const parent = args.config.init.kind === 'pretrain-run' ? runIdInPath(args.config.init.path) : null;
  const existing = store.listRuns({ kind: 'finetune' }).find((r) => r.name === name);
  const run =
    existing ??
    store.createRun({
      kind: 'finetune',
      name,
      method: args.config.detector,
      backbone: args.config.backbone.name,
      datasetId: dataset.id,
      config: args.config as unknown as JsonObject,
      parentRunId: parent && store.hasRun(parent) ? parent : null,
    });
  return { run: store.updateRunStatus(run.id, 'running', { pid: process.pid }), datasetId: dataset.id };
}

export function finishFinetuneRecord(
  store: ExperimentStore,
  args: {
    runId: string;
    datasetId: number;
    status: 'completed' | 'paused' | 'cancelled' | 'failed';
    step: number;
    totalSteps: number;
    metrics: MetricSample[];
    evaluation?: DetectionEvaluation;
    error?: string;
  },
): void {
  if (args.metrics.length) store.appendMetrics(args.metrics.map((m) => ({ runId: args.runId, ...m })));
  store.updateRunProgress(args.runId, { step: args.step, totalSteps: args.totalSteps });
  const e = args.evaluation;
  if (e) {
    store.addEvaluation({
      runId: args.runId,
      datasetId: args.datasetId,
      kind: 'coco',
      checkpointStep: args.step,
      // COCO's −1 ("no ground truth in this range") is not a number to chart: left out.
      stats: Object.fromEntries(
        COCO_STAT_NAMES.map((k, i) => [k, e.stats[i]]).filter(([, v]) => (v as number) >= 0),
      ),
      perCategory: Object.values(e.perCategory).map((c) => ({
        categoryId: c.id,
        name: c.name,
        stats: Object.fromEntries(Object.entries({ AP: c.ap, AP50: c.ap50 }).filter(([, v]) => v >= 0)),
      })),
    });
    store.addEvaluation({
      runId: args.runId,
      datasetId: args.datasetId,
      kind: 'voc',
      checkpointStep: args.step,
      stats: { mAP: e.voc.mAP },
      perCategory: Object.entries(e.voc.perClass).map(([name, ap]) => ({
        categoryId: 0,
        name,
        stats: { AP50: ap },
      })),
    });
  }
  store.updateRunStatus(args.runId, args.status, { pid: null, error: args.error ?? null });
}
