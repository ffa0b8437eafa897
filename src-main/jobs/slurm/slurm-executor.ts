/**
 * The Slurm executor: a run becomes a batch job on a cluster reached through slurmrestd. The job runs
 * the studio's built CLI on a node (`<nodeCommand> slurm-node RUN_DIR`, node-runner.ts), which appends
 * the engine worker's messages to RUN_DIR/events.jsonl in the shared folder. The handle follows the
 * job through the REST API and delivers those lines, in order, to the supervisor, moving the run's
 * ingest offset (store: run_executions) once the supervisor has committed them; a supervisor that
 * restarts attaches from that offset. Lines a crash delivered but did not mark are delivered again:
 * metrics and checkpoints are keyed by step in the store, so taking one twice records it once.
 *
 * Scheduler facts mapped to the run: PENDING is the run queued, with Slurm's reason in its execution
 * record and log; pause = the checkpoint signal (the worker checkpoints and stops), cancel = scancel;
 * a job that checkpointed on the signal before its time limit (or a preemption) without being asked
 * to, or ended TIMEOUT / NODE_FAIL / PREEMPTED / BOOT_FAIL / DEADLINE, is interrupted: resume
 * resubmits it from its last recorded checkpoint. A requeued job is the same job run again: its node
 * runner continues from the last checkpoint of its events, and the handle follows on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLUSTER_DEFAULTS } from '../../../shared/config/cluster';
import type { SlurmClusterSettings } from '../../../shared/dto/clusters';
import type { ExperimentStore } from '../../store';
import type { ExecutionHandle, ExecutorLaunch, RunExecutor } from '../executor';
import type { EngineJob, SupervisorMessage, WorkerMessage } from '../protocol';
import { eventsPath, jobPath, readEvents } from './events-file';
import { CHECKPOINT_SIGNAL, ENDED_STATES, attemptOf, describeJob, jobOutcome } from './job-outcome';
import { SlurmRestClient, SlurmRestError, type SlurmJobInfo } from './slurm-rest';

export interface SlurmExecutorOptions {
  /** How often the job's state is asked for (ms). */
  pollMs?: number;
  /** How often the events file is read for new lines (ms; default 100: a stat, and a read when it grew). */
  tailMs?: number;
  /** Seconds before its time limit that a job is sent the checkpoint signal. */
  signalSeconds?: number;
  /** Extra environment for the job (e.g. SELFEMD_WASM_THREADS). */
  env?: Record<string, string>;
}

/** A single-quoted word for the batch script's sh. */
const shellWord = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class SlurmExecutor implements RunExecutor {
  readonly name: string;
  private readonly client: SlurmRestClient;

  constructor(
    private readonly settings: SlurmClusterSettings,
    private readonly store: ExperimentStore,
    private readonly options: SlurmExecutorOptions = {},
  ) {
    this.name = settings.name;
    this.client = new SlurmRestClient(settings);
  }

  runDir(runId: string): string {
    return path.join(this.settings.sharedFolder, 'runs', runId);
  }

  spawn(launch: ExecutorLaunch): ExecutionHandle {
    return new SlurmRunHandle(this.settings, this.client, this.store, launch, this.options, null);
  }

  attach(launch: ExecutorLaunch): ExecutionHandle | null {
    const execution = this.store.getExecution(launch.runId);
    if (!execution?.jobId || execution.executor !== this.name) return null;
    return new SlurmRunHandle(this.settings, this.client, this.store, launch, this.options, execution.jobId);
  }
}

class SlurmRunHandle implements ExecutionHandle {
  readonly pid = undefined;
  private readonly messageListeners: ((m: WorkerMessage) => void)[] = [];
  private exitListener: ((code: number | null, signal: string | null) => void) | null = null;
  private readonly runDir: string;
  private readonly eventsFile: string;
  private jobId: string | null;
  private lastJob: SlurmJobInfo | null = null;
  private requested: 'pause' | 'cancel' | null = null;
  /** The worker said how the run ended (finished, failed): delivered to the supervisor. */
  private ended = false;
  /** It checkpointed on Slurm's signal without being asked (time limit, preemption). */
  private selfPaused = false;
  /** The attempts (`jobId/restart`) whose node runner started: they wrote their first line. */
  private readonly startedAttempts = new Set<string>();
  /** Shown to the supervisor as queued (the job pending), until it runs. */
  private queued = false;
  private queueListener: ((reason: string | null) => void) | null = null;
  private exited = false;
  private followTimer: NodeJS.Timeout | null = null;
  private lastPoll = 0;
  private polling = false;
  private pollError: string | null = null;
  /** What the run last reported (for a cancel that ends the job before the worker can say so). */
  private progress = { step: 0, totalSteps: 0 };

