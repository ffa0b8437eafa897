/**
 * Runs on a real Slurm (the one-node cluster of scripts/slurm-local.sh): tiny pretrainings submitted
 * through slurmrestd's REST API run the BUILT CLI on the node (dist/app/cli.mjs slurm-node) and every
 * metric they write reaches the store through the supervisor; a pause on the checkpoint signal
 * resumes (a new job) to a complete history; a job `scontrol requeue`d mid-run records no step twice;
 * two runs fan out as two jobs at once. Prints the latency from a metric line written on the node
 * to its row committed in the store.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TREND_LOSS_KEY } from '../../../shared/metrics/learning-trend';
import type { RunEvent } from '../../../src-main/jobs/run-events';
import { RunManager } from '../../../src-main/jobs/run-manager';
import { eventsPath, readEvents } from '../../../src-main/jobs/slurm/events-file';
import { openStore, type ExperimentStore } from '../../../src-main/store';
import { appDir, ensureAppBuilt } from '../../app/built-app';
import { TINY_PRETRAIN, firstEvent } from '../tiny-run';
import { localClusterSettings, localSlurm } from './local-slurm';

const CLUSTER = 'local-slurm';
/** The same cluster with a one-minute time limit. */
const SHORT = 'local-slurm-short';
const SLURM_CONF = path.join(process.env.SELFEMD_SLURM_DIR ?? '/tmp/selfemd-slurm', 'etc', 'slurm.conf');
/** TINY_PRETRAIN is 8 steps (8 images, batch 4, 4 epochs); `epochs` stretches it, a checkpoint every step. */
const tiny = (epochs: number) => ({ ...TINY_PRETRAIN, optim: { ...TINY_PRETRAIN.optim, epochs } });

let socket: string | null = null;
let home: string;
let shared: string;
let store: ExperimentStore;
let manager: RunManager;
let managerOptions: ConstructorParameters<typeof RunManager>[1];
/** When each metric (run, key, step) was committed to the store (the writer's flush). */
const committedAt = new Map<string, number>();
const events: RunEvent[] = [];

beforeAll(async () => {
  socket = await localSlurm('slurm-executor.test.ts (runs on a local Slurm)');
  if (!socket) return;
  ensureAppBuilt();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-slurm-home-'));
  // The shared folder: slurmrestd's local auth runs jobs as `nobody`, who must write there.
  shared = fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-slurm-shared-'));
  fs.chmodSync(shared, 0o777);
  const settings = localClusterSettings(socket, shared, {
    name: CLUSTER,
    memoryMb: 2000,
    nodeCommand: `${process.execPath} ${path.join(appDir, 'cli.mjs')}`,
  });
  store = openStore(path.join(home, 'studio.db'));
  managerOptions = {
    home,
    heartbeatMs: 0,
    clusters: (name) => {
      if (name === CLUSTER) return settings;
      if (name === SHORT) return { ...settings, name: SHORT, timeLimitMinutes: 1 };
      throw new Error(`no cluster ${name}`);
    },
    // The checkpoint signal 40 s before the end: for one-minute jobs at slurmctld's first time-limit
    // check after 20 s (so once the run trains), never for the others.
    slurm: { pollMs: 300, signalSeconds: 40, env: { SELFEMD_WASM_THREADS: '1' } },
  };
  manager = new RunManager(store, managerOptions);
  manager.on((e) => {
    events.push(e);
    if (e.type === 'metrics') {
      const now = Date.now();
      for (const p of e.points) {
        const k = `${p.runId}/${p.key}/${p.step}`;
        if (!committedAt.has(k)) committedAt.set(k, now);
      }
    }
  });
}, 240_000);

afterAll(async () => {
  if (!socket) return;
  await manager.shutdown();
  store.close();
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(shared, { recursive: true, force: true });
});

