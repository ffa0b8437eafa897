/**
 * Supervises training processes: creates the run record, has its executor start the worker (this
 * machine's engine process, or a job on a cluster: executor.ts), persists what it streams through the
 * one MetricsWriter, and turns its end (or its death) into a final status. The engine never sees the
 * store; the store never sees TF.js.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveFinetuneConfig } from '../../shared/config/finetune';
import { resolvePretrainConfig } from '../../shared/config/pretrain';
import { TREND_LOSS_KEY } from '../../shared/metrics/learning-trend';
import type { JsonObject, RunRecord } from '../../shared/dto';
import { DISK_FULL_ERROR_NAME } from '../engine/disk-write';
import { MetricsWriter, isDiskFull, type ExperimentStore } from '../store';
import { createFinetuneRun, recordFinetuneEvaluation } from './finetune-record';
import { gpuLine } from '../../shared/dto/gpu-adapter';
import { LearningWatch } from './learning-watch';
import { RunClaims } from './run-claim';
import { jobBackend, type EngineJob, type WorkerMessage } from './protocol';
import type { RunEvent, RunEventListener } from './run-events';
import { backendRecord, recordCheckpoint, recordMetrics } from './run-recorder';
import { nodeWorkerSpawner, type WorkerSpawner } from './worker-process';
import { isLocal, type ExecutionHandle, type ExecutorLaunch, type RunExecutor } from './executor';
import { Executors, type ClusterLookup } from './executors';
import type { SlurmExecutorOptions } from './slurm/slurm-executor';

export interface RunManagerOptions {
  /** Folder holding runs/<id>/ (checkpoints, exports). */
  home: string;
  spawner?: WorkerSpawner;
  /** Minimum ms between heartbeat/progress writes to the store. */
  heartbeatMs?: number;
  /**
   * What this supervisor is, as another one sharing the home names it when it refuses to touch a run
   * this one trains (`studio (desktop)`, `selfemd resume`; default `selfemd`).
   */
  holder?: string;
  /** The configured clusters runs may execute on (`on`); without it every run is local. */
  clusters?: ClusterLookup;
  /** Tuning of the Slurm executor (poll intervals; tests). */
  slurm?: SlurmExecutorOptions;
}

/** Where a new run executes: absent or 'local' = this machine, else a configured cluster's name. */
export interface ExecutionChoice {
  on?: string;
}

interface LiveRun {
  handle: ExecutionHandle;
  done: Promise<RunRecord>;
  /** Set once the worker said how it ended; otherwise its exit is a crash. */
  ended: boolean;
  lastHeartbeat: number;
}

export class RunManager {
  private readonly live = new Map<string, LiveRun>();
  private readonly listeners = new Set<RunEventListener>();
  private readonly writer: MetricsWriter;
  private readonly executors: Executors;
  /** Says once in a run's log when its loss has not fallen after a set share of its steps. */
  private readonly learning = new LearningWatch();
  /** Which supervisor of this home trains which run (several may share it). */
  readonly claims: RunClaims;

  constructor(
    readonly store: ExperimentStore,
    private readonly options: RunManagerOptions,
  ) {
    this.executors = new Executors(options.spawner ?? nodeWorkerSpawner, options.clusters, {
      store,
      slurm: options.slurm,
    });
    this.claims = new RunClaims(options.home, options.holder ?? 'selfemd', (fn) => store.exclusive(fn));
    this.writer = new MetricsWriter(store, {
      onFlush: (points) => {
        const byRun = new Map<string, (typeof points)[number][]>();
        for (const p of points) (byRun.get(p.runId) ?? byRun.set(p.runId, []).get(p.runId)!).push(p);
        for (const [runId, pts] of byRun) this.emit({ type: 'metrics', runId, points: pts });
      },
    });
    // A run left `running` by a crashed or closed app is shown as interrupted, with a resume button;
    // one another live supervisor of this home trains is left alone, however long its silence, and so
    // is one executing on a cluster: its job runs on without us (followRemoteRuns takes it up again).
    const held = (runId: string) =>
      this.claims.otherHolder(runId) !== null || this.store.getExecution(runId) !== null;
    for (const run of store.markInterruptedRuns({ held })) this.emit({ type: 'status', run });
  }

