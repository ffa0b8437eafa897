import { randomUUID } from 'node:crypto';
import { GPU_POWER_PREFERENCES, type GpuAdapterInfo } from '../../../shared/dto/gpu-adapter';
import type { JsonObject } from '../../../shared/dto/json';
import {
  RUN_KINDS,
  RUN_STATUSES,
  RUN_STATUS_TRANSITIONS,
  STOPPED_RUN_STATUSES,
  type BackendInfo,
  type NewRun,
  type RunFilter,
  type RunKind,
  type RunProgress,
  type RunRecord,
  type RunStatus,
  type RunStatusDetails,
} from '../../../shared/dto/runs';
import type { StoreContext } from '../context';
import { StoreError } from '../errors';
import { readJson, writeJson } from '../json-column';
import { isProcessAlive } from '../process-alive';
import { prepareStatements } from '../statements';
import { int, invalid, jsonObject, list, oneOf, optInt, optText, record, text } from '../validate';

const SQL = {
  insert: `INSERT INTO runs (id, kind, name, method, backbone, dataset_id, train_dataset_id, config, status, created_at, updated_at, total_steps, parent_run_id)
           VALUES (@id, @kind, @name, @method, @backbone, @datasetId, @trainDatasetId, @config, 'queued', @now, @now, @totalSteps, @parentRunId)
           RETURNING *`,
  byId: 'SELECT * FROM runs WHERE id = ?',
  exists: 'SELECT 1 FROM runs WHERE id = ?',
  datasetExists: 'SELECT 1 FROM datasets WHERE id = ?',
  // One statement serves every filter: a NULL parameter switches its condition off.
  list: `SELECT * FROM runs
         WHERE (@statuses IS NULL OR status IN (SELECT value FROM json_each(@statuses)))
           AND (@kind IS NULL OR kind = @kind)
           AND (@datasetId IS NULL OR dataset_id = @datasetId)
           AND (@parentRunId IS NULL OR parent_run_id = @parentRunId)
         ORDER BY created_at DESC, rowid DESC
         LIMIT @limit OFFSET @offset`,
  setStatus: `UPDATE runs SET status = @status, started_at = @startedAt, finished_at = @finishedAt, pid = @pid,
                backend = @backend, error = @error, updated_at = @now
              WHERE id = @id`,
  progress: `UPDATE runs SET step = @step, total_steps = coalesce(@totalSteps, total_steps),
               heartbeat_at = @now, updated_at = @now
             WHERE id = @id`,
  heartbeat: 'UPDATE runs SET heartbeat_at = @now, pid = coalesce(@pid, pid) WHERE id = @id',
  running: "SELECT * FROM runs WHERE status = 'running'",
  delete: 'DELETE FROM runs WHERE id = ?',
};

export interface RunRow {
  id: string;
  kind: string;
  name: string;
  method: string;
  backbone: string;
  dataset_id: number | null;
  train_dataset_id: number | null;
  config: string;
  backend: string | null;
  status: string;
  created_at: number;
  started_at: number | null;
  updated_at: number;
  finished_at: number | null;
  step: number;
  total_steps: number | null;
  error: string | null;
  parent_run_id: string | null;
  pid: number | null;
  heartbeat_at: number | null;
}

const toRecord = (r: RunRow): RunRecord => ({
  id: r.id,
  kind: r.kind as RunKind,
  name: r.name,
  method: r.method,
  backbone: r.backbone,
  datasetId: r.dataset_id,
  trainDatasetId: r.train_dataset_id,
  config: readJson<JsonObject>(r.config, 'run', 'config', r.id),
  backend: r.backend === null ? null : readJson<BackendInfo>(r.backend, 'run', 'backend', r.id),
  status: r.status as RunStatus,
  createdAt: r.created_at,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
  step: r.step,
  totalSteps: r.total_steps,
  error: r.error,
  parentRunId: r.parent_run_id,
  pid: r.pid,
  heartbeatAt: r.heartbeat_at,
});

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

