import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { manualClock, memoryStore, pretrainRun } from './helpers';

describe('studies', () => {
  let store: ExperimentStore;
  let clock: ReturnType<typeof manualClock>;
  beforeEach(() => {
    clock = manualClock();
    store = memoryStore({ now: clock.now });
  });
  afterEach(() => store.close());

  const newStudy = () =>
    store.createStudy({
      name: 'r vs b',
      config: { budget: 'smoke', seeds: [0, 1] },
      arms: ['random', 'byol'],
      seeds: 2,
      budget: 'smoke',
    });

  it('records a study, its status and result; newest first', () => {
    const a = newStudy();
    expect(a).toMatchObject({ status: 'running', seeds: 2, arms: ['random', 'byol'], result: null });
    clock.advance(10);
    const b = newStudy();
    expect(store.listStudies().map((s) => s.id)).toEqual([b.id, a.id]);
    clock.advance(10);
    const done = store.setStudyResult(a.id, { rows: [] });
    expect(done.result).toEqual({ rows: [] });
    expect(store.setStudyStatus(a.id, 'completed').finishedAt).toBe(clock.now());
    expect(() => store.setStudyStatus(a.id, 'queued' as never)).toThrow(/status must be one of running/);
    expect(() => store.getStudy('nope')).toThrow(/study "nope" does not exist/);
    expect(() =>
      store.createStudy({ name: 'x', config: {}, arms: ['a'], seeds: 0, budget: 'smoke' }),
    ).toThrow(/seeds must be a whole number ≥ 1/);
  });

  it('links one run per slot (a restart replaces it); a deleted run leaves its slot empty', () => {
    const study = newStudy();
    const pre = store.createRun(pretrainRun()).id;
    const ft1 = store.createRun(pretrainRun({ kind: 'finetune', method: 'retinanet' })).id;
    const ft2 = store.createRun(pretrainRun({ kind: 'finetune', method: 'retinanet' })).id;
    store.linkStudyRun({ studyId: study.id, runId: pre, arm: 'byol', role: 'pretrain', seed: 7 });
    store.linkStudyRun({ studyId: study.id, runId: ft1, arm: 'byol', role: 'finetune', seed: 0 });
    store.linkStudyRun({ studyId: study.id, runId: ft2, arm: 'byol', role: 'finetune', seed: 0 });
    expect(store.studyRuns(study.id)).toEqual([
      // a pretraining's slot has no seed, whatever the caller passed
      { studyId: study.id, runId: pre, arm: 'byol', role: 'pretrain', seed: null },
      { studyId: study.id, runId: ft2, arm: 'byol', role: 'finetune', seed: 0 },
    ]);
    expect(() =>
      store.linkStudyRun({ studyId: study.id, runId: 'missing', arm: 'byol', role: 'finetune', seed: 1 }),
    ).toThrow(/run "missing" does not exist/);
    store.deleteRun(ft2);
    expect(store.studyRuns(study.id).map((l) => l.runId)).toEqual([pre]);
    store.deleteStudy(study.id);
    expect(store.hasRun(pre)).toBe(true);
  });

  it('keeps probes with their per-box outcomes, refusing mismatched lists', () => {
    const study = newStudy();
    const probe = {
      studyId: study.id,
      arm: 'byol',
      seed: 1,
      stats: { linearTop1: 0.5, knnTop1: 0.25, majorityTop1: 0.25 },
      boxes: { imageIds: [3, 3, 4, 9], linearCorrect: [1, 0, 1, 0] },
    };
    store.addStudyProbe(probe);
    store.addStudyProbe({ ...probe, stats: { ...probe.stats, linearTop1: 0.75 } });
    const stored = store.studyProbes(study.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ ...probe, stats: { ...probe.stats, linearTop1: 0.75 } });
    expect(() => store.addStudyProbe({ ...probe, boxes: { imageIds: [1], linearCorrect: [] } })).toThrow(
      /imageIds has 1 entries, boxes.linearCorrect 0/,
    );
    expect(() => store.addStudyProbe({ ...probe, stats: { ...probe.stats, knnTop1: Number.NaN } })).toThrow(
      /stats.knnTop1 must be a finite number/,
    );
  });

  it('marks a running study none of whose runs runs as interrupted, and leaves one with a running run', () => {
    const idle = newStudy();
    const busy = newStudy();
    const run = store.createRun(pretrainRun()).id;
    store.updateRunStatus(run, 'running', { pid: process.pid });
    store.linkStudyRun({ studyId: busy.id, runId: run, arm: 'byol', role: 'pretrain', seed: null });
    const marked = store.markInterruptedStudies();
    expect(marked.map((s) => s.id)).toEqual([idle.id]);
    expect(store.getStudy(idle.id)).toMatchObject({ status: 'interrupted' });
    expect(store.getStudy(busy.id).status).toBe('running');
  });
});