  on(listener: RunEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  runDir(runId: string): string {
    return path.join(this.options.home, 'runs', runId);
  }

  /**
   * The folder a run trains in: that of its last recorded checkpoint (<runDir>/checkpoints/step-…;
   * a CLI fine-tune keeps its own, named by --name / --out), else the default one.
   */
  trainingDir(runId: string): string {
    const last = this.store.lastCheckpoint(runId);
    return last ? path.dirname(path.dirname(last.path)) : this.runDir(runId);
  }

  isLive(runId: string): boolean {
    return this.live.has(runId);
  }

  /** Validates the config (throws ConfigError naming each bad field), records the run and starts it. */
  startPretrain(
    overrides: unknown,
    meta: { name?: string; datasetId?: number | null } & ExecutionChoice = {},
  ): RunRecord {
    const executor = this.executors.get(meta.on);
    const config = resolvePretrainConfig(overrides);
    const run = this.store.createRun({
      kind: 'pretrain',
      name: meta.name ?? `${config.method} ${config.backbone.name}`,
      method: config.method,
      backbone: config.backbone.name,
      datasetId: meta.datasetId ?? null,
      config: config as unknown as JsonObject,
    });
    this.launch(
      run.id,
      (runDir) => ({ kind: 'pretrain', runId: run.id, config, runDir, resume: false }),
      executor,
    );
    return this.store.getRun(run.id);
  }

  /**
   * Validates a fine-tune config (throws ConfigError naming each bad field), records the run — its
   * evaluations go against `datasetId`, its backbone came from `parentRunId` — and starts it.
   */
  startFinetune(
    overrides: unknown,
    meta: {
      name?: string;
      datasetId?: number | null;
      trainDatasetId?: number | null;
      parentRunId?: string | null;
      totalSteps?: number | null;
      /** Where its checkpoints go (default <home>/runs/<id>; the CLI's --name / --out choose their own). */
      runDir?: string;
    } & ExecutionChoice = {},
  ): RunRecord {
    const executor = this.executors.get(meta.on);
    if (meta.runDir && !isLocal(meta.on))
      throw new Error(
        `a fine-tune on cluster ${meta.on} keeps its checkpoints in the cluster's shared folder, not ${meta.runDir}`,
      );
    const config = resolveFinetuneConfig(overrides);
    const run = createFinetuneRun(this.store, {
      name: meta.name ?? `${config.detector} ${config.backbone.name}`,
      config,
      datasetId: meta.datasetId ?? null,
      trainDatasetId: meta.trainDatasetId ?? null,
      parentRunId: meta.parentRunId ?? null,
      totalSteps: meta.totalSteps,
    });
    this.launch(
      run.id,
      (runDir) => ({ kind: 'finetune', runId: run.id, config, runDir, resume: false }),
      executor,
      meta.runDir,
    );
    return this.store.getRun(run.id);
  }

  /** Continues a paused, interrupted, failed or cancelled run (pretraining or fine-tune) from its last checkpoint. */
  resume(runId: string): RunRecord {
    this.store.getRun(runId);
    if (this.live.has(runId)) throw new Error(`run ${runId} is already running`);
    // Before reading its record: once claimed, no other supervisor writes it.
    this.claims.claim(runId, 'resume');
    try {
      this.resumeClaimed(runId);
    } catch (e) {
      this.claims.release(runId);
      throw e;
    }
    return this.store.getRun(runId);
  }

  private resumeClaimed(runId: string): void {
    const run = this.store.getRun(runId);
    // A run still executing on a cluster (its supervisor closed or died) is followed again, not restarted.
    if ((run.status === 'running' || run.status === 'queued') && this.attach(runId)) return;
    if (run.status === 'completed') throw new Error(`run ${runId} has completed; there is nothing to resume`);
    const last = this.store.lastCheckpoint(runId);
    if (!last) throw new Error(`run ${runId} has no checkpoint to resume from; start a new run instead`);
    // From the checkpoint the record holds, not the newest on disk: metrics are complete up to it.
    // On the wasm thread count it started with: one thread multiplies with the engine's FMA GEMM, more
    // with XNNPACK's, whose roundings differ, so a count measured afresh would break bit-exact resumption.
    const threads = run.backend?.name === 'wasm' ? run.backend.threads : undefined;
    const resume = { resume: true, resumeStep: last.step, ...(threads ? { threads } : {}) };
    const runDir = this.trainingDir(runId);
    // Where it executed before: a cluster's run resumes there, from the checkpoint in its shared folder.
    const executor = this.executors.get(this.store.getExecution(runId)?.executor);
    if (run.kind === 'finetune') {
      const config = resolveFinetuneConfig(run.config);
      this.launch(
        runId,
        (dir) => ({ kind: 'finetune', runId, config, runDir: dir, ...resume }),
        executor,
        runDir,
      );
    } else {
      const config = resolvePretrainConfig(run.config);
      this.launch(
        runId,
        (dir) => ({ kind: 'pretrain', runId, config, runDir: dir, ...resume }),
        executor,
        runDir,
      );
    }
  }

  /**
   * Follows again every run left executing on a cluster by a supervisor that closed or died (none
   * other live holds it), from where the store's record of it stands; returns their ids. The app and
   * the server call it at start.
   */
  followRemoteRuns(): string[] {
    const followed: string[] = [];
    // Queued too: a job still waiting in the cluster's queue.
    for (const run of this.store.listRuns({ status: ['running', 'queued'] }))
      if (this.followUnfollowed(run.id)) followed.push(run.id);
    return followed;
  }

  /** Follows a running cluster run nobody follows (no other live supervisor holds it); false if none. */
  private followUnfollowed(runId: string): boolean {
    if (this.live.has(runId) || !this.store.getExecution(runId)) return false;
    const status = this.store.getRun(runId).status;
    if ((status !== 'running' && status !== 'queued') || this.claims.otherHolder(runId) !== null)
      return false;
    try {
      this.claims.claim(runId, 'follow');
      if (this.attach(runId)) return true;
      this.claims.release(runId);
    } catch (e) {
      this.claims.release(runId);
      this.emit({ type: 'log', runId, message: `cannot follow its job: ${(e as Error).message}` });
    }
    return false;
  }

  /** Takes up a claimed run's execution on a cluster; false when it has none to follow. */
  private attach(runId: string): boolean {
    const execution = this.store.getExecution(runId);
    if (!execution) return false;
    const executor = this.executors.get(execution.executor);
    const run = this.store.getRun(runId);
    const backend = (
      run.kind === 'finetune' ? resolveFinetuneConfig(run.config) : resolvePretrainConfig(run.config)
    ).backend;
    const handle = executor.attach?.(this.launchOf(runId, backend)) ?? null;
    if (!handle) return false;
    this.follow(runId, handle);
    this.emit({
      type: 'log',
      runId,
      message: `following its job on ${execution.executor} again (${execution.jobId})`,
    });
    return true;
  }

  private launchOf(runId: string, backend: ExecutorLaunch['backend']): ExecutorLaunch {
    return { runId, backend, commit: () => this.writer.flush() };
  }

  /** Asks the worker to checkpoint and stop; resolves when it has. */
  pause(runId: string): Promise<RunRecord> {
    return this.stop(runId, 'pause');
  }

  cancel(runId: string): Promise<RunRecord> {
    return this.stop(runId, 'cancel');
  }

  /** Resolves with the final record when the run's process has ended (immediately if none runs). */
  wait(runId: string): Promise<RunRecord> {
    return this.live.get(runId)?.done ?? Promise.resolve(this.store.getRun(runId));
  }

  async delete(runId: string): Promise<void> {
    this.claims.refuseIfHeld(runId, 'delete');
    if (this.live.has(runId)) await this.cancel(runId);
    this.store.deleteRun(runId);
    fs.rmSync(this.runDir(runId), { recursive: true, force: true });
  }

  /**
   * Stops every live run (pausing, so each can resume) and flushes metrics. A run on a cluster runs
   * on there, unfollowed: the next supervisor follows it again (followRemoteRuns, resume).
   */
  async shutdown(): Promise<void> {
    const stopping: Promise<unknown>[] = [];
    for (const [id, live] of this.live) {
      if (live.handle.detach) {
        live.handle.detach();
        this.live.delete(id);
        this.learning.forget(id);
        this.claims.release(id);
      } else stopping.push(this.pause(id));
    }
    await Promise.all(stopping);
    this.writer.close();
  }

  private stop(runId: string, mode: 'pause' | 'cancel'): Promise<RunRecord> {
    // A cluster job nobody follows runs on there: follow it, so the stop reaches it (scancel, the signal).
    this.followUnfollowed(runId);
    const live = this.live.get(runId);
    if (!live) {
      // Another supervisor's run: only it can stop its training process.
      this.claims.refuseIfHeld(runId, mode);
      const run = this.store.getRun(runId);
      if (mode === 'cancel' && run.status !== 'completed' && run.status !== 'cancelled') {
        const updated = this.store.updateRunStatus(runId, 'cancelled');
        this.emit({ type: 'status', run: updated });
        return Promise.resolve(updated);
      }
      return Promise.resolve(run);
    }
    live.handle.send({ type: 'stop', mode });
    return live.done;
  }

  private launch(
    runId: string,
    job: (runDir: string) => EngineJob,
    executor: RunExecutor,
    runDir = executor.runDir(runId, this.runDir(runId)),
  ): void {
    this.claims.claim(runId);
    let handle: ExecutionHandle;
    let start: EngineJob;
    try {
      fs.mkdirSync(runDir, { recursive: true });
      start = job(runDir);
      handle = executor.spawn(this.launchOf(runId, jobBackend(start)));
    } catch (e) {
      this.claims.release(runId);
      throw e;
    }
    this.follow(runId, handle);
    handle.send({ type: 'start', job: start });
  }

  /** Records what a run's worker streams, and its end, until it ends. */
  private follow(runId: string, handle: ExecutionHandle): void {
    // At once: a supervisor killed from here on leaves a claim that stays live while its worker runs.
    this.claims.setWorker(runId, handle.pid);
    let resolveDone!: (r: RunRecord) => void;
    const live: LiveRun = {
      handle,
      ended: false,
      lastHeartbeat: 0,
      done: new Promise((r) => (resolveDone = r)),
    };
    this.live.set(runId, live);
    const loss = this.store.getMetrics(runId, [TREND_LOSS_KEY])[0]?.points ?? [];
    this.learning.start(runId, loss, this.store.getRun(runId).totalSteps);
    this.setStatus(runId, 'running', { pid: handle.pid ?? null, error: null });

    handle.onMessage((m) => {
      try {
        this.handle(runId, live, m);
      } catch (e) {
        this.emit({ type: 'log', runId, message: `could not record ${m.type}: ${(e as Error).message}` });
        // The store's disk is full: training on would only pile up metrics that cannot be stored (the
        // writer keeps them and retries); pause at a checkpoint instead.
        if (isDiskFull(e) && !live.ended) {
          live.handle.send({ type: 'stop', mode: 'pause' });
          this.emit({
            type: 'log',
            runId,
            message: `pausing: the disk is full in ${path.dirname(this.store.path)} (the database); free some space there, then resume`,
          });
        }
      }
    });
    // A job waiting in a cluster's queue (at first, or requeued) shows as queued until it runs.
    handle.onQueued?.((reason) => {
      if (live.ended) return;
      this.setStatus(runId, reason === null ? 'running' : 'queued', { error: null });
      if (reason !== null)
        this.emit({
          type: 'log',
          runId,
          message: `queued on ${this.store.getExecution(runId)?.executor ?? 'its cluster'}: ${reason}`,
        });
    });
    handle.onExit((code, signal) => {
      this.live.delete(runId);
      this.learning.forget(runId);
      this.flushAtEnd(runId);
      if (!live.ended) {
        // Killed from outside (OOM killer, kill -9, a closed terminal): resumable from its last
        // checkpoint. A non-zero exit of its own is a failure.
        // A cluster's executor says in words what ended its job (Slurm's TIMEOUT, a node failure).
        if (signal)
          this.setStatus(runId, 'interrupted', {
            error: /^SIG[A-Z0-9]+$/.test(signal) ? `the training process was killed (${signal})` : signal,
            pid: null,
          });
        else
          this.setStatus(runId, 'failed', {
            error: `the training process exited with code ${code} before finishing`,
            pid: null,
          });
      }
      this.claims.release(runId);
      resolveDone(this.store.getRun(runId));
    });
  }

  private handle(runId: string, live: LiveRun, m: WorkerMessage): void {
    switch (m.type) {
      case 'backend':
        // A utilityProcess has its pid only once it runs: the claim names it from now on.
        this.claims.setWorker(runId, live.handle.pid);
        this.setStatus(runId, 'running', { backend: backendRecord(m.info) });
        this.emit({
          type: 'log',
          runId,
          message:
            `backend: ${m.info.choice} (TF.js ${m.info.version}, ${m.info.threads} thread(s))` +
            (m.info.gpu ? `, GPU ${gpuLine(m.info.gpu)}` : ''),
        });
        break;
      case 'dataset':
        this.emit({ type: 'log', runId, message: `${m.images} images, ${m.skipped.length} skipped` });
        break;
      case 'metrics':
        recordMetrics(this.writer, runId, m.points);
        this.learning.add(runId, m.points);
        break;
      case 'progress': {
        const now = Date.now();
        if (
          now - live.lastHeartbeat >= (this.options.heartbeatMs ?? 1000) ||
          m.progress.step === m.progress.totalSteps
        ) {
          live.lastHeartbeat = now;
          this.store.updateRunProgress(runId, { step: m.progress.step, totalSteps: m.progress.totalSteps });
          this.store.heartbeat(runId, live.handle.pid);
        }
        this.emit({ type: 'progress', runId, progress: m.progress });
        const notLearning = this.learning.check(runId, m.progress.step, m.progress.totalSteps);
        if (notLearning) this.emit({ type: 'log', runId, message: notLearning });
        break;
      }
      case 'checkpoint': {
        const checkpoint = recordCheckpoint(this.store, this.writer, runId, m);
        this.emit({ type: 'checkpoint', runId, checkpoint });
        break;
      }
      case 'log':
        this.emit({ type: 'log', runId, message: m.message });
        break;
      case 'evaluation': {
        const datasetId = this.store.getRun(runId).datasetId;
        if (datasetId === null) {
          this.emit({
            type: 'log',
            runId,
            message: 'evaluation not recorded: the run has no val dataset record',
          });
          break;
        }
        recordFinetuneEvaluation(this.store, { runId, datasetId, step: m.step, evaluation: m.evaluation });
        const ap = m.evaluation.stats[0];
        this.emit({
          type: 'log',
          runId,
          message: `evaluation at step ${m.step} recorded (COCO AP ${typeof ap === 'number' ? (100 * ap).toFixed(1) : '—'}, VOC AP50 ${(100 * m.evaluation.voc.mAP).toFixed(1)})`,
        });
        break;
      }
      case 'finished':
        live.ended = true;
        this.flushAtEnd(runId);
        this.store.updateRunProgress(runId, { step: m.result.step, totalSteps: m.result.totalSteps });
        this.setStatus(runId, m.result.status, { pid: null });
        break;
      case 'failed': {
        live.ended = true;
        this.flushAtEnd(runId);
        // A full disk is not the run's fault: it pauses (its last recorded checkpoint is intact, the
        // failed write left nothing behind) and resumes once space is freed.
        const diskFull = m.name === DISK_FULL_ERROR_NAME;
        this.setStatus(runId, diskFull ? 'paused' : 'failed', { error: m.message, pid: null });
        if (diskFull) this.emit({ type: 'log', runId, message: `paused: ${m.message}` });
        break;
      }
    }
  }

  /**
   * Commits the run's last metrics before its final status. A failure (a full disk) is said in the log
   * and must not keep the status from being recorded: the writer keeps the points and retries.
   */
  private flushAtEnd(runId: string): void {
    try {
      this.writer.flush();
    } catch (e) {
      this.emit({ type: 'log', runId, message: `could not record metrics: ${(e as Error).message}` });
    }
  }

  private setStatus(
    runId: string,
    status: RunRecord['status'],
    details: Parameters<ExperimentStore['updateRunStatus']>[2],
  ): void {
    const run = this.store.updateRunStatus(runId, status, details);
    this.emit({ type: 'status', run });
  }

  private emit(event: RunEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure (a closed socket) must not stop the run's bookkeeping.
      }
    }
  }
}
