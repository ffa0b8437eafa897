/**
 * Drives a study on the one supervisor (RunManager): the SSL arms' pretrainings, then every arm ×
 * seed fine-tune (each evaluated on val at its end), then the probe of every arm × seed, then the
 * result. Each pretraining and fine-tune is an ordinary run linked to its slot in the study, so it has
 * its curves, pause and resume like any other. Driving again (after a pause, a kill, a closed app)
 * walks the same slots: a completed run is kept, a stopped one resumes from its last checkpoint, one
 * that never checkpointed starts again, a recorded probe is kept. Runs go one at a time: they share
 * the machine's cores.
 */
import * as path from 'node:path';
import { mergeDefaults } from '../../../shared/config/validation';
import {
  resolveFinetuneConfig,
  plannedFinetuneSteps,
  type FinetuneConfig,
} from '../../../shared/config/finetune';
import type { MachineDescription } from '../../../shared/config/run-defaults';
import type { StudyRequest } from '../../../shared/api/types';
import type { RunRecord, StudyRecord, StudyRole } from '../../../shared/dto';
import type { ExperimentStore } from '../../store';
import type { ProbeJobResult } from '../protocol';
import type { RunManager } from '../run-manager';
import { runEngineTask } from '../tasks';
import { resolveFinetuneInit, type FinetuneInitRequest } from '../service/new-finetune';
import type { WorkerSpawner } from '../worker-process';
import { computeStudyResult } from './study-result';
import { resolveStudyPlan, type PlannedArm, type StudyPlan } from './study-plan';

export type StudyLog = (studyId: string, message: string) => void;

export interface StudyRunnerOptions {
  home: string;
  /** What this machine trains with, when a study is planned (the studio's changes once its GPU probe answers). */
  machine: () => MachineDescription;
  spawner?: WorkerSpawner;
  log?: StudyLog;
}