function checkBackend(where: string, v: unknown): BackendInfo {
  const o = record(where, 'backend', v);
  const backend: BackendInfo = {
    name: text(where, 'backend.name', o.name),
    version: text(where, 'backend.version', o.version),
  };
  if (o.threads !== undefined) backend.threads = int(where, 'backend.threads', o.threads, 1);
  if (o.device !== undefined) backend.device = text(where, 'backend.device', o.device);
  if (o.adapter !== undefined) backend.adapter = checkAdapter(where, o.adapter);
  if (o.requested !== undefined) backend.requested = text(where, 'backend.requested', o.requested);
  if (o.gpuRequest !== undefined) {
    const r = record(where, 'backend.gpuRequest', o.gpuRequest);
    backend.gpuRequest = {
      name: optText(where, 'backend.gpuRequest.name', r.name),
      power: oneOf(where, 'backend.gpuRequest.power', r.power, GPU_POWER_PREFERENCES),
    };
  }
  if (o.notes !== undefined)
    backend.notes = list(where, 'backend.notes', o.notes).map((n, i) =>
      text(where, `backend.notes[${i}]`, n),
    );
  return backend;
}

function checkAdapter(where: string, v: unknown): GpuAdapterInfo {
  const o = record(where, 'backend.adapter', v);
  // Drivers may leave the device and description empty: those two may be ''.
  const maybeEmpty = (field: 'device' | 'description') => {
    if (typeof o[field] !== 'string')
      throw invalid(where, `backend.adapter.${field}`, 'must be a string', o[field]);
    return o[field];
  };
  if (typeof o.fallback !== 'boolean')
    throw invalid(where, 'backend.adapter.fallback', 'must be true or false', o.fallback);
  return {
    vendor: text(where, 'backend.adapter.vendor', o.vendor),
    architecture: text(where, 'backend.adapter.architecture', o.architecture),
    device: maybeEmpty('device'),
    description: maybeEmpty('description'),
    fallback: o.fallback,
    maxBufferSize: int(where, 'backend.adapter.maxBufferSize', o.maxBufferSize),
    maxStorageBufferBindingSize: int(
      where,
      'backend.adapter.maxStorageBufferBindingSize',
      o.maxStorageBufferBindingSize,
    ),
    powerPreference: oneOf(
      where,
      'backend.adapter.powerPreference',
      o.powerPreference,
      GPU_POWER_PREFERENCES,
    ),
  };
}

export interface MarkInterruptedOptions {
  /** A running run whose last heartbeat is older than this is taken as dead (default 60 000 ms). */
  staleAfterMs?: number;
  /** Injectable for tests; defaults to a signal-0 probe. */
  isAlive?: (pid: number) => boolean;
  /** Runs another live supervisor holds (jobs/run-claim.ts): left running whatever their heartbeat says. */
  held?: (runId: string) => boolean;
}

export class RunRepository {
  private readonly sql;

  constructor(private readonly ctx: StoreContext) {
    this.sql = prepareStatements(ctx.db, 'runs', SQL);
  }

  private changed(runIds: string[]): void {
    this.ctx.emit({ tables: ['runs'], runIds });
  }

  has(id: string): boolean {
    return typeof id === 'string' && this.sql.exists.get(id) !== undefined;
  }

  /** Throws not-found naming the caller; returns the row for callers that need it. */
  row(where: string, id: unknown, field = 'runId'): RunRow {
    const runId = text(where, field, id);
    const row = this.sql.byId.get(runId) as RunRow | undefined;
    if (!row)
      throw new StoreError('not-found', `${where}: run ${JSON.stringify(runId)} does not exist`, {
        unknownRunIds: [runId],
      });
    return row;
  }

