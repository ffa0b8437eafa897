import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoreChange } from '../../shared/dto/changes';
import { openStore } from '../../src-main/store/db';
import { StoreError } from '../../src-main/store/errors';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { AMD_ADAPTER } from '../server/fixtures';
import { manualClock, memoryStore, pretrainRun, rawCount, tempStoreDir } from './helpers';

const backend = { name: 'wasm', version: '4.22.0', threads: 2 };

function errorOf(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StoreError) return e;
    throw e;
  }
  throw new Error('expected a StoreError');
}

describe('runs', () => {
  let store: ExperimentStore;
  let clock: ReturnType<typeof manualClock>;
  beforeEach(() => {
    clock = manualClock();
    store = memoryStore({ now: clock.now });
  });
  afterEach(() => store.close());

  it('creates a queued run with a generated UUID and reads it back', () => {
    const run = store.createRun(pretrainRun());
    expect(run.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(run).toEqual({
      id: run.id,
      kind: 'pretrain',
      name: 'byol-r18',
      method: 'byol',
      backbone: 'resnet18',
      datasetId: null,
      trainDatasetId: null,
      config: { method: 'byol', optim: { lr: 0.05, epochs: 2 }, data: { imageSize: 64 } },
      backend: null,
      status: 'queued',
      createdAt: clock.now(),
      startedAt: null,
      updatedAt: clock.now(),
      finishedAt: null,
      step: 0,
      totalSteps: 100,
      error: null,
      parentRunId: null,
      pid: null,
      heartbeatAt: null,
    });
    expect(store.getRun(run.id)).toEqual(run);
    expect(store.hasRun(run.id)).toBe(true);
    expect(store.hasRun('nope')).toBe(false);
  });

  it('gives clear errors for bad run input and unknown ids', () => {
    expect(() => store.createRun(pretrainRun({ kind: 'distill' as never }))).toThrow(
      'createRun: kind must be one of pretrain, finetune, got "distill"',
    );
    expect(() => store.createRun(pretrainRun({ config: { optim: { lr: NaN } } }))).toThrow(
      'createRun: config.optim.lr must be a finite number, got NaN',
    );
    expect(() => store.createRun(pretrainRun({ config: [] }))).toThrow(
      'createRun: config must be an object, got []',
    );
    expect(() => store.createRun(pretrainRun({ config: { started: new Date(0) } }))).toThrow(
      /createRun: config\.started must be plain JSON data/,
    );
    expect(() => store.createRun(pretrainRun({ id: 'has space' }))).toThrow(
      /createRun: id must be 1–64 letters/,
    );
    expect(errorOf(() => store.createRun(pretrainRun({ datasetId: 42 })))).toMatchObject({
      code: 'not-found',
      message: 'createRun: dataset 42 does not exist',
    });
    expect(
      errorOf(() => store.createRun(pretrainRun({ kind: 'finetune', parentRunId: 'ghost' }))),
    ).toMatchObject({
      code: 'not-found',
      message: 'createRun: run "ghost" does not exist',
    });
    store.createRun(pretrainRun({ id: 'r1' }));
    expect(errorOf(() => store.createRun(pretrainRun({ id: 'r1' })))).toMatchObject({ code: 'conflict' });
    expect(errorOf(() => store.getRun('ghost'))).toMatchObject({
      code: 'not-found',
      message: 'getRun: run "ghost" does not exist',
      details: { unknownRunIds: ['ghost'] },
    });
    expect(() => store.updateRunStatus('ghost', 'running')).toThrow(
      'updateRunStatus: run "ghost" does not exist',
    );
    expect(() => store.updateRunProgress('ghost', { step: 1 })).toThrow(/updateRunProgress: run "ghost"/);
    expect(() => store.heartbeat('ghost')).toThrow(/heartbeat: run "ghost"/);
    expect(() => store.deleteRun('ghost')).toThrow(/deleteRun: run "ghost"/);
    expect(store.listRuns().map((r) => r.id)).toEqual(['r1']);
  });

  it('follows the status lifecycle and keeps the timestamps honest', () => {
    const id = store.createRun(pretrainRun()).id;
    clock.advance(1000);
    const running = store.updateRunStatus(id, 'running', { pid: 4242, backend });
    expect(running).toMatchObject({
      status: 'running',
      startedAt: clock.now(),
      pid: 4242,
      backend,
      finishedAt: null,
    });

    clock.advance(1000);
    expect(store.updateRunStatus(id, 'paused')).toMatchObject({
      status: 'paused',
      pid: 4242,
      startedAt: running.startedAt,
    });
    clock.advance(1000);
    expect(store.updateRunStatus(id, 'running', { pid: 5000 })).toMatchObject({
      pid: 5000,
      startedAt: running.startedAt,
    });
    clock.advance(1000);
    const done = store.updateRunStatus(id, 'completed');
    expect(done).toMatchObject({
      status: 'completed',
      finishedAt: clock.now(),
      updatedAt: clock.now(),
      pid: null,
      backend,
    });

    const bad = errorOf(() => store.updateRunStatus(id, 'running'));
    expect(bad.code).toBe('conflict');
    expect(bad.message).toBe(
      `updateRunStatus: run "${id}" cannot go from completed to running (allowed from completed: none, it is final)`,
    );
    expect(() => store.updateRunStatus(id, 'done' as never)).toThrow(
      'updateRunStatus: status must be one of queued, running, paused, completed, failed, cancelled, interrupted, got "done"',
    );
    expect(store.getRun(id)).toEqual(done);
  });

  it('keeps the GPU a run asked for and the adapter it got, and refuses malformed ones naming the field', () => {
    const id = store.createRun(pretrainRun()).id;
    const gpu = {
      name: 'webgpu',
      version: '4.22.0',
      threads: 1,
      requested: 'webgpu',
      gpuRequest: { name: 'Radeon', power: 'low-power' as const },
      device: 'amd rdna-3 (driver "AMD Radeon RX 7600"); max buffer 2048 MiB, max storage binding 1024 MiB',
      adapter: { ...AMD_ADAPTER, powerPreference: 'low-power' as const },
    };
    expect(store.updateRunStatus(id, 'running', { backend: gpu }).backend).toEqual(gpu);
    expect(store.getRun(id).backend).toEqual(gpu);
    // Dawn's own choice of adapter: no name asked for.
    const any = { ...gpu, gpuRequest: { name: null, power: 'high-performance' as const } };
    expect(store.updateRunStatus(id, 'running', { backend: any }).backend).toEqual(any);
    expect(() =>
      store.updateRunStatus(id, 'running', {
        backend: { ...gpu, gpuRequest: { name: 'x', power: 'fast' as never } },
      }),
    ).toThrow(/backend\.gpuRequest\.power must be one of high-performance, low-power, got "fast"/);
    expect(() =>
      store.updateRunStatus(id, 'running', {
        backend: { ...gpu, adapter: { ...gpu.adapter, fallback: 'no' as never } },
      }),
    ).toThrow(/backend\.adapter\.fallback must be true or false/);
    expect(store.getRun(id).backend).toEqual(any);
  });

  it('records errors, and clears them when a failed run is retried', () => {
    const id = store.createRun(pretrainRun()).id;
    store.updateRunStatus(id, 'running', { pid: 10 });
    clock.advance(500);
    const failed = store.setRunError(id, 'out of memory in layer3.1.conv2');
    expect(failed).toMatchObject({
      status: 'failed',
      error: 'out of memory in layer3.1.conv2',
      finishedAt: clock.now(),
      pid: null,
    });
    expect(() => store.setRunError(id, '')).toThrow(
      'setRunError: message must be a non-empty string, got ""',
    );
    const retried = store.updateRunStatus(id, 'queued');
    expect(retried).toMatchObject({ status: 'queued', error: null, finishedAt: null });
  });

  it('updates progress and heartbeats', () => {
    const id = store.createRun(pretrainRun({ totalSteps: null })).id;
    store.updateRunStatus(id, 'running', { pid: 77 });
    clock.advance(2000);
    store.updateRunProgress(id, { step: 40, totalSteps: 500 });
    expect(store.getRun(id)).toMatchObject({
      step: 40,
      totalSteps: 500,
      heartbeatAt: clock.now(),
      updatedAt: clock.now(),
    });
    clock.advance(2000);
    store.updateRunProgress(id, { step: 30 }); // resumed from an earlier checkpoint: allowed, total kept
    expect(store.getRun(id)).toMatchObject({ step: 30, totalSteps: 500 });
    clock.advance(2000);
    store.heartbeat(id, 78);
    expect(store.getRun(id)).toMatchObject({ heartbeatAt: clock.now(), pid: 78 });
    expect(() => store.updateRunProgress(id, { step: -1 })).toThrow(
      'updateRunProgress: step must be a whole number ≥ 0, got -1',
    );
    expect(() => store.updateRunProgress(id, { step: 2.5 })).toThrow(/step must be a whole number/);
  });

  it('filters and pages listRuns, newest first', () => {
    const ds = store.createDataset({ name: 'd', kind: 'images', path: '/d', imageCount: 1 });
    const a = store.createRun(pretrainRun({ id: 'a', datasetId: ds.id }));
    const b = store.createRun(pretrainRun({ id: 'b' })); // same millisecond as a: insertion order decides
    clock.advance(10);
    const c = store.createRun(
      pretrainRun({ id: 'c', kind: 'finetune', method: 'retinanet', parentRunId: 'a', datasetId: ds.id }),
    );
    store.updateRunStatus('b', 'running');
    store.updateRunStatus('c', 'cancelled');

    expect(store.listRuns().map((r) => r.id)).toEqual([c.id, b.id, a.id]);
    expect(store.listRuns({ status: 'running' }).map((r) => r.id)).toEqual(['b']);
    expect(store.listRuns({ status: ['queued', 'cancelled'] }).map((r) => r.id)).toEqual(['c', 'a']);
    expect(store.listRuns({ kind: 'finetune' }).map((r) => r.id)).toEqual(['c']);
    expect(store.listRuns({ datasetId: ds.id }).map((r) => r.id)).toEqual(['c', 'a']);
    expect(store.listRuns({ parentRunId: 'a' }).map((r) => r.id)).toEqual(['c']);
    expect(store.listRuns({ limit: 1, offset: 1 }).map((r) => r.id)).toEqual(['b']);
    expect(() => store.listRuns({ status: ['queued', 'zombie' as never] })).toThrow(
      /listRuns: status\[1\] must be one of queued, .*got "zombie"/,
    );
  });

  it('marks runs left running by a dead or silent process as interrupted, once', () => {
    const alive = new Set([111, 222]);
    const isAlive = (pid: number) => alive.has(pid);
    const mk = (id: string, pid: number) => {
      store.createRun(pretrainRun({ id }));
      store.updateRunStatus(id, 'running', { pid });
    };
    mk('dead', 999);
    mk('fresh', 111);
    mk('silent', 222);
    store.createRun(pretrainRun({ id: 'paused' }));
    store.updateRunStatus('paused', 'running', { pid: 333 });
    store.updateRunStatus('paused', 'paused');
    const deadBeat = clock.now();
    clock.advance(120_000);
    store.heartbeat('fresh');
    store.updateRunProgress('dead', { step: 3 }); // its last sign of life
    const deadLast = clock.now();
    clock.advance(5_000);

    const marked = store.markInterruptedRuns({ staleAfterMs: 60_000, isAlive });
    expect(marked.map((r) => r.id).sort()).toEqual(['dead', 'silent']);
    expect(store.getRun('dead')).toMatchObject({
      status: 'interrupted',
      error: 'interrupted: process 999 is gone',
      finishedAt: deadLast,
      pid: null,
    });
    expect(store.getRun('silent')).toMatchObject({
      status: 'interrupted',
      error: 'interrupted: no heartbeat for 125 s',
      finishedAt: deadBeat,
    });
    expect(store.getRun('fresh').status).toBe('running');
    expect(store.getRun('paused').status).toBe('paused');
    expect(store.markInterruptedRuns({ staleAfterMs: 60_000, isAlive })).toEqual([]);

    // An interrupted run can be resumed: the error is cleared and finishedAt reset.
    expect(store.updateRunStatus('dead', 'running', { pid: 111 })).toMatchObject({
      error: null,
      finishedAt: null,
    });
  });

  it('detects a really dead pid with the default probe', () => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    store.createRun(pretrainRun({ id: 'gone' }));
    store.updateRunStatus('gone', 'running', { pid: deadPid });
    store.createRun(pretrainRun({ id: 'me' }));
    store.updateRunStatus('me', 'running', { pid: process.pid });
    expect(store.markInterruptedRuns().map((r) => r.id)).toEqual(['gone']);
  });

  it('announces committed writes, and nothing for rejected ones', () => {
    const changes: StoreChange[] = [];
    const off = store.onChange((c) => changes.push(c));
    store.onChange(() => {
      throw new Error('a broken view');
    });
    const id = store.createRun(pretrainRun()).id;
    store.appendMetrics([{ runId: id, key: 'loss', step: 0, value: 1 }]);
    expect(() => store.appendMetrics([{ runId: 'ghost', key: 'loss', step: 0, value: 1 }])).toThrow();
    expect(() => store.updateRunStatus(id, 'completed')).toThrow(/cannot go from queued to completed/);
    expect(changes).toEqual([
      { tables: ['runs'], runIds: [id] },
      { tables: ['metrics'], runIds: [id] },
    ]);
    off();
    store.updateRunStatus(id, 'running');
    expect(changes).toHaveLength(2);
  });
});

