/**
 * Run executions (migration 0005): where a cluster run executes, its job's state, and how far its
 * events file has been taken in; the offset only moves forward and survives a reopen.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store/db';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { memoryStore, pretrainRun, tempStoreDir } from './helpers';

describe('run executions', () => {
  let store: ExperimentStore;
  beforeEach(() => (store = memoryStore()));
  afterEach(() => store.close());

  it('records a run sent to a cluster, its job, state and reason, and moves the offset forward only', () => {
    const run = store.createRun(pretrainRun());
    expect(store.getExecution(run.id)).toBeNull();
    const begun = store.beginExecution(run.id, 'hpc', '/shared/runs/x/events.jsonl');
    expect(begun).toMatchObject({ runId: run.id, executor: 'hpc', ingestOffset: 0 });
    expect(begun.jobId).toBeUndefined();
    store.updateExecution(run.id, { jobId: '17', state: 'PENDING', reason: 'Resources' });
    const after = store.updateExecution(run.id, { ingestOffset: 420 });
    expect(after).toMatchObject({ jobId: '17', state: 'PENDING', reason: 'Resources', ingestOffset: 420 });
    expect(() => store.updateExecution(run.id, { ingestOffset: 100 })).toThrow(
      /ingestOffset 100 is behind the recorded 420/,
    );
    // Sent there again (a resume): same file, the offset goes on.
    expect(store.beginExecution(run.id, 'hpc', '/shared/runs/x/events.jsonl').ingestOffset).toBe(420);
    expect(() => store.beginExecution(run.id, 'hpc', '/elsewhere/events.jsonl')).toThrow(
      /writes its events to \/shared\/runs\/x\/events.jsonl/,
    );
  });

  it('refuses the local executor and unknown runs, and goes with its run', () => {
    const run = store.createRun(pretrainRun());
    expect(() => store.beginExecution(run.id, 'local', '/e')).toThrow(
      /executor 'local' has no execution record/,
    );
    expect(() => store.beginExecution('nope', 'hpc', '/e')).toThrow(/run "nope" does not exist/);
    expect(() => store.updateExecution(run.id, { state: 'RUNNING' })).toThrow(/has no execution record/);
    store.beginExecution(run.id, 'hpc', '/e');
    store.deleteRun(run.id);
    expect(store.getExecution(run.id)).toBeNull();
  });

  it('keeps the offset across a reopen', () => {
    const tmp = tempStoreDir();
    try {
      const file = tmp.file('s.db');
      const a = openStore(file);
      const run = a.createRun(pretrainRun());
      a.beginExecution(run.id, 'hpc', '/e');
      a.updateExecution(run.id, { jobId: '3', ingestOffset: 99 });
      a.close();
      const b = openStore(file);
      expect(b.getExecution(run.id)).toMatchObject({ jobId: '3', ingestOffset: 99, eventsFile: '/e' });
      b.close();
    } finally {
      tmp.cleanup();
    }
  });
});
