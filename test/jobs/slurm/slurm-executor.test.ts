/**
 * Runs on a real Slurm (the one-node cluster of scripts/slurm-local.sh): tiny pretrainings submitted
 * through slurmrestd's REST API run the BUILT CLI on the node (dist/app/cli.mjs slurm-node) and every
 * metric they write reaches the store through the supervisor; a pause on the checkpoint signal
 * resumes (a new job) to a complete history; a job `scontrol requeue`d mid-run records no step twice,
 * and when a requeued attempt cannot start the run is resubmitted from its checkpoint; a preemption's
 * signal resubmits it too; two runs fan out as two jobs at once. Prints the latency from a metric
 * line written on the node to its row committed in the store.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
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
import { removeTempDir, tempDir } from '../../temp-dir';

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
  home = tempDir('selfemd-slurm-home-');
  // The shared folder: slurmrestd's local auth runs jobs as `nobody`, who must write there.
  shared = tempDir('selfemd-slurm-shared-');
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
      // Never resubmitted on its own: the time-limit test sees the bound (a resubmission costs a minute).
      if (name === SHORT) return { ...settings, name: SHORT, timeLimitMinutes: 1, maxResubmits: 0 };
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
  removeTempDir(home);
  removeTempDir(shared);
});

/** The loss history's steps as the store holds them. */
const lossSteps = (runId: string) =>
  (store.getMetrics(runId, [TREND_LOSS_KEY])[0]?.points ?? []).map((p) => p.step);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

const SLURM_ENV = { ...process.env, SLURM_CONF };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The run's log lines as the supervisor emitted them. */
const logsOf = (runId: string) =>
  events.filter((e) => e.type === 'log' && e.runId === runId).map((e) => (e as { message: string }).message);
const statusesOf = (runId: string) =>
  events.flatMap((e) => (e.type === 'status' && e.run.id === runId ? [e.run.status] : []));

/**
 * `scontrol requeue`s the job and lets it start again at once, after `update` (scontrol update
 * fields). Slurm holds a requeued job 121 s (BeginTime) because slurmd refuses an attempt launched
 * within the second of the requeue (the credential revoked then covers it: "Job N already killed, do
 * not launch batch job", the job FAILED with exit code 1). Started sooner, but in a later second.
 */