describe('deleting a run', () => {
  it('cascades to its metrics, checkpoints, artifacts and evaluations, and detaches its fine-tunes', () => {
    const tmp = tempStoreDir();
    const file = tmp.file('cascade.db');
    const store = openStore(file);
    try {
      const ds = store.createDataset({ name: 'voc', kind: 'voc', path: '/voc', imageCount: 10 });
      const keep = store.createRun(pretrainRun({ id: 'keep' }));
      const doomed = store.createRun(pretrainRun({ id: 'doomed' }));
      const child = store.createRun(pretrainRun({ id: 'child', kind: 'finetune', parentRunId: 'doomed' }));
      for (const r of [keep, doomed]) {
        store.appendMetrics([0, 1, 2].map((step) => ({ runId: r.id, key: 'loss', step, value: step })));
        store.addCheckpoint({ runId: r.id, step: 2, path: `/ck/${r.id}/2`, bytes: 10 });
        store.addArtifact({ runId: r.id, kind: 'export-tfjs', path: `/ex/${r.id}` });
        store.addEvaluation({ runId: r.id, datasetId: ds.id, kind: 'voc', stats: { mAP: 0.5 } });
      }
      store.updateRunStatus('doomed', 'running');
      expect(() => store.deleteRun('doomed')).toThrow('deleteRun: run "doomed" is running; stop it first');
      store.updateRunStatus('doomed', 'cancelled');
      store.deleteRun('doomed');

      for (const table of ['metrics', 'checkpoints', 'artifacts', 'evaluations']) {
        expect(rawCount(file, `SELECT count(*) FROM ${table} WHERE run_id = ?`, 'doomed')).toBe(0);
        expect(rawCount(file, `SELECT count(*) FROM ${table} WHERE run_id = ?`, 'keep')).toBeGreaterThan(0);
      }
      expect(rawCount(file, 'SELECT count(*) FROM metrics')).toBe(3);
      expect(store.hasRun('doomed')).toBe(false);
      expect(store.getRun(child.id).parentRunId).toBeNull();
      expect(rawCount(file, 'PRAGMA foreign_key_check')).toBe(0);
    } finally {
      store.close();
      tmp.cleanup();
    }
  });
});
