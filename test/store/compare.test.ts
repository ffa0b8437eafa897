import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { differingConfigPaths } from '../../src-main/store/repositories/compare';
import { memoryStore, pretrainRun } from './helpers';

describe('getRunsForCompare', () => {
  let store: ExperimentStore;
  beforeEach(() => (store = memoryStore()));
  afterEach(() => store.close());

  it('gathers each run’s latest metrics, last checkpoint and evaluations, in the order asked', () => {
    const ds = store.createDataset({ name: 'val', kind: 'voc', path: '/voc', imageCount: 4 });
    const a = store.createRun(
      pretrainRun({
        id: 'a',
        config: { method: 'byol', optim: { lr: 0.05, epochs: 2 }, data: { imageSize: 64 } },
      }),
    );
    const b = store.createRun(
      pretrainRun({
        id: 'b',
        method: 'self-emd',
        config: { method: 'self-emd', optim: { lr: 0.05, epochs: 4 }, emd: { iters: 5 } },
      }),
    );
    store.appendMetrics([
      { runId: 'a', key: 'loss', step: 0, value: 3, wallTime: 1 },
      { runId: 'a', key: 'loss', step: 9, value: 1.5, wallTime: 2 },
      { runId: 'b', key: 'loss', step: 4, value: 2, wallTime: 3 },
      { runId: 'b', key: 'emd', step: 4, value: 0.7, wallTime: 3 },
    ]);
    store.addCheckpoint({ runId: 'b', step: 4, path: '/b/4', bytes: 9 });
    const ev = store.addEvaluation({ runId: 'a', datasetId: ds.id, kind: 'voc', stats: { mAP: 0.42 } });

    const cmp = store.getRunsForCompare(['b', 'a', 'b']);
    expect(cmp.runs.map((r) => r.run.id)).toEqual(['b', 'a']);
    const [rb, ra] = cmp.runs;
    expect(ra.run).toEqual(a);
    expect(rb.run).toEqual(b);
    expect(ra.latestMetrics).toEqual({ loss: { step: 9, value: 1.5, wallTime: 2 } });
    expect(rb.latestMetrics).toEqual({
      emd: { step: 4, value: 0.7, wallTime: 3 },
      loss: { step: 4, value: 2, wallTime: 3 },
    });
    expect(ra.lastCheckpoint).toBeNull();
    expect(rb.lastCheckpoint?.path).toBe('/b/4');
    expect(ra.evaluations).toEqual([ev]);
    expect(rb.evaluations).toEqual([]);
    expect(cmp.differingConfigPaths).toEqual(['data.imageSize', 'emd.iters', 'method', 'optim.epochs']);
  });

  it('names every unknown id at once', () => {
    store.createRun(pretrainRun({ id: 'a' }));
    expect(() => store.getRunsForCompare(['x', 'a', 'y'])).toThrow(
      'getRunsForCompare: unknown run id(s) "x", "y"',
    );
    expect(() => store.getRunsForCompare('a' as never)).toThrow(
      'getRunsForCompare: ids must be a list, got "a"',
    );
  });
});

describe('differingConfigPaths', () => {
  it('treats lists as leaves and absence as a difference', () => {
    expect(
      differingConfigPaths([
        { a: { b: 1, c: [1, 2] }, d: 'x', e: {} },
        { a: { b: 1, c: [1, 3] }, d: 'x' },
        { a: { b: 1, c: [1, 2] }, d: 'x', e: {} },
      ]),
    ).toEqual(['a.c', 'e']);
    expect(differingConfigPaths([{ a: 1 }])).toEqual([]);
    expect(differingConfigPaths([{ a: null }, { a: 0 }])).toEqual(['a']);
  });
});
