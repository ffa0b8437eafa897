/** Fine-tune runs land in the store: run, metrics, COCO and VOC evaluations on the val dataset. */
import { describe, expect, it } from 'vitest';
import { resolveFinetuneConfig } from '../../shared/config/finetune';
import {
  createFinetuneRun,
  recordFinetuneEvaluation,
  runIdInPath,
} from '../../src-main/jobs/finetune-record';
import { recordCheckpoint, recordMetrics } from '../../src-main/jobs/run-recorder';
import type { DetectionEvaluation } from '../../src-main/engine/detection/evaluate';
import { MetricsWriter, openStore, type ExperimentStore } from '../../src-main/store';

const categories = [
  { id: 1, name: 'circle' },
  { id: 2, name: 'star' },
];
const demo = (store: ExperimentStore, split: 'train' | 'val', imageCount: number) =>
  store.createDataset({
    name: `Demo scenes · ${split}`,
    kind: 'demo',
    path: null,
    imageCount,
    annotationCount: 3,
    categories,
    split,
  });

describe('recording a fine-tune', () => {
  it('records run, metrics, checkpoint and both evaluations against the val dataset', () => {
    const store = openStore(':memory:');
    const parent = store.createRun({
      kind: 'pretrain',
      name: 'pt',
      method: 'self-emd',
      backbone: 'resnet18',
      config: {},
    });
    const config = resolveFinetuneConfig({
      init: { kind: 'pretrain-run', path: `/home/u/.selfemd/runs/${parent.id}` },
    });
    expect(runIdInPath(config.init.path)).toBe(parent.id);
    const datasetId = demo(store, 'val', 2).id;
    const run = createFinetuneRun(store, {
      name: 'ft-1',
      config,
      datasetId,
      trainDatasetId: demo(store, 'train', 4).id,
      parentRunId: parent.id,
      totalSteps: 10,
    });
    expect(run).toMatchObject({ kind: 'finetune', name: 'ft-1', parentRunId: parent.id, totalSteps: 10 });
    // The train split is recorded too, and neither dataset can be deleted while the run exists.
    expect(store.getDataset(run.trainDatasetId!)).toMatchObject({
      kind: 'demo',
      split: 'train',
      imageCount: 4,
    });
    expect(() => store.deleteDataset(run.trainDatasetId!)).toThrow(/is used by 1 run/);
    expect(() => store.deleteDataset(datasetId)).toThrow(/is used by 1 run/);
    expect(store.getDataset(datasetId)).toMatchObject({
      kind: 'demo',
      split: 'val',
      imageCount: 2,
      annotationCount: 3,
    });
    const stats = [0.5, 0.8, 0.6, -1, 0.4, 0.55, 0.3, 0.6, 0.6, -1, 0.5, 0.7];
    const evaluation = {
      stats,
      perCategory: {
        1: { id: 1, name: 'circle', ap: 0.6, ap50: 0.9, numGt: 2 },
        2: { id: 2, name: 'star', ap: -1, ap50: -1, numGt: 0 },
      },
      voc: { mAP: 0.85, perClass: { circle: 0.9, star: 0.8 } },
      detections: [],
    } as unknown as DetectionEvaluation;
    // As the RunManager records it: metrics and the checkpoint as they come (the checkpoint after its
    // metrics are committed), then the evaluation.
    const writer = new MetricsWriter(store);
    recordMetrics(writer, run.id, [{ key: 'loss/total', step: 10, value: 1.25, wallTime: 1 }]);
    expect(store.getMetrics(run.id, ['loss/total']).flatMap((m) => m.points)).toEqual([]);
    recordCheckpoint(store, writer, run.id, {
      step: 10,
      epoch: 1,
      dir: '/tmp/runs/ft-1/checkpoints/step-00000010',
      bytes: 4,
    });
    expect(store.getMetrics(run.id, ['loss/total'])[0].points).toHaveLength(1);
    expect(store.lastCheckpoint(run.id)).toMatchObject({ step: 10, epoch: 1 });
    recordFinetuneEvaluation(store, { runId: run.id, datasetId, step: 10, evaluation });
    writer.close();
    expect(store.getRun(run.id)).toMatchObject({ step: 10, totalSteps: 10 });
    expect(store.getMetrics(run.id, ['loss/total'])[0].points).toEqual([
      { step: 10, value: 1.25, wallTime: 1 },
    ]);
    const evals = store.listEvaluations(run.id);
    const coco = evals.find((e) => e.kind === 'coco')!;
    expect(coco.stats).toEqual({
      AP: 0.5,
      AP50: 0.8,
      AP75: 0.6,
      APm: 0.4,
      APl: 0.55,
      AR1: 0.3,
      AR10: 0.6,
      AR100: 0.6,
      ARm: 0.5,
      ARl: 0.7,
    });
    expect(coco.perCategory).toEqual([
      { categoryId: 1, name: 'circle', stats: { AP: 0.6, AP50: 0.9 } },
      { categoryId: 2, name: 'star', stats: {} },
    ]);
    expect(evals.find((e) => e.kind === 'voc')!.stats).toEqual({ mAP: 0.85 });
    // A resumed run evaluating the same step again does not record it twice.
    recordFinetuneEvaluation(store, { runId: run.id, datasetId, step: 10, evaluation });
    expect(store.listEvaluations(run.id).map((x) => [x.kind, x.checkpointStep])).toEqual([
      ['coco', 10],
      ['voc', 10],
    ]);
    store.close();
  });
  it('keeps a mask detector’s segm stats beside the box stats in its COCO record (segm_AP, …)', () => {
    const store = openStore(':memory:');
    const datasetId = demo(store, 'val', 2).id;
    const run = createFinetuneRun(store, {
      name: 'mask',
      config: resolveFinetuneConfig({ detector: 'mask-rcnn' }),
      datasetId,
      parentRunId: null,
    });
    const box = [0.5, 0.8, 0.6, -1, 0.4, 0.55, 0.3, 0.6, 0.6, -1, 0.5, 0.7];
    const mask = [0.4, 0.7, 0.5, -1, 0.3, 0.45, 0.2, 0.5, 0.5, -1, 0.4, 0.6];
    const evaluation = {
      stats: box,
      perCategory: { 1: { id: 1, name: 'circle', ap: 0.6, ap50: 0.9, numGt: 2 } },
      segm: { stats: mask, perCategory: { 1: { id: 1, name: 'circle', ap: 0.35, ap50: 0.75, numGt: 2 } } },
      voc: { mAP: 0.85, perClass: { circle: 0.9 } },
      detections: [],
    } as unknown as DetectionEvaluation;
    recordFinetuneEvaluation(store, { runId: run.id, datasetId, step: 10, evaluation });
    const coco = store.listEvaluations(run.id).find((e) => e.kind === 'coco')!;
    expect(coco.stats).toMatchObject({ AP: 0.5, AP50: 0.8, segm_AP: 0.4, segm_AP50: 0.7, segm_ARl: 0.6 });
    expect(coco.stats.segm_APs).toBeUndefined();
    expect(coco.perCategory).toEqual([
      { categoryId: 1, name: 'circle', stats: { AP: 0.6, AP50: 0.9, segm_AP: 0.35, segm_AP50: 0.75 } },
    ]);
    store.close();
  });
});
