/**
 * RunManager with real training processes (child_process + tsx, wasm backend): metrics reach the
 * store through the one writer, a killed process leaves an interrupted run that resumes from its
 * last checkpoint to completion, and pause/cancel are honoured.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePretrainConfig } from '../../shared/config/pretrain';
import type { JsonObject } from '../../shared/dto';
import type { EngineJob } from '../../src-main/jobs/protocol';
import { RunManager } from '../../src-main/jobs/run-manager';
import type { WorkerSpawner } from '../../src-main/jobs/worker-process';
import { openStore, type ExperimentStore } from '../../src-main/store';
import type { RunEvent } from '../../src-main/jobs/run-events';
import { TINY_PRETRAIN } from './tiny-run';
import { tempDir } from '../temp-dir';

const TINY = TINY_PRETRAIN;

let home: string;
let store: ExperimentStore;
let manager: RunManager;
const events: RunEvent[] = [];

beforeAll(() => {
  home = tempDir('selfemd-jobs-');
  store = openStore(path.join(home, 'studio.db'));
  manager = new RunManager(store, { home, heartbeatMs: 0 });
  manager.on((e) => events.push(e));
});

afterAll(async () => {
  await manager.shutdown();
  store.close();
});

describe('RunManager', () => {
  it('rejects a bad config before creating anything', () => {
    expect(() => manager.startPretrain({ optim: { batchSize: 0 } })).toThrow(
      /optim.batchSize: must be ≥ 2, got 0/,
    );
    expect(store.listRuns()).toEqual([]);
  });

  it('a killed run is interrupted, then resumes from its last checkpoint to completion', async () => {
    const run = manager.startPretrain(TINY, { name: 'kill me' });
    expect(run.status).toBe('running');
    // Kill the process once two checkpoints are on disk.
    await new Promise<void>((resolve) => {
      const off = manager.on((e) => {
        if (e.type === 'checkpoint' && e.runId === run.id && e.checkpoint.step >= 2) {
          off();
          process.kill(store.getRun(run.id).pid!, 'SIGKILL');
          resolve();
        }
      });
    });
    const killed = await manager.wait(run.id);
    expect(killed.status).toBe('interrupted');
    expect(killed.error).toMatch(/killed \(SIGKILL\)/);
    expect(killed.backend?.name).toBe('wasm');
    const lastStep = store.lastCheckpoint(run.id)!.step;
    expect(lastStep).toBeGreaterThanOrEqual(2);
    // What a process whose supervisor died leaves behind: a checkpoint on disk the store never heard
    // of (it goes on to checkpoint before it stops). Its steps' metrics are not stored, so the resume
    // must start from the recorded checkpoint and repeat them.
    const ckpts = path.join(home, 'runs', run.id, 'checkpoints');
    const name = (step: number) => `step-${String(step).padStart(8, '0')}`;
    fs.rmSync(path.join(ckpts, name(lastStep + 1)), { recursive: true, force: true });
    fs.cpSync(path.join(ckpts, name(lastStep)), path.join(ckpts, name(lastStep + 1)), { recursive: true });
    const manifest = path.join(ckpts, name(lastStep + 1), 'manifest.json');
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { state: { step: number } };
    m.state.step = lastStep + 1;
    fs.writeFileSync(manifest, JSON.stringify(m));

    manager.resume(run.id);
    const done = await manager.wait(run.id);
    expect(done.status).toBe('completed');
    expect(done.step).toBe(8);
    const loss = store.getMetrics(run.id, ['loss/total'])[0].points;
    // Every step 1..8 has a loss: the resumed process re-logged the steps after the checkpoint.
    expect(loss.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(
      events.some(
        (e) =>
          e.type === 'log' && e.runId === run.id && e.message.startsWith(`resumed from step ${lastStep} `),
      ),
    ).toBe(true);
  });

  it('pauses at a checkpoint and cancels', async () => {
    const run = manager.startPretrain(TINY);
    await new Promise<void>((resolve) => {
      const off = manager.on((e) => {
        if (e.type === 'progress' && e.runId === run.id && e.progress.step >= 1) {
          off();
          resolve();
        }
      });
    });
    const paused = await manager.pause(run.id);
    expect(paused.status).toBe('paused');
    expect(store.lastCheckpoint(run.id)!.step).toBe(paused.step);
    const cancelled = await manager.cancel(run.id);
    expect(cancelled.status).toBe('cancelled');
  });

  it('resumes a wasm run on the thread count it started with (another count means other kernels)', () => {
    const s = openStore(':memory:');
    const jobs: EngineJob[] = [];
    const spawner: WorkerSpawner = () => ({
      pid: 4242,
      send: (m) => void (m.type === 'start' && jobs.push(m.job)),
      onMessage: () => undefined,
      onExit: () => undefined,
      kill: () => undefined,
    });
    const m = new RunManager(s, { home, spawner });
    const run = s.createRun({
      kind: 'pretrain',
      name: 'started on two threads',
      method: 'self-emd',
      backbone: 'resnet18',
      config: resolvePretrainConfig(TINY) as unknown as JsonObject,
    });
    s.updateRunStatus(run.id, 'running', { backend: { name: 'wasm', version: '4.22.0', threads: 2 } });
    s.updateRunStatus(run.id, 'interrupted');
    const dir = path.join(home, 'runs', run.id, 'checkpoints', 'step-00000003');
    s.addCheckpoint({ runId: run.id, step: 3, path: dir, bytes: 1 });
    m.resume(run.id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ kind: 'pretrain', resume: true, resumeStep: 3, threads: 2 });
    s.close();
  });
});
