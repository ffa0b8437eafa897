/**
 * How a fine-tune run lands in the experiment store (the RunManager records it, for the studio and
 * `selfemd finetune` alike): the run (kind `finetune`, its pretraining parent when the backbone came
 * from one), and its COCO and VOC evaluations against the validation dataset's record, so the studio
 * shows and compares them.
 */
import * as path from 'node:path';
import type { FinetuneConfig } from '../../shared/config/finetune';
import type { JsonObject, RunRecord } from '../../shared/dto';
import { SEGM_STAT_PREFIX } from '../../shared/dto/evaluations';
import type { DetectionEvaluation } from '../engine/detection/evaluate';
import { COCO_STAT_NAMES } from '../engine/eval/cocoeval';
import type { ExperimentStore } from '../store';

/** What an evaluation carries to the store (the detections themselves stay in the run folder). */
export type FinetuneEvaluationSummary = Pick<DetectionEvaluation, 'stats' | 'perCategory' | 'voc' | 'segm'>;

/** `<home>/runs/<id>[/checkpoints…]` → id. */
export function runIdInPath(p: string): string | null {
  const parts = path.resolve(p).split(path.sep);
  const i = parts.lastIndexOf('runs');
  return i >= 0 && i + 1 < parts.length ? parts[i + 1]! : null;
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
      // A mask detector's segm stats ride in the same record (`segm_AP`, …): one evaluation of one
      // checkpoint, as detectron2 reports bbox and segm together.
      stats: Object.fromEntries(
        [
          ...COCO_STAT_NAMES.map((k, i) => [k, e.stats[i]] as const),
          ...(e.segm ? COCO_STAT_NAMES.map((k, i) => [SEGM_STAT_PREFIX + k, e.segm!.stats[i]] as const) : []),
        ].filter(([, v]) => isStat(v)),
      ),
      perCategory: Object.values(e.perCategory).map((c) => {
        const m = e.segm?.perCategory[String(c.id)];
        const named = { AP: c.ap, AP50: c.ap50, ...(m ? { segm_AP: m.ap, segm_AP50: m.ap50 } : {}) };
        return {
          categoryId: c.id,
          name: c.name,
          stats: Object.fromEntries(Object.entries(named).filter(([, v]) => isStat(v))),
        };
      }),
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