/** The loss history's steps as the store holds them. */
const lossSteps = (runId: string) =>
  (store.getMetrics(runId, [TREND_LOSS_KEY])[0]?.points ?? []).map((p) => p.step);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Resolves once `m` (default: the file's supervisor) records a checkpoint of the run at `step` or later. */
const whenCheckpoint = (runId: string, step: number, m = manager) =>
  firstEvent<RunEvent>(
    (l) => m.on(l),
    (e) => e.type === 'checkpoint' && e.runId === runId && e.checkpoint.step >= step,
  );

describe('the Slurm executor on a local Slurm', () => {
  it('runs a tiny pretraining as a Slurm job, every metric in the store, live', async (ctx) => {
    if (!socket) return ctx.skip();
    const run = manager.startPretrain(tiny(4), { name: 'on slurm', on: CLUSTER });
    const done = await manager.wait(run.id);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'completed', step: 8, totalSteps: 8 });
    expect(lossSteps(run.id)).toEqual(range(8));
    const execution = store.getExecution(run.id)!;
    expect(execution).toMatchObject({ executor: CLUSTER, state: 'COMPLETED' });
    expect(execution.jobId).toMatch(/^\d+$/);
    // Every line of the events file was taken in.
    expect(execution.ingestOffset).toBe(fs.statSync(eventsPath(path.join(shared, 'runs', run.id))).size);
    expect(
      store
        .listCheckpoints(run.id)
        .at(-1)!
        .path.startsWith(path.join(shared, 'runs', run.id)),
    ).toBe(true);
    // Latency: written on the node (the line's `at`) → committed in the store (the writer's flush).
    const lines = readEvents(execution.eventsFile, 0).lines;
    const latencies: number[] = [];
    for (const { at, message } of lines)
      if (message.type === 'metrics')
        for (const p of message.points) latencies.push(committedAt.get(`${run.id}/${p.key}/${p.step}`)! - at);
    latencies.sort((a, b) => a - b);
    expect(latencies.every((l) => Number.isFinite(l) && l >= 0)).toBe(true);
    const q = (f: number) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))];
    console.log(
      `Slurm metric latency (node line → store row), ${latencies.length} points: median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${latencies.at(-1)} ms`,
    );
    // The queue state was shown with Slurm's words.
    const logs = events
      .filter((e) => e.type === 'log' && e.runId === run.id)
      .map((e) => (e as { message: string }).message);
    expect(logs.some((m) => /^submitted to local-slurm as Slurm job \d+$/.test(m))).toBe(true);
    expect(logs.some((m) => /Slurm job \d+: (PENDING|RUNNING)/.test(m))).toBe(true);
  }, 120_000);

  it('pauses on the checkpoint signal mid-run and resumes as a new job to a complete history', async (ctx) => {
    if (!socket) return ctx.skip();
    const run = manager.startPretrain(tiny(10), { name: 'pause on slurm', on: CLUSTER });
    await whenCheckpoint(run.id, 3);
    const firstJob = store.getExecution(run.id)!.jobId;
    const paused = await manager.pause(run.id);
    expect(paused.status).toBe('paused');
    expect(paused.step).toBeLessThan(20);
    const steps = lossSteps(run.id);
    expect(steps).toEqual(range(steps.length));
    manager.resume(run.id);
    const done = await manager.wait(run.id);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'completed', step: 20, totalSteps: 20 });
    expect(store.getExecution(run.id)!.jobId).not.toBe(firstJob);
    expect(lossSteps(run.id)).toEqual(range(20));
  }, 150_000);

  it('cancels a running job with scancel: the run is cancelled, the job CANCELLED', async (ctx) => {
    if (!socket) return ctx.skip();
    const run = manager.startPretrain(tiny(10), { name: 'cancel on slurm', on: CLUSTER });
    await whenCheckpoint(run.id, 2);
    const cancelled = await manager.cancel(run.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.step).toBeLessThan(20);
    expect(store.getExecution(run.id)!.state).toBe('CANCELLED');
  }, 120_000);

  it('a job requeued mid-run (scontrol requeue) resumes from its checkpoint; no step is recorded twice', async (ctx) => {
    if (!socket) return ctx.skip();
    const run = manager.startPretrain(tiny(8), { name: 'requeue on slurm', on: CLUSTER });
    await whenCheckpoint(run.id, 3);
    const jobId = store.getExecution(run.id)!.jobId!;
    const env = { ...process.env, SLURM_CONF };
    execFileSync('scontrol', ['requeue', jobId], { env });
    // Slurm holds a requeued job ~2 minutes (BeginTime); let it start again now.
    for (let i = 0; i < 50; i++) {
      const state = execFileSync('squeue', ['-h', '-j', jobId, '-o', '%T'], { env, encoding: 'utf8' }).trim();
      if (state === 'PENDING') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    execFileSync('scontrol', ['update', `JobId=${jobId}`, 'StartTime=now'], { env });
    const done = await manager.wait(run.id);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'completed', step: 16, totalSteps: 16 });
    expect(store.getExecution(run.id)!.jobId).toBe(jobId);
    expect(lossSteps(run.id)).toEqual(range(16));
    const lines = readEvents(store.getExecution(run.id)!.eventsFile, 0).lines.map((l) => l.message);
    const resumed = lines.find(
      (m) => m.type === 'log' && /\(restart 1\).*resuming from the checkpoint at step/.test(m.message),
    );
    expect(resumed).toBeDefined();
    // The file holds both attempts; the store holds each step once.
    const written = lines.flatMap((m) =>
      m.type === 'metrics' ? m.points.filter((p) => p.key === TREND_LOSS_KEY) : [],
    );
    expect(written.length).toBeGreaterThanOrEqual(16);
    expect(new Set(written.map((p) => p.step)).size).toBe(16);
  }, 240_000);

  it('fans two runs (a two-arm smoke) out as two jobs that run at once', async (ctx) => {
    if (!socket) return ctx.skip();
    const a = manager.startPretrain(tiny(4), { name: 'arm byol', on: CLUSTER });
    const b = manager.startPretrain({ ...tiny(4), method: 'byol' }, { name: 'arm self-emd', on: CLUSTER });
    const [da, db] = await Promise.all([manager.wait(a.id), manager.wait(b.id)]);
    expect([da.status, db.status]).toEqual(['completed', 'completed']);
    expect(lossSteps(a.id)).toEqual(range(8));
    expect(lossSteps(b.id)).toEqual(range(8));
    expect(store.getExecution(a.id)!.jobId).not.toBe(store.getExecution(b.id)!.jobId);
  }, 150_000);

  it('a supervisor that closes leaves its job running; the next follows it on from the recorded offset', async (ctx) => {
    if (!socket) return ctx.skip();
    // Supervisors of their own (one metrics writer per open store), on the same database file.
    const theirs = openStore(store.path);
    const first = new RunManager(theirs, managerOptions);
    const run = first.startPretrain(tiny(8), { name: 'outlives its supervisor', on: CLUSTER });
    await whenCheckpoint(run.id, 3, first);
    await first.shutdown();
    const left = store.getExecution(run.id)!;
    expect(store.getRun(run.id).status).toBe('running');
    expect(left.ingestOffset).toBeGreaterThan(0);
    // The job writes on while nobody follows.
    await new Promise((r) => setTimeout(r, 1500));
    const next = new RunManager(theirs, managerOptions);
    expect(store.getRun(run.id).status).toBe('running');
    expect(next.followRemoteRuns()).toEqual([run.id]);
    const done = await next.wait(run.id);
    await next.shutdown();
    theirs.close();
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'completed', step: 16, totalSteps: 16 });
    expect(lossSteps(run.id)).toEqual(range(16));
    expect(store.getExecution(run.id)!.ingestOffset).toBe(fs.statSync(left.eventsFile).size);
  }, 150_000);

  it('a job near its time limit checkpoints on the signal and leaves the run interrupted, resumable', async (ctx) => {
    if (!socket) return ctx.skip();
    // Far more steps than a minute trains: only the signal (or the limit) ends it.
    const run = manager.startPretrain(
      { ...tiny(400), checkpoint: { everySteps: 5 } },
      { name: 'time limit', on: SHORT },
    );
    const ended = await manager.wait(run.id);
    expect(ended.status).toBe('interrupted');
    expect(ended.error).toMatch(/^Slurm job \d+ (COMPLETED after checkpointing on Slurm's signal|TIMEOUT)/);
    const last = store.lastCheckpoint(run.id)!;
    console.log(`time limit: ${ended.error}; last checkpoint at step ${last.step}`);
    expect(last.step).toBeGreaterThan(0);
    expect(last.step).toBeLessThan(800);
    const steps = lossSteps(run.id);
    expect(steps.slice(0, last.step)).toEqual(range(last.step));
  }, 150_000);
});
