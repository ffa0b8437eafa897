/**
 * The experiment store: one object the jobs layer, the app and the CLI hold. Every method is a named,
 * typed operation returning DTOs from shared/dto; no SQL leaves this folder. Writes announce the tables
 * they touched through onChange so live views can refresh.
 */
import type { SecretBox } from './secret-box';
import type { ArtifactKind, ArtifactRecord, NewArtifact } from '../../shared/dto/artifacts';
import type { StoreChange } from '../../shared/dto/changes';
import type { CheckpointRecord, NewCheckpoint } from '../../shared/dto/checkpoints';
import type { RunsComparison } from '../../shared/dto/compare';
import type { DatasetRecord, NewDataset } from '../../shared/dto/datasets';
import type { EvaluationRecord, NewEvaluation } from '../../shared/dto/evaluations';
import type { MetricInput, MetricQuery, MetricSample, MetricSeries } from '../../shared/dto/metrics';
import type {
  NewRun,
  RunFilter,
  RunProgress,
  RunRecord,
  RunStatus,
  RunStatusDetails,
} from '../../shared/dto/runs';
import type Database from 'better-sqlite3';
import type { StoreContext } from './context';
import { ArtifactRepository } from './repositories/artifacts';
import { ClusterRepository, type ClusterInput } from './repositories/clusters';
import { CheckpointRepository } from './repositories/checkpoints';
import { compareRuns } from './repositories/compare';
import { DatasetRepository } from './repositories/datasets';
import { EvaluationRepository } from './repositories/evaluations';
import {
  ExecutionRepository,
  type ExecutionUpdate,
  type StoredRunExecution,
} from './repositories/executions';
import { MetricRepository } from './repositories/metrics';
import { RunRepository, type MarkInterruptedOptions } from './repositories/runs';
import { StudyRepository } from './repositories/studies';
import type {
  NewStudy,
  StudyProbeRecord,
  StudyRecord,
  StudyRunLink,
  StudyStatus,
} from '../../shared/dto/studies';
import type { SlurmClusterSettings, SlurmClusterSummary } from '../../shared/dto/clusters';

export type { MarkInterruptedOptions, ClusterInput, ExecutionUpdate, StoredRunExecution };
export type ChangeListener = (change: StoreChange) => void;

export interface ConnectionInfo {
  path: string;
  schemaVersion: number;
  sqliteVersion: string;
  journalMode: string;
  synchronous: string;
  foreignKeys: boolean;
  busyTimeoutMs: number;
}

const SYNCHRONOUS = ['off', 'normal', 'full', 'extra'];

export class ExperimentStore {
  private readonly listeners = new Set<ChangeListener>();
  private readonly datasets: DatasetRepository;
  private readonly runs: RunRepository;
  private readonly metrics: MetricRepository;
  private readonly checkpoints: CheckpointRepository;
  private readonly artifacts: ArtifactRepository;
  private readonly evaluations: EvaluationRepository;
  private readonly studies: StudyRepository;
  private readonly clusters: ClusterRepository;
  private readonly executions: ExecutionRepository;