  create(input: NewRun): RunRecord {
    const where = 'createRun';
    record(where, 'run', input);
    const id = input.id === undefined ? randomUUID() : text(where, 'id', input.id);
    if (!RUN_ID.test(id)) throw invalid(where, 'id', 'must be 1–64 letters, digits, - or _', id);
    const datasetId = optInt(where, 'datasetId', input.datasetId, 1);
    const trainDatasetId = optInt(where, 'trainDatasetId', input.trainDatasetId, 1);
    const parentRunId = optText(where, 'parentRunId', input.parentRunId);
    const params = {
      id,
      kind: oneOf(where, 'kind', input.kind, RUN_KINDS),
      name: text(where, 'name', input.name),
      method: text(where, 'method', input.method),
      backbone: text(where, 'backbone', input.backbone),
      datasetId,
      trainDatasetId,
      config: writeJson(jsonObject(where, 'config', input.config)),
      totalSteps: optInt(where, 'totalSteps', input.totalSteps),
      parentRunId,
      now: this.ctx.now(),
    };
    const insert = this.ctx.db.transaction(() => {
      for (const [field, id] of [
        ['dataset', datasetId],
        ['train dataset', trainDatasetId],
      ] as const)
        if (id !== null && this.sql.datasetExists.get(id) === undefined)
          throw new StoreError('not-found', `${where}: ${field} ${id} does not exist`);
      if (parentRunId !== null) this.row(where, parentRunId, 'parentRunId');
      if (this.sql.exists.get(id) !== undefined)
        throw new StoreError('conflict', `${where}: run ${JSON.stringify(id)} already exists`);
      return this.sql.insert.get(params) as RunRow;
    });
    const row = insert.immediate();
    this.changed([id]);
    return toRecord(row);
  }

  get(id: string): RunRecord {
    return toRecord(this.row('getRun', id, 'id'));
  }

  list(filter: RunFilter = {}): RunRecord[] {
    const where = 'listRuns';
    record(where, 'filter', filter);
    const statuses =
      filter.status === undefined
        ? null
        : (Array.isArray(filter.status) ? filter.status : [filter.status]).map((s, i) =>
            oneOf(where, Array.isArray(filter.status) ? `status[${i}]` : 'status', s, RUN_STATUSES),
          );
    const rows = this.sql.list.all({
      statuses: statuses === null ? null : JSON.stringify(statuses),
      kind: filter.kind === undefined ? null : oneOf(where, 'kind', filter.kind, RUN_KINDS),
      datasetId: optInt(where, 'datasetId', filter.datasetId, 1),
      parentRunId: optText(where, 'parentRunId', filter.parentRunId),
      limit: optInt(where, 'limit', filter.limit) ?? -1,
      offset: optInt(where, 'offset', filter.offset) ?? 0,
    }) as RunRow[];
    return rows.map(toRecord);
  }

  /**
   * Moves a run along RUN_STATUS_TRANSITIONS and keeps the timestamps honest: `startedAt` is set the first
   * time it runs, `finishedAt` on entering a stopped status (cleared on resume), the pid is forgotten once
   * the process is gone, and an old error is cleared when the run is queued or resumed.
   */
  updateStatus(id: string, status: RunStatus, details: RunStatusDetails = {}): RunRecord {
    const where = 'updateRunStatus';
    const next = oneOf(where, 'status', status, RUN_STATUSES);
    record(where, 'details', details);
    const pid = details.pid === undefined ? undefined : optInt(where, 'details.pid', details.pid, 1);
    const backend = details.backend === undefined ? undefined : checkBackend(where, details.backend);
    const error = details.error === undefined ? undefined : optText(where, 'details.error', details.error);
    const update = this.ctx.db.transaction(() => {
      const row = this.row(where, id);
      const from = row.status as RunStatus;
      if (from !== next && !RUN_STATUS_TRANSITIONS[from].includes(next))
        throw new StoreError(
          'conflict',
          `${where}: run ${JSON.stringify(row.id)} cannot go from ${from} to ${next} ` +
            `(allowed from ${from}: ${RUN_STATUS_TRANSITIONS[from].join(', ') || 'none, it is final'})`,
        );
      const now = this.ctx.now();
      const stopped = STOPPED_RUN_STATUSES.includes(next);
      const alive = next === 'running' || next === 'paused';
      this.sql.setStatus.run({
        id: row.id,
        status: next,
        startedAt: row.started_at ?? (next === 'running' ? now : null),
        finishedAt: stopped ? (from === next ? row.finished_at : now) : null,
        pid: alive ? (pid !== undefined ? pid : row.pid) : null,
        backend: backend !== undefined ? writeJson(backend) : row.backend,
        error: error !== undefined ? error : next === 'queued' || next === 'running' ? null : row.error,
        now,
      });
      return this.sql.byId.get(row.id) as RunRow;
    });
    const row = update.immediate();
    this.changed([row.id]);
    return toRecord(row);
  }