/** Thrown inside a drive when a run did not complete: the study stops with that status. */
class StudyStop extends Error {
  constructor(
    readonly status: 'paused' | 'interrupted' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

export class StudyRunner {
  private readonly driving = new Map<string, Promise<StudyRecord>>();
  private readonly stopping = new Set<string>();

  constructor(
    private readonly store: ExperimentStore,
    private readonly manager: RunManager,
    private readonly options: StudyRunnerOptions,
  ) {}

  studyDir(studyId: string): string {
    return path.join(this.options.home, 'studies', studyId);
  }

  isLive(studyId: string): boolean {
    return this.driving.has(studyId);
  }

  /** Resolves the request (throws ConfigError naming bad fields), records the study and starts driving it. */
  async start(req: StudyRequest): Promise<StudyRecord> {
    const plan = await resolveStudyPlan(this.options.home, this.store, this.options.machine(), req);
    const study = this.store.createStudy({
      name: req.name?.trim() || `${plan.arms.map((a) => a.name).join(' vs ')} (${plan.budget})`,
      config: plan,
      arms: plan.arms.map((a) => a.name),
      seeds: plan.seeds.length,
      budget: plan.budget,
    });
    this.log(
      study.id,
      `study planned: ${plan.steps.pretrain} pretraining steps per SSL arm, ${plan.steps.finetune} fine-tune steps per arm × seed; SSL arms share every pretraining setting except their method fields`,
    );
    // a drive records its own failures in the study; a store that failed under it is all that could reject
    this.drive(study.id).catch(() => undefined);
    return study;
  }

  /** Continues a paused, interrupted or failed study with what is missing. */
  resume(studyId: string): StudyRecord {
    const study = this.store.getStudy(studyId);
    if (this.driving.has(studyId)) throw new Error(`study ${studyId} is already running`);
    if (study.status === 'completed')
      throw new Error(`study ${studyId} has completed; there is nothing to resume`);
    // `running` with no drive here: another process (a selfemd study) drives it; a dead one was marked interrupted
    if (study.status === 'running') throw new Error(`study ${studyId} is running in another process`);
    this.drive(studyId).catch(() => undefined);
    return this.store.getStudy(studyId);
  }

  /** Pauses the study's live run (at a checkpoint) and resolves when the study has stopped. */
  async pause(studyId: string): Promise<StudyRecord> {
    const driving = this.driving.get(studyId);
    if (!driving) return this.store.getStudy(studyId);
    this.stopping.add(studyId);
    for (const l of this.store.studyRuns(studyId))
      if (this.manager.isLive(l.runId)) await this.manager.pause(l.runId);
    return driving;
  }

  /** Resolves with the study's record when its drive in this process ends (at once if none). */
  wait(studyId: string): Promise<StudyRecord> {
    return this.driving.get(studyId) ?? Promise.resolve(this.store.getStudy(studyId));
  }

  /**
   * For closing the studio: every study stops at its next slot (its live run is paused by the
   * RunManager's own shutdown, which `pauseRuns` is); resolves when no drive is left, so the store can close.
   */
  async shutdown(pauseRuns: () => Promise<void>): Promise<void> {
    for (const id of this.driving.keys()) this.stopping.add(id);
    await pauseRuns();
    await Promise.allSettled([...this.driving.values()]);
  }

  /** Walks every slot; the promise is kept in `driving` until the study stops or completes. */
  private drive(studyId: string): Promise<StudyRecord> {
    const p = this.walk(studyId).finally(() => {
      this.driving.delete(studyId);
      this.stopping.delete(studyId);
    });
    this.driving.set(studyId, p);
    return p;
  }

  private async walk(studyId: string): Promise<StudyRecord> {
    this.store.setStudyStatus(studyId, 'running');
    const plan = this.store.getStudy(studyId).config as unknown as StudyPlan;
    try {
      const pretrained = new Map<string, RunRecord>();
      for (const arm of plan.arms)
        if (arm.kind === 'ssl')
          pretrained.set(arm.name, await this.ensureRun(studyId, plan, arm, 'pretrain', null));
      for (const s of plan.seeds.keys())
        for (const arm of plan.arms)
          await this.ensureRun(studyId, plan, arm, 'finetune', s, pretrained.get(arm.name));
      for (const s of plan.seeds.keys())
        for (const arm of plan.arms) await this.ensureProbe(studyId, plan, arm, s, pretrained.get(arm.name));
      const study = this.store.getStudy(studyId);
      const result = computeStudyResult(
        this.store,
        study,
        (runId) => this.manager.trainingDir(runId),
        this.studyDir(studyId),
      );
      this.store.setStudyResult(studyId, result);
      this.log(studyId, `study completed: ${result.files.markdown}`);
      return this.store.setStudyStatus(studyId, 'completed');
    } catch (e) {
      const stop = e instanceof StudyStop ? e : new StudyStop('failed', (e as Error).message);
      this.log(studyId, `study ${stop.status}: ${stop.message}`);
      return this.store.setStudyStatus(studyId, stop.status, stop.message);
    }
  }

  /** The slot's run, completed: kept if it is, resumed or (re)started otherwise, and awaited. */
  private async ensureRun(
    studyId: string,
    plan: StudyPlan,
    arm: PlannedArm,
    role: StudyRole,
    seed: number | null,
    parent?: RunRecord,
  ): Promise<RunRecord> {
    if (this.stopping.has(studyId)) throw new StudyStop('paused', 'paused');
    const slot = `${arm.name}${seed === null ? ' pretraining' : ` seed ${seed}`}`;
    const link = this.store
      .studyRuns(studyId)
      .find((l) => l.arm === arm.name && l.role === role && l.seed === seed);
    let run = link ? this.store.getRun(link.runId) : null;
    if (run?.status === 'completed') return run;
    this.store.setStudyStatus(studyId, 'running');
    if (run && this.manager.isLive(run.id)) {
      // already training under this supervisor
    } else if (run && run.status === 'running') {
      throw new StudyStop('failed', `${slot}: run ${run.id} is running in another process`);
    } else if (run && this.store.lastCheckpoint(run.id)) {
      this.log(studyId, `${slot}: resuming run ${run.id} from its last checkpoint`);
      this.manager.resume(run.id);
    } else {
      if (run) {
        this.log(studyId, `${slot}: run ${run.id} stopped before its first checkpoint; starting it again`);
        await this.manager.delete(run.id);
      }
      run =
        role === 'pretrain'
          ? this.startPretrain(studyId, plan, arm)
          : this.startFinetune(studyId, plan, arm, seed!, parent);
      this.store.linkStudyRun({ studyId, runId: run.id, arm: arm.name, role, seed });
      this.log(studyId, `${slot}: started run ${run.id}`);
    }
    const done = await this.manager.wait(run.id);
    if (done.status === 'completed') return done;
    if (done.status === 'paused') throw new StudyStop('paused', `${slot}: run ${done.id} paused`);
    if (done.status === 'interrupted')
      throw new StudyStop(
        'interrupted',
        `${slot}: run ${done.id} was interrupted (${done.error ?? 'killed'})`,
      );
    throw new StudyStop(
      'failed',
      `${slot}: run ${done.id} ${done.status}${done.error ? `: ${done.error}` : ''}`,
    );
  }

  private startPretrain(studyId: string, plan: StudyPlan, arm: PlannedArm): RunRecord {
    return this.manager.startPretrain(arm.pretrain, {
      name: `study ${studyId.slice(0, 8)} · ${arm.name}`,
      datasetId: plan.datasets.unlabeled,
      on: plan.on,
    });
  }

  /** The arm × seed fine-tune config: the shared one with the arm's init (resolved as the studio's form does). */
  private finetuneConfig(plan: StudyPlan, arm: PlannedArm, seed: number, parent?: RunRecord) {
    const request: FinetuneInitRequest =
      arm.kind === 'random'
        ? { init: 'random' }
        : arm.kind === 'file'
          ? { init: 'file', weightsPath: arm.path }
          : { init: 'parent', parentRunId: parent!.id };
    const issues: { path: string; message: string }[] = [];
    const init = resolveFinetuneInit(this.store, request, issues);
    if (issues.length)
      throw new Error(`${arm.name}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
    const config: FinetuneConfig = resolveFinetuneConfig(
      mergeDefaults(plan.finetune, { ...init.forced, seed: plan.seeds[seed] }),
    );
    return { config, init };
  }

  private startFinetune(
    studyId: string,
    plan: StudyPlan,
    arm: PlannedArm,
    seed: number,
    parent?: RunRecord,
  ): RunRecord {
    const { config, init } = this.finetuneConfig(plan, arm, seed, parent);
    const train = this.store.getDataset(plan.datasets.train);
    const trainImages = plan.data.train === 'demo' ? config.data.demoTrain : train.imageCount;
    return this.manager.startFinetune(config, {
      name: `study ${studyId.slice(0, 8)} · ${arm.name} · seed ${seed}`,
      datasetId: plan.datasets.val,
      trainDatasetId: plan.datasets.train,
      parentRunId: init.parent?.id ?? null,
      totalSteps: plannedFinetuneSteps(config, trainImages).totalSteps,
      on: plan.on,
    });
  }

  private async ensureProbe(
    studyId: string,
    plan: StudyPlan,
    arm: PlannedArm,
    seed: number,
    parent?: RunRecord,
  ): Promise<void> {
    if (this.stopping.has(studyId)) throw new StudyStop('paused', 'paused');
    if (this.store.studyProbes(studyId).some((p) => p.arm === arm.name && p.seed === seed)) return;
    const { config } = this.finetuneConfig(plan, arm, seed, parent);
    const r = await runEngineTask<ProbeJobResult>({ kind: 'probe', config }, this.options.spawner);
    this.store.addStudyProbe({
      studyId,
      arm: arm.name,
      seed,
      stats: { linearTop1: r.linearTop1, knnTop1: r.knnTop1, majorityTop1: r.majorityTop1 },
      boxes: { imageIds: r.imageIds, linearCorrect: r.linearCorrect },
    });
    this.log(
      studyId,
      `${arm.name} seed ${seed}: probe linear top-1 ${(100 * r.linearTop1).toFixed(1)} % (${r.seconds.toFixed(1)} s)`,
    );
  }

  private log(studyId: string, message: string): void {
    this.options.log?.(studyId, message);
  }
}
