import type { RunExecution } from '../../../shared/dto/clusters';
import type { StoreContext } from '../context';
import { StoreError } from '../errors';
import { prepareStatements } from '../statements';
import { int, optText, text } from '../validate';
import type { RunRepository } from './runs';

/** A run's execution as the store keeps it: what run detail shows, plus where ingestion stands. */
export interface StoredRunExecution extends RunExecution {
  /** The JSON-lines file the execution writes its WorkerMessages to. */
  eventsFile: string;
  /** Bytes of eventsFile already taken into the store (always at a line's end). */
  ingestOffset: number;
  /** Times in a row the supervisor resubmitted the run on its own (reset when the run is sent out anew). */
  resubmits: number;
}

/** What a supervisor reports of a job (each field given replaces the stored one). */
export interface ExecutionUpdate {
  jobId?: string | null;
  state?: string | null;
  reason?: string | null;
  ingestOffset?: number;
  resubmits?: number;
}

const SQL = {
  upsert: `INSERT INTO run_executions (run_id, executor, job_id, state, reason, events_file, ingest_offset, updated_at)
           VALUES (@runId, @executor, NULL, NULL, NULL, @eventsFile, 0, @now)
           ON CONFLICT (run_id) DO UPDATE SET executor = excluded.executor, events_file = excluded.events_file,
             resubmits = 0, updated_at = excluded.updated_at`,
  byRun: 'SELECT * FROM run_executions WHERE run_id = ?',
  update: `UPDATE run_executions SET job_id = @jobId, state = @state, reason = @reason,
             ingest_offset = @ingestOffset, resubmits = @resubmits, updated_at = @now WHERE run_id = @runId`,
};

interface ExecutionRow {
  run_id: string;
  executor: string;
  job_id: string | null;
  state: string | null;
  reason: string | null;
  events_file: string;
  ingest_offset: number;
  resubmits: number;
  updated_at: number;
}

const toRecord = (r: ExecutionRow): StoredRunExecution => ({
  runId: r.run_id,
  executor: r.executor,
  ...(r.job_id !== null ? { jobId: r.job_id } : {}),
  ...(r.state !== null ? { state: r.state } : {}),
  ...(r.reason !== null ? { reason: r.reason } : {}),
  updatedAt: r.updated_at,
  eventsFile: r.events_file,
  ingestOffset: r.ingest_offset,
  resubmits: r.resubmits,
});

export class ExecutionRepository {
  private readonly sql;

  constructor(
    private readonly ctx: StoreContext,
    private readonly runs: RunRepository,
  ) {
    this.sql = prepareStatements(ctx.db, 'run_executions', SQL);
  }

  /**
   * Records that a run executes on `executor`, its messages in `eventsFile`. A run sent there again
   * (resumed) keeps its row: the file and the offset go on, so nothing already taken is taken twice.
   */
  begin(runId: string, executor: string, eventsFile: string): StoredRunExecution {
    const where = 'beginExecution';
    const params = {
      runId: text(where, 'runId', runId),
      executor: text(where, 'executor', executor),
      eventsFile: text(where, 'eventsFile', eventsFile),
      now: this.ctx.now(),
    };
    if (params.executor === 'local')
      throw new StoreError('invalid', `${where}: executor 'local' has no execution record`);
    const row = this.ctx.db
      .transaction(() => {
        this.runs.row(where, params.runId);
        const before = this.sql.byRun.get(params.runId) as ExecutionRow | undefined;
        if (before && before.events_file !== params.eventsFile)
          throw new StoreError(
            'invalid',
            `${where}: run ${params.runId} writes its events to ${before.events_file}, not ${params.eventsFile}`,
          );
        this.sql.upsert.run(params);
        return this.sql.byRun.get(params.runId) as ExecutionRow;
      })
      .immediate();
    this.ctx.emit({ tables: ['runs'], runIds: [params.runId] });
    return toRecord(row);
  }

  get(runId: string): StoredRunExecution | null {
    const row = this.sql.byRun.get(runId) as ExecutionRow | undefined;
    return row ? toRecord(row) : null;
  }

  update(runId: string, change: ExecutionUpdate): StoredRunExecution {
    const where = 'updateExecution';
    let shown = false;
    const row = this.ctx.db
      .transaction(() => {
        const before = this.sql.byRun.get(runId) as ExecutionRow | undefined;
        if (!before) throw new StoreError('not-found', `${where}: run ${runId} has no execution record`);
        const ingestOffset =
          change.ingestOffset === undefined
            ? before.ingest_offset
            : int(where, 'ingestOffset', change.ingestOffset);
        // The offset only moves forward: a stale follower must not make lines be taken again.
        if (ingestOffset < before.ingest_offset)
          throw new StoreError(
            'invalid',
            `${where}: ingestOffset ${ingestOffset} is behind the recorded ${before.ingest_offset} for run ${runId}`,
          );
        this.sql.update.run({
          runId,
          jobId: change.jobId === undefined ? before.job_id : optText(where, 'jobId', change.jobId),
          state: change.state === undefined ? before.state : optText(where, 'state', change.state),
          reason: change.reason === undefined ? before.reason : optText(where, 'reason', change.reason),
          ingestOffset,
          resubmits:
            change.resubmits === undefined ? before.resubmits : int(where, 'resubmits', change.resubmits),
          now: this.ctx.now(),
        });
        const after = this.sql.byRun.get(runId) as ExecutionRow;
        shown =
          after.job_id !== before.job_id || after.state !== before.state || after.reason !== before.reason;
        return after;
      })
      .immediate();
    // What run detail shows changed: announce it (an offset alone moves several times a second).
    if (shown) this.ctx.emit({ tables: ['runs'], runIds: [runId] });
    return toRecord(row);
  }
}