async function requeueAndRelease(runId: string, jobId: string, update: string[] = []): Promise<void> {
  execFileSync('scontrol', ['requeue', jobId], { env: SLURM_ENV });
  const requeuedAt = Date.now();
  // Held (BeginTime) until the supervisor has shown the run queued.
  for (let i = 0; i < 100 && store.getRun(runId).status !== 'queued'; i++) await sleep(100);
  while (Math.floor(Date.now() / 1000) <= Math.floor(requeuedAt / 1000)) await sleep(50);
  if (update.length) execFileSync('scontrol', ['update', `JobId=${jobId}`, ...update], { env: SLURM_ENV });
  execFileSync('scontrol', ['update', `JobId=${jobId}`, 'StartTime=now'], { env: SLURM_ENV });
}

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
    const run = manager.startPretrain(tiny(6), { name: 'pause on slurm', on: CLUSTER });
    await whenCheckpoint(run.id, 3);
    const firstJob = store.getExecution(run.id)!.jobId;
    const paused = await manager.pause(run.id);
    expect(paused.status).toBe('paused');
    expect(paused.step).toBeLessThan(12);
    const steps = lossSteps(run.id);
    expect(steps).toEqual(range(steps.length));
    manager.resume(run.id);
    const done = await manager.wait(run.id);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'completed', step: 12, totalSteps: 12 });
    expect(store.getExecution(run.id)!.jobId).not.toBe(firstJob);
    expect(lossSteps(run.id)).toEqual(range(12));
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

  it('a job requeued mid-run (scontrol requeue) resumes from its checkpoint; a requeued attempt that cannot start is resubmitted; no step is recorded twice', async (ctx) => {
    if (!socket) return ctx.skip();
    const run = manager.startPretrain(tiny(12), { name: 'requeue on slurm', on: CLUSTER });
    await whenCheckpoint(run.id, 3);
    const jobId = store.getExecution(run.id)!.jobId!;
    await requeueAndRelease(run.id, jobId);
    // The requeued attempt (restart 1) trains on from its checkpoint.
    const afterRequeue = store.lastCheckpoint(run.id)!.step;
    await whenCheckpoint(run.id, afterRequeue + 3);
    // Requeued again, its next attempt cannot start: its output file cannot be opened (slurmd: "IO
    // setup failed", FAILED, JobLaunchFailure), as the CI run's was refused ("already killed", FAILED,
    // exit code 1). Not the run's failure: the executor resubmits it from its checkpoint.
    await requeueAndRelease(run.id, jobId, ['StdOut=/proc/selfemd-no-such-folder/slurm.out']);
    const done = await manager.wait(run.id);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'completed', step: 24, totalSteps: 24 });
    const execution = store.getExecution(run.id)!;
    expect(execution.jobId).not.toBe(jobId);
    expect(execution.resubmits).toBe(1);
    expect(lossSteps(run.id)).toEqual(range(24));
    const logs = logsOf(run.id);
    expect(
      logs.some((m) =>
        new RegExp(
          `^Slurm job ${jobId} FAILED \\(JobLaunchFailure\\), exit code \\d+: its attempt after requeue 2 did not start on the node; resubmitted as Slurm job ${execution.jobId} \\(resubmission 1 of at most 3\\), continuing from the checkpoint at step \\d+`,
        ).test(m),
      ),
    ).toBe(true);
    // While requeued (BeginTime) the run was queued, then running again.
    expect(logs).toContain(`queued on ${CLUSTER}: BeginTime`);
    const statuses = statusesOf(run.id);
    expect(statuses.indexOf('queued')).toBeGreaterThan(statuses.indexOf('running'));
    expect(statuses.at(-1)).toBe('completed');
    const lines = readEvents(execution.eventsFile, 0).lines.map((l) => l.message);
    for (const attempt of [
      `Slurm job ${jobId} \\(restart 1\\)`,
      `Slurm job ${execution.jobId} \\(restart 0\\)`,
    ])
      expect(
        lines.some(
          (m) =>
            m.type === 'log' &&
            new RegExp(`^${attempt} on .*resuming from the checkpoint at step`).test(m.message),
        ),
      ).toBe(true);
    // The file holds every attempt; the store holds each step once.
    const written = lines.flatMap((m) =>
      m.type === 'metrics' ? m.points.filter((p) => p.key === TREND_LOSS_KEY) : [],
    );
    expect(written.length).toBeGreaterThanOrEqual(24);
    expect(new Set(written.map((p) => p.step)).size).toBe(24);
  }, 240_000);

  it("a preemption (Slurm's checkpoint signal, not the studio's pause) resubmits the run from its checkpoint", async (ctx) => {
    if (!socket) return ctx.skip();
    const run = manager.startPretrain(tiny(5), { name: 'preempted on slurm', on: CLUSTER });
    await whenCheckpoint(run.id, 2);
    const jobId = store.getExecution(run.id)!.jobId!;
    // What a preemption with a grace time (or the time limit's --signal) sends every step of the job.
    execFileSync('scancel', [`--signal=USR2`, jobId], { env: SLURM_ENV });
    const done = await manager.wait(run.id);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'completed', step: 10, totalSteps: 10 });
    const execution = store.getExecution(run.id)!;
    expect(execution.jobId).not.toBe(jobId);
    expect(execution.resubmits).toBe(1);
    expect(lossSteps(run.id)).toEqual(range(10));
    expect(
      logsOf(run.id).some((m) =>
        new RegExp(
          `^Slurm job ${jobId} COMPLETED after checkpointing on Slurm's signal \\(its time limit or a preemption\\); resubmitted as Slurm job ${execution.jobId} \\(resubmission 1 of at most 3\\)`,
        ).test(m),
      ),
    ).toBe(true);
  }, 150_000);

  it('fans two runs (a two-arm smoke) out as two jobs that run at once', async (ctx) => {
    if (!socket) return ctx.skip();
    const a = manager.startPretrain(tiny(2), { name: 'arm byol', on: CLUSTER });
    const b = manager.startPretrain({ ...tiny(2), method: 'byol' }, { name: 'arm self-emd', on: CLUSTER });
    const [da, db] = await Promise.all([manager.wait(a.id), manager.wait(b.id)]);
    expect([da.status, db.status]).toEqual(['completed', 'completed']);
    expect(lossSteps(a.id)).toEqual(range(4));
    expect(lossSteps(b.id)).toEqual(range(4));
    expect(store.getExecution(a.id)!.jobId).not.toBe(store.getExecution(b.id)!.jobId);
  }, 150_000);

  it('a supervisor that closes leaves its job running; the next follows it on from the recorded offset', async (ctx) => {
    if (!socket) return ctx.skip();
    // Supervisors of their own (one metrics writer per open store), on the same database file.
    const theirs = openStore(store.path);
    const first = new RunManager(theirs, managerOptions);
    const run = first.startPretrain(tiny(5), { name: 'outlives its supervisor', on: CLUSTER });
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
    expect(done).toMatchObject({ status: 'completed', step: 10, totalSteps: 10 });
    expect(lossSteps(run.id)).toEqual(range(10));
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
    // The cluster allows no resubmission: the log says so.
    expect(logsOf(run.id).some((m) => /; not resubmitted: .*\(maxResubmits 0\)$/.test(m))).toBe(true);
    const last = store.lastCheckpoint(run.id)!;
    console.log(`time limit: ${ended.error}; last checkpoint at step ${last.step}`);
    expect(last.step).toBeGreaterThan(0);
    expect(last.step).toBeLessThan(800);
    const steps = lossSteps(run.id);
    expect(steps.slice(0, last.step)).toEqual(range(last.step));
  }, 150_000);
});