  constructor(
    private readonly settings: SlurmClusterSettings,
    private readonly client: SlurmRestClient,
    private readonly store: ExperimentStore,
    private readonly launch: ExecutorLaunch,
    private readonly options: SlurmExecutorOptions,
    attachedJob: string | null,
  ) {
    this.runDir = path.join(settings.sharedFolder, 'runs', launch.runId);
    this.eventsFile = eventsPath(this.runDir);
    this.jobId = attachedJob;
    const run = store.getRun(launch.runId);
    this.progress = { step: run.step ?? 0, totalSteps: run.totalSteps ?? 0 };
    if (attachedJob) {
      this.noteStartedAttempts();
      // Once the supervisor listens (it registers right after this returns).
      setImmediate(() => this.follow());
    }
  }

  send(message: SupervisorMessage): void {
    if (message.type === 'start') {
      this.submit(message.job).catch((e: unknown) => this.fail(e));
      return;
    }
    this.requested = message.mode;
    if (this.jobId) this.stopJob();
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (code: number | null, signal: string | null) => void): void {
    this.exitListener = listener;
  }

  onQueued(listener: (reason: string | null) => void): void {
    this.queueListener = listener;
  }

  /** Cancels the job outright (scancel). */
  kill(): void {
    if (this.jobId) void this.client.cancel(this.jobId).catch(() => undefined);
  }

  detach(): void {
    if (this.followTimer) clearTimeout(this.followTimer);
    this.followTimer = null;
    this.exited = true;
  }

  private async submit(job: EngineJob): Promise<void> {
    if (job.kind !== 'pretrain' && job.kind !== 'finetune')
      throw new Error(`cluster ${this.settings.name} runs trainings only, not ${job.kind} jobs`);
    fs.mkdirSync(this.runDir, { recursive: true });
    // With slurmrestd's local auth (and on clusters where the job user is not this one) the job writes
    // as another user: it must be able to write the run's folder.
    fs.chmodSync(this.runDir, 0o777);
    fs.writeFileSync(jobPath(this.runDir), JSON.stringify({ ...job, runDir: this.runDir }, null, 1));
    this.store.beginExecution(this.launch.runId, this.settings.name, this.eventsFile);
    await this.submitJob();
    this.deliver({ type: 'log', message: `submitted to ${this.settings.name} as Slurm job ${this.jobId}` });
    // A stop asked for while submitting.
    if (this.requested) this.stopJob();
    this.follow();
  }

