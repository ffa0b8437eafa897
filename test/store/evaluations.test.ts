import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { manualClock, memoryStore, pretrainRun } from './helpers';

describe('evaluations', () => {
  let store: ExperimentStore;
  let clock: ReturnType<typeof manualClock>;
  let runId: string;
  let datasetId: number;
  beforeEach(() => {
    clock = manualClock();
    store = memoryStore({ now: clock.now });
    runId = store.createRun(pretrainRun({ kind: 'finetune', method: 'retinanet' })).id;
    datasetId = store.createDataset({ name: 'val', kind: 'coco', path: '/val.json', imageCount: 50 }).id;
  });
  afterEach(() => store.close());

  it('stores COCO stats and per-category results, listed oldest first', () => {
    const stats = { AP: 0.312, AP50: 0.501, AP75: 0.33, APs: -1, APm: 0.2, APl: 0.41 };
    const perCategory = [
      { categoryId: 1, name: 'person', stats: { AP: 0.4 } },
      { categoryId: 3, name: 'car', stats: { AP: 0.22 } },
    ];
    const a = store.addEvaluation({
      runId,
      datasetId,
      kind: 'coco',
      checkpointStep: 900,
      stats,
      perCategory,
    });
    expect(a).toEqual({
      id: a.id,
      runId,
      datasetId,
      kind: 'coco',
      checkpointStep: 900,
      stats,
      perCategory,
      createdAt: clock.now(),
    });
    clock.advance(5);
    const b = store.addEvaluation({ runId, datasetId, kind: 'voc', stats: { mAP: 0.6 } });
    expect(b).toMatchObject({ checkpointStep: null, perCategory: [] });
    expect(store.listEvaluations(runId)).toEqual([a, b]);
  });

  it('rejects bad input and unknown references', () => {
    expect(() => store.addEvaluation({ runId, datasetId, kind: 'coco', stats: { AP: NaN } })).toThrow(
      'addEvaluation: stats.AP must be a finite number, got NaN',
    );
    expect(() =>
      store.addEvaluation({
        runId,
        datasetId,
        kind: 'coco',
        stats: {},
        perCategory: [{ categoryId: 1, name: 'x', stats: { AP: '1' as never } }],
      }),
    ).toThrow('addEvaluation: perCategory[0].stats.AP must be a finite number, got "1"');
    expect(() => store.addEvaluation({ runId, datasetId, kind: 'map' as never, stats: {} })).toThrow(
      'addEvaluation: kind must be one of coco, voc, got "map"',
    );
    expect(() => store.addEvaluation({ runId, datasetId: 77, kind: 'voc', stats: {} })).toThrow(
      'addEvaluation: dataset 77 does not exist',
    );
    expect(() => store.addEvaluation({ runId: 'ghost', datasetId, kind: 'voc', stats: {} })).toThrow(
      'addEvaluation: run "ghost" does not exist',
    );
    expect(store.listEvaluations(runId)).toEqual([]);
    // An evaluated dataset cannot be deleted out from under its results.
    store.addEvaluation({ runId, datasetId, kind: 'voc', stats: { mAP: 0.1 } });
    store.deleteRun(runId);
    store.createRun(pretrainRun({ id: 'other' }));
    store.addEvaluation({ runId: 'other', datasetId, kind: 'voc', stats: { mAP: 0.1 } });
    expect(() => store.deleteDataset(datasetId)).toThrow(/is used by 0 run\(s\) and 1 evaluation\(s\)/);
  });

  it('keeps a mask detector’s segm stats (segm_AP, …) beside the box stats, to run detail and compare', () => {
    const stats = { AP: 0.5, AP50: 0.8, segm_AP: 0.41, segm_AP50: 0.75, segm_AP75: 0.38 };
    const perCategory = [
      { categoryId: 1, name: 'circle', stats: { AP: 0.6, segm_AP: 0.35, segm_AP50: 0.7 } },
    ];
    const ev = store.addEvaluation({ runId, datasetId, kind: 'coco', checkpointStep: 4, stats, perCategory });
    expect(store.listEvaluations(runId)[0]).toMatchObject({ stats, perCategory });
    expect(store.getRunsForCompare([runId]).runs[0]!.evaluations).toEqual([ev]);
  });
});
