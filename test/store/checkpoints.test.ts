import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { manualClock, memoryStore, pretrainRun } from './helpers';

describe('checkpoints', () => {
  let store: ExperimentStore;
  let clock: ReturnType<typeof manualClock>;
  let runId: string;
  beforeEach(() => {
    clock = manualClock();
    store = memoryStore({ now: clock.now });
    runId = store.createRun(pretrainRun()).id;
  });
  afterEach(() => store.close());

  const save = (step: number, isLast?: boolean) => {
    clock.advance(1000);
    return store.addCheckpoint({
      runId,
      step,
      epoch: Math.floor(step / 100),
      path: `/runs/${runId}/ckpt-${step}`,
      bytes: 1000 + step,
      isLast,
    });
  };

  it('makes each new checkpoint the last one, and lists them by step', () => {
    expect(store.lastCheckpoint(runId)).toBeNull();
    const a = save(100);
    expect(a).toEqual({
      id: a.id,
      runId,
      step: 100,
      epoch: 1,
      path: `/runs/${runId}/ckpt-100`,
      createdAt: clock.now(),
      bytes: 1100,
      isLast: true,
    });
    save(300);
    save(200, false); // e.g. a best-so-far copy written after the last one
    expect(store.lastCheckpoint(runId)?.step).toBe(300);
    expect(store.listCheckpoints(runId).map((c) => [c.step, c.isLast])).toEqual([
      [100, false],
      [200, false],
      [300, true],
    ]);
  });

  it('replaces a checkpoint saved again at the same step', () => {
    save(100);
    save(200);
    const again = store.addCheckpoint({ runId, step: 100, path: '/elsewhere/ckpt-100', bytes: 7 });
    expect(store.listCheckpoints(runId)).toHaveLength(2);
    expect(store.lastCheckpoint(runId)).toEqual(again);
    expect(again).toMatchObject({ path: '/elsewhere/ckpt-100', bytes: 7, epoch: null });
  });

  it('promotes the newest remaining checkpoint when the last one is removed', () => {
    save(100);
    save(200);
    save(300);
    store.removeCheckpoint(runId, 100);
    expect(store.lastCheckpoint(runId)?.step).toBe(300);
    store.removeCheckpoint(runId, 300);
    expect(store.lastCheckpoint(runId)?.step).toBe(200);
    store.removeCheckpoint(runId, 200);
    expect(store.lastCheckpoint(runId)).toBeNull();
    expect(() => store.removeCheckpoint(runId, 200)).toThrow(
      `removeCheckpoint: run "${runId}" has no checkpoint at step 200`,
    );
  });

  it('rejects bad input', () => {
    expect(() => store.addCheckpoint({ runId: 'ghost', step: 1, path: '/x', bytes: 1 })).toThrow(
      'addCheckpoint: run "ghost" does not exist',
    );
    expect(() => store.addCheckpoint({ runId, step: 1, path: '/x', bytes: -5 })).toThrow(
      'addCheckpoint: bytes must be a whole number ≥ 0, got -5',
    );
    expect(() => store.addCheckpoint({ runId, step: 1, path: '', bytes: 1 })).toThrow(
      /path must be a non-empty string/,
    );
    expect(() =>
      store.addCheckpoint({ runId, step: 1, path: '/x', bytes: 1, isLast: 'yes' as never }),
    ).toThrow('addCheckpoint: isLast must be true or false, got "yes"');
    expect(() => store.listCheckpoints('ghost')).toThrow('listCheckpoints: run "ghost" does not exist');
    expect(store.listCheckpoints(runId)).toEqual([]);
  });
});