  /** Use openStore(); this takes an open, migrated connection. */
  constructor(
    private readonly db: Database.Database,
    /** The file given to openStore (or `:memory:`). */
    readonly path: string,
    /** Schema version after migrating. */
    readonly schemaVersion: number,
    now: () => number = Date.now,
    secrets?: SecretBox,
  ) {
    const ctx: StoreContext = { db, now, emit: (change) => this.announce(change) };
    this.datasets = new DatasetRepository(ctx);
    this.runs = new RunRepository(ctx);
    this.metrics = new MetricRepository(ctx, this.runs);
    this.checkpoints = new CheckpointRepository(ctx, this.runs);
    this.artifacts = new ArtifactRepository(ctx, this.runs);
    this.evaluations = new EvaluationRepository(ctx, this.runs);
    this.studies = new StudyRepository(ctx, this.runs);
    this.clusters = new ClusterRepository(ctx, path, secrets);
    this.executions = new ExecutionRepository(ctx, this.runs);
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /** The connection's settings, for diagnostics (an about box, `selfemd doctor`) and tests. */
  connectionInfo(): ConnectionInfo {
    const pragma = (name: string): unknown => this.db.pragma(name, { simple: true });
    return {
      path: this.path,
      schemaVersion: this.schemaVersion,
      sqliteVersion: (this.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v,
      journalMode: String(pragma('journal_mode')),
      synchronous: SYNCHRONOUS[pragma('synchronous') as number] ?? String(pragma('synchronous')),
      foreignKeys: pragma('foreign_keys') === 1,
      busyTimeoutMs: pragma('busy_timeout') as number,
    };
  }

  /** Closing checkpoints the WAL into the main file. */
  close(): void {
    if (this.db.open) this.db.close();
    this.listeners.clear();
  }

  /** Called after each committed write; returns the unsubscribe function. A throwing listener is isolated. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private announce(change: StoreChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // A broken view must not turn a committed write into a reported failure.
      }
    }
  }

  // datasets
  createDataset(input: NewDataset): DatasetRecord {
    return this.datasets.create(input);
  }
  getDataset(id: number): DatasetRecord {
    return this.datasets.get(id);
  }
  listDatasets(): DatasetRecord[] {
    return this.datasets.list();
  }
  /** Refused (conflict) while runs or evaluations refer to it. */
  deleteDataset(id: number): void {
    this.datasets.delete(id);
  }

  // runs
  /** New runs start `queued`. */
  createRun(input: NewRun): RunRecord {
    return this.runs.create(input);
  }
  getRun(id: string): RunRecord {
    return this.runs.get(id);
  }
  hasRun(id: string): boolean {
    return this.runs.has(id);
  }
  /** Newest first. */
  listRuns(filter?: RunFilter): RunRecord[] {
    return this.runs.list(filter);
  }
  /** Follows RUN_STATUS_TRANSITIONS; throws conflict for other moves. */
  updateRunStatus(id: string, status: RunStatus, details?: RunStatusDetails): RunRecord {
    return this.runs.updateStatus(id, status, details);
  }
  /** Also refreshes the heartbeat. */
  updateRunProgress(id: string, progress: RunProgress): void {
    this.runs.updateProgress(id, progress);
  }
  heartbeat(id: string, pid?: number): void {
    this.runs.heartbeat(id, pid);
  }
  /** Records the message and moves the run to `failed`. */
  setRunError(id: string, message: string): RunRecord {
    return this.runs.setError(id, message);
  }
  /** Cascades to metrics, checkpoints, artifacts and evaluations; refused while the run is `running`. */
  deleteRun(id: string): void {
    this.runs.delete(id);
  }
  /**
   * Runs `fn` holding the database's write lock (an immediate transaction): every connection to this
   * file, in any process, waits for it (busy timeout). What `fn` does outside the database (a file)
   * is thereby serialised too. The OS drops the lock if the process dies.
   */
  exclusive<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Records that a run executes on a cluster, its messages in `eventsFile` (kept when sent there again). */
  beginExecution(runId: string, executor: string, eventsFile: string): StoredRunExecution {
    return this.executions.begin(runId, executor, eventsFile);
  }
  /** Where a run executes when not on this machine (null for a local run). */
  getExecution(runId: string): StoredRunExecution | null {
    return this.executions.get(runId);
  }
  /** The scheduler's job id, state and reason, and how far its events have been taken in. */
  updateExecution(runId: string, change: ExecutionUpdate): StoredRunExecution {
    return this.executions.update(runId, change);
  }

  /** For startup: runs left `running` by a dead or silent process become `interrupted`. */
  markInterruptedRuns(opts?: MarkInterruptedOptions): RunRecord[] {
    return this.runs.markInterrupted(opts);
  }

  // metrics
  /** All points in one transaction; returns the number written. */
  appendMetrics(points: readonly MetricInput[]): number {
    return this.metrics.append(points);
  }
  getMetrics(runId: string, keys?: readonly string[], query?: MetricQuery): MetricSeries[] {
    return this.metrics.get(runId, keys, query);
  }
  metricKeys(runId: string): string[] {
    return this.metrics.keys(runId);
  }
  latestMetrics(runId: string): Record<string, MetricSample> {
    return this.metrics.latest(runId);
  }

  // checkpoints
  addCheckpoint(input: NewCheckpoint): CheckpointRecord {
    return this.checkpoints.add(input);
  }
  /** Ascending by step. */
  listCheckpoints(runId: string): CheckpointRecord[] {
    return this.checkpoints.list(runId);
  }
  lastCheckpoint(runId: string): CheckpointRecord | null {
    return this.checkpoints.last(runId);
  }
  removeCheckpoint(runId: string, step: number): void {
    this.checkpoints.remove(runId, step);
  }

  // artifacts
  addArtifact(input: NewArtifact): ArtifactRecord {
    return this.artifacts.add(input);
  }
  listArtifacts(runId: string, kind?: ArtifactKind): ArtifactRecord[] {
    return this.artifacts.list(runId, kind);
  }

  // evaluations
  addEvaluation(input: NewEvaluation): EvaluationRecord {
    return this.evaluations.add(input);
  }
  listEvaluations(runId: string): EvaluationRecord[] {
    return this.evaluations.list(runId);
  }

  // studies
  createStudy(input: NewStudy): StudyRecord {
    return this.studies.create(input);
  }
  getStudy(id: string): StudyRecord {
    return this.studies.get(id);
  }
  /** Newest first. */
  listStudies(): StudyRecord[] {
    return this.studies.list();
  }
  setStudyStatus(id: string, status: StudyStatus, error: string | null = null): StudyRecord {
    return this.studies.setStatus(id, status, error);
  }
  setStudyResult(id: string, result: object): StudyRecord {
    return this.studies.setResult(id, result);
  }
  /** Keeps the study's runs. */
  deleteStudy(id: string): void {
    this.studies.delete(id);
  }
  linkStudyRun(link: StudyRunLink): void {
    this.studies.link(link);
  }
  studyRuns(studyId: string): StudyRunLink[] {
    return this.studies.links(studyId);
  }
  addStudyProbe(probe: Omit<StudyProbeRecord, 'createdAt'>): void {
    this.studies.addProbe(probe);
  }
  studyProbes(studyId: string): StudyProbeRecord[] {
    return this.studies.probes(studyId);
  }
  /** For startup, after markInterruptedRuns: running studies with no running run become interrupted. */
  markInterruptedStudies(): StudyRecord[] {
    return this.studies.markInterrupted();
  }

  // compare
  /** The runs in the order asked (duplicates dropped), read from one snapshot; unknown ids are named together. */
  getRunsForCompare(ids: readonly string[]): RunsComparison {
    const repos = {
      runs: this.runs,
      metrics: this.metrics,
      checkpoints: this.checkpoints,
      evaluations: this.evaluations,
    };
    const read = this.db.transaction(() => compareRuns(ids, repos));
    return read.deferred();
  }

  // clusters
  /** Adds or replaces a Slurm cluster; `token` left out keeps the stored one, null or '' removes it. */
  saveCluster(input: ClusterInput): SlurmClusterSummary {
    return this.clusters.save(input);
  }
  /** By name; summaries say whether a token is stored, never what it is. */
  listClusters(): SlurmClusterSummary[] {
    return this.clusters.list();
  }
  hasCluster(name: string): boolean {
    return this.clusters.has(name);
  }
  getCluster(name: string): SlurmClusterSummary {
    return this.clusters.summary(name);
  }
  /** With the token: for the executor and the connection test on this side only. */
  clusterSettings(name: string): SlurmClusterSettings {
    return this.clusters.settings(name);
  }
  removeCluster(name: string): void {
    this.clusters.remove(name);
  }
}