  /** Progress also counts as a heartbeat. Steps may go down: a resumed run restarts from its checkpoint. */
  updateProgress(id: string, progress: RunProgress): void {
    const where = 'updateRunProgress';
    record(where, 'progress', progress);
    const params = {
      id: this.row(where, id).id,
      step: int(where, 'step', progress.step),
      totalSteps: optInt(where, 'totalSteps', progress.totalSteps),
      now: this.ctx.now(),
    };
    this.sql.progress.run(params);
    this.changed([params.id]);
  }

  /** Not announced through onChange: heartbeats are frequent and no view shows them live. */
  heartbeat(id: string, pid?: number): void {
    const where = 'heartbeat';
    const runId = this.row(where, id).id;
    this.sql.heartbeat.run({
      id: runId,
      pid: pid === undefined ? null : int(where, 'pid', pid, 1),
      now: this.ctx.now(),
    });
  }

  /** Records the error and fails the run (from any status that may fail). */
  setError(id: string, message: string): RunRecord {
    return this.updateStatus(id, 'failed', { error: text('setRunError', 'message', message) });
  }

  /** Removes the run and, by cascade, its metrics, checkpoints, artifacts and evaluations. */
  delete(id: string): void {
    const where = 'deleteRun';
    const remove = this.ctx.db.transaction(() => {
      const row = this.row(where, id);
      if (row.status === 'running')
        throw new StoreError('conflict', `${where}: run ${JSON.stringify(row.id)} is running; stop it first`);
      this.sql.delete.run(row.id);
      return row.id;
    });
    const runId = remove.immediate();
    this.ctx.emit({
      tables: ['runs', 'metrics', 'checkpoints', 'artifacts', 'evaluations'],
      runIds: [runId],
    });
  }

  /**
   * At startup: runs still marked running whose process is gone, or whose heartbeat is older than
   * `staleAfterMs`, become `interrupted` with the reason in `error`. `finishedAt` is their last sign of
   * life, so durations stay truthful. Returns the runs it marked.
   */
  markInterrupted(opts: MarkInterruptedOptions = {}): RunRecord[] {
    const where = 'markInterruptedRuns';
    const staleAfterMs = optInt(where, 'staleAfterMs', opts.staleAfterMs) ?? 60_000;
    const isAlive = opts.isAlive ?? isProcessAlive;
    const mark = this.ctx.db.transaction(() => {
      const now = this.ctx.now();
      const marked: string[] = [];
      for (const row of this.sql.running.all() as RunRow[]) {
        const lastSign = row.heartbeat_at ?? row.started_at ?? row.updated_at;
        let reason: string | null = null;
        if (row.pid !== null && !isAlive(row.pid)) reason = `process ${row.pid} is gone`;
        else if (now - lastSign > staleAfterMs)
          reason = `no heartbeat for ${Math.round((now - lastSign) / 1000)} s`;
        if (reason === null || opts.held?.(row.id)) continue;
        this.sql.setStatus.run({
          id: row.id,
          status: 'interrupted',
          startedAt: row.started_at,
          finishedAt: lastSign,
          pid: null,
          backend: row.backend,
          error: `interrupted: ${reason}`,
          now,
        });
        marked.push(row.id);
      }
      return marked.map((id) => this.sql.byId.get(id) as RunRow);
    });
    const rows = mark.immediate();
    if (rows.length > 0) this.changed(rows.map((r) => r.id));
    return rows.map(toRecord);
  }

  /** Checks a list of ids exists, naming every missing one at once. */
  requireAll(where: string, ids: unknown): string[] {
    const wanted = [...new Set(list(where, 'ids', ids).map((id, i) => text(where, `ids[${i}]`, id)))];
    const missing = wanted.filter((id) => this.sql.exists.get(id) === undefined);
    if (missing.length > 0)
      throw new StoreError(
        'not-found',
        `${where}: unknown run id(s) ${missing.map((m) => JSON.stringify(m)).join(', ')}`,
        {
          unknownRunIds: missing,
        },
      );
    return wanted;
  }

  toRecord(row: RunRow): RunRecord {
    return toRecord(row);
  }
}