  /**
   * Sends the run's job.json out as a new batch job. Its node runner continues from the last
   * checkpoint the run's events name, so a resubmission needs nothing but the same script.
   */
  private async submitJob(): Promise<void> {
    const s = this.settings;
    const signalSeconds = this.options.signalSeconds ?? Math.min(120, Math.max(10, s.timeLimitMinutes * 6));
    this.jobId = await this.client.submit({
      script: this.batchScriptText(),
      name: `selfemd-${this.launch.runId.slice(0, 8)}`,
      currentWorkingDirectory: this.runDir,
      // Appended to, not truncated, by each attempt of a requeued job: an attempt's errors stay readable.
      standardOutput: path.join(this.runDir, 'slurm-%j.out'),
      openMode: 'append',
      environment: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: this.runDir,
        LANG: 'C.UTF-8',
        ...this.options.env,
      },
      partition: s.partition,
      account: s.account,
      timeLimitMinutes: s.timeLimitMinutes,
      cpusPerTask: s.cpusPerTask,
      memoryMb: s.memoryMb,
      gres: s.gres,
      signal: `${CHECKPOINT_SIGNAL}@${signalSeconds}`,
      requeue: true,
    });
    this.lastJob = null;
    this.lastPoll = 0;
    this.store.updateExecution(this.launch.runId, { jobId: this.jobId, state: 'PENDING', reason: null });
  }

  /**
   * After an end that was the scheduler's doing (a time limit, a preemption, a node failure, a requeued
   * attempt that could not start): the run goes out again as a new job, from its last checkpoint, at
   * most the cluster's maxResubmits times in a row; false when that bound is reached.
   */
  private async resubmit(why: string): Promise<boolean> {
    const max = this.settings.maxResubmits ?? CLUSTER_DEFAULTS.maxResubmits;
    const done = this.store.getExecution(this.launch.runId)?.resubmits ?? 0;
    if (done >= max) {
      this.deliver({
        type: 'log',
        message: `${why}; not resubmitted: it was resubmitted ${done} time(s) already, the most cluster ${this.settings.name} allows (maxResubmits ${max})`,
      });
      return false;
    }
    const last = this.store.lastCheckpoint(this.launch.runId);
    const previous = this.jobId;
    this.selfPaused = false;
    await this.submitJob();
    this.store.updateExecution(this.launch.runId, { resubmits: done + 1 });
    this.deliver({
      type: 'log',
      message: `${why}; resubmitted as Slurm job ${this.jobId} (resubmission ${done + 1} of at most ${max}), continuing from ${last ? `the checkpoint at step ${last.step}` : 'the start: no checkpoint yet'} (job ${previous} is over)`,
    });
    if (this.requested) this.stopJob();
    return true;
  }

  /** The batch script: the node command under srun, so the job's signals reach it (v0.0.38 refuses `B:`). */
  private batchScriptText(): string {
    return [
      '#!/bin/sh',
      `# Self-EMD Studio: run ${this.launch.runId} on cluster ${this.settings.name}`,
      `exec srun --ntasks=1 ${this.settings.nodeCommand} slurm-node ${shellWord(this.runDir)}`,
      '',
    ].join('\n');
  }

  private stopJob(): void {
    const id = this.jobId!;
    // Not yet seen running (just submitted or resubmitted) counts as pending: a signal would not reach it.
    const pending = !this.lastJob || this.lastJob.state === 'PENDING';
    // A running job checkpoints on the signal and stops; a pending one (or a cancel) is just cancelled.
    const signal = this.requested === 'pause' && !pending ? CHECKPOINT_SIGNAL : undefined;
    this.client
      .cancel(id, signal)
      .catch((e: unknown) =>
        this.deliver({ type: 'log', message: `could not stop Slurm job ${id}: ${(e as Error).message}` }),
      );
  }

  private follow(): void {
    const tick = async () => {
      this.followTimer = null;
      if (this.exited) return;
      try {
        const done = await this.step();
        if (done) return;
      } catch (e) {
        this.fail(e);
        return;
      }
      if (!this.exited) this.followTimer = setTimeout(() => void tick(), this.options.tailMs ?? 100);
    };
    void tick();
  }

  /** Takes in new lines, and now and then the job's state; true once the run's execution is over. */
  private async step(): Promise<boolean> {
    this.ingest();
    const now = Date.now();
    if (this.polling || now - this.lastPoll < (this.options.pollMs ?? 2000)) return false;
    this.lastPoll = now;
    this.polling = true;
    let job: SlurmJobInfo;
    try {
      job = await this.client.job(this.jobId!);
      if (this.pollError) this.deliver({ type: 'log', message: `slurmrestd answers again` });
      this.pollError = null;
    } catch (e) {
      const message = (e as Error).message;
      // Slurm forgets a job some time after it ended (MinJobAge): what its events say is all there is.
      if (e instanceof SlurmRestError && /Invalid job id|Unable to find/i.test(message)) {
        this.ingest();
        return this.end({
          jobId: this.jobId!,
          state: 'UNKNOWN',
          reason: 'no longer known to Slurm',
          exitCode: null,
          restartCount: 0,
          startTime: 0,
          endTime: 0,
        });
      }
      // slurmrestd down or unreachable: the job runs on regardless; say so once and keep asking.
      if (this.pollError !== message)
        this.deliver({ type: 'log', message: `cannot follow Slurm job ${this.jobId}: ${message}` });
      this.pollError = message;
      return false;
    } finally {
      this.polling = false;
    }
    const before = this.lastJob;
    this.lastJob = job;
    if (!before || before.state !== job.state || before.reason !== job.reason) {
      this.store.updateExecution(this.launch.runId, { state: job.state, reason: job.reason });
      const why = job.reason && job.reason !== 'None' ? ` (${job.reason})` : '';
      const restarts = job.restartCount ? `, restart ${job.restartCount}` : '';
      this.deliver({ type: 'log', message: `Slurm job ${job.jobId}: ${job.state}${why}${restarts}` });
    }
    // Pending (at first, or requeued): the run is queued, with Slurm's reason, until an attempt runs.
    if (job.state === 'PENDING')
      this.showQueued(job.reason && job.reason !== 'None' ? job.reason : 'Priority');
    else if (!ENDED_STATES.has(job.state)) this.showRunning();
    if (!ENDED_STATES.has(job.state)) return false;
    // The job's last lines were written before Slurm saw it end.
    this.ingest();
    return this.end(job);
  }

  /**
   * Following again after a restart: which attempts started is in the lines taken before (up to the
   * recorded offset), not in what is delivered from here on.
   */
  private noteStartedAttempts(): void {
    const upTo = this.store.getExecution(this.launch.runId)?.ingestOffset ?? 0;
    for (let offset = 0; offset < upTo;) {
      const read = readEvents(this.eventsFile, offset);
      if (read.offset === offset) break;
      for (const { message: m } of read.lines) {
        const attempt = m.type === 'log' ? attemptOf(m.message) : null;
        if (attempt) this.startedAttempts.add(`${attempt.jobId}/${attempt.restart}`);
      }
      offset = read.offset;
    }
  }

  private showQueued(reason: string): void {
    if (this.queued || this.ended) return;
    this.queued = true;
    this.queueListener?.(reason);
  }

  private showRunning(): void {
    if (!this.queued) return;
    this.queued = false;
    this.queueListener?.(null);
  }

  /** Delivers the complete lines written since the recorded offset, then records the new offset. */
  private ingest(): void {
    const execution = this.store.getExecution(this.launch.runId);
    if (!execution) return;
    const { lines, offset } = readEvents(this.eventsFile, execution.ingestOffset);
    if (lines.length === 0) return;
    // An attempt wrote: it runs (the job's state may not have been polled since it started).
    this.showRunning();
    for (const { message } of lines) this.take(message);
    this.launch.commit();
    this.store.updateExecution(this.launch.runId, { ingestOffset: offset });
  }

  private take(m: WorkerMessage): void {
    if (m.type === 'log') {
      const attempt = attemptOf(m.message);
      if (attempt) {
        this.startedAttempts.add(`${attempt.jobId}/${attempt.restart}`);
        // A new attempt (a requeue) runs on: what an earlier one did on the signal is behind it.
        this.selfPaused = false;
      }
    }
    if (m.type === 'progress') this.progress = { step: m.progress.step, totalSteps: m.progress.totalSteps };
    if (m.type === 'finished' && m.result.status === 'paused' && this.requested !== 'pause') {
      // Slurm's signal before the time limit or a preemption: the job will end (or be requeued and
      // go on); only its end says which.
      this.selfPaused = true;
      this.deliver({ type: 'log', message: `checkpointed at step ${m.result.step} on Slurm's signal` });
      return;
    }
    if (m.type === 'finished' || m.type === 'failed') {
      // A requeued attempt after the run finished says nothing new.
      if (this.ended) return;
      this.ended = true;
      this.selfPaused = false;
    }
    this.deliver(m);
  }

  /** The job ended: says how to the supervisor, or sends the run out again; true once it is over. */
  private async end(job: SlurmJobInfo): Promise<boolean> {
    if (this.exited) return true;
    const outcome = jobOutcome(job, {
      ended: this.ended,
      requested: this.requested,
      selfPaused: this.selfPaused,
      lastAttemptStarted: this.startedAttempts.has(`${job.jobId}/${job.restartCount}`),
    });
    if (outcome.kind === 'interrupted' && outcome.resubmit)
      try {
        if (await this.resubmit(outcome.why)) return false;
      } catch (e) {
        // slurmrestd unreachable, the cluster refusing: the run stays resumable by hand.
        outcome.why += `; resubmitting failed: ${(e as Error).message}`;
      }
    this.exited = true;
    const listener = this.exitListener;
    switch (outcome.kind) {
      case 'reported':
        listener?.(0, null);
        break;
      case 'stopped':
        this.ended = true;
        this.deliver({
          type: 'finished',
          result: { status: outcome.status, ...this.progress, lastLoss: Number.NaN },
        });
        listener?.(0, null);
        break;
      case 'interrupted':
        listener?.(null, `${outcome.why}; resume continues from the last checkpoint`);
        break;
      case 'failed':
        this.deliver({
          type: 'log',
          message: `${describeJob(job)}: its output is in ${path.join(this.runDir, `slurm-${job.jobId}.out`)}`,
        });
        listener?.(outcome.code, null);
    }
    return true;
  }

  private fail(e: unknown): void {
    if (this.exited) return;
    const message = e instanceof Error ? e.message : String(e);
    this.ended = true;
    this.deliver({
      type: 'failed',
      name: e instanceof Error ? e.name : 'Error',
      message: `cluster ${this.settings.name}: ${message}`,
    });
    this.exited = true;
    if (this.jobId) this.kill();
    this.exitListener?.(1, null);
  }

  private deliver(m: WorkerMessage): void {
    for (const l of this.messageListeners) l(m);
  }
}
