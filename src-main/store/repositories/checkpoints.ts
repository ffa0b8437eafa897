import type { CheckpointRecord, NewCheckpoint } from '../../../shared/dto/checkpoints';
import type { StoreContext } from '../context';
import { StoreError } from '../errors';
import { prepareStatements } from '../statements';
import { int, optInt, record, text } from '../validate';
import type { RunRepository } from './runs';

const SQL = {
  // Saving again at a step (a resumed run passing it a second time) replaces that checkpoint.
  upsert: `INSERT INTO checkpoints (run_id, step, epoch, path, created_at, bytes, is_last)
           VALUES (@runId, @step, @epoch, @path, @createdAt, @bytes, @isLast)
           ON CONFLICT (run_id, step) DO UPDATE SET epoch = excluded.epoch, path = excluded.path,
             created_at = excluded.created_at, bytes = excluded.bytes, is_last = excluded.is_last
           RETURNING *`,
  clearLast: 'UPDATE checkpoints SET is_last = 0 WHERE run_id = ? AND is_last = 1',
  list: 'SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step',
  last: 'SELECT * FROM checkpoints WHERE run_id = ? AND is_last = 1',
  byStep: 'SELECT * FROM checkpoints WHERE run_id = ? AND step = ?',
  remove: 'DELETE FROM checkpoints WHERE id = ?',
  promoteNewest: `UPDATE checkpoints SET is_last = 1
                  WHERE id = (SELECT id FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1)`,
};

interface CheckpointRow {
  id: number;
  run_id: string;
  step: number;
  epoch: number | null;
  path: string;
  created_at: number;
  bytes: number;
  is_last: number;
}

const toRecord = (r: CheckpointRow): CheckpointRecord => ({
  id: r.id,
  runId: r.run_id,
  step: r.step,
  epoch: r.epoch,
  path: r.path,
  createdAt: r.created_at,
  bytes: r.bytes,
  isLast: r.is_last === 1,
});

export class CheckpointRepository {
  private readonly sql;

  constructor(
    private readonly ctx: StoreContext,
    private readonly runs: RunRepository,
  ) {
    this.sql = prepareStatements(ctx.db, 'checkpoints', SQL);
  }

  /** A new checkpoint becomes the run's last one unless `isLast: false`. */
  add(input: NewCheckpoint): CheckpointRecord {
    const where = 'addCheckpoint';
    record(where, 'checkpoint', input);
    if (input.isLast !== undefined && typeof input.isLast !== 'boolean')
      throw new StoreError(
        'invalid',
        `${where}: isLast must be true or false, got ${JSON.stringify(input.isLast)}`,
      );
    const isLast = input.isLast ?? true;
    const params = {
      runId: text(where, 'runId', input.runId),
      step: int(where, 'step', input.step),
      epoch: optInt(where, 'epoch', input.epoch),
      path: text(where, 'path', input.path),
      bytes: int(where, 'bytes', input.bytes),
      isLast: isLast ? 1 : 0,
      createdAt: this.ctx.now(),
    };
    const insert = this.ctx.db.transaction(() => {
      this.runs.row(where, params.runId);
      if (isLast) this.sql.clearLast.run(params.runId);
      return this.sql.upsert.get(params) as CheckpointRow;
    });
    const row = insert.immediate();
    this.ctx.emit({ tables: ['checkpoints'], runIds: [row.run_id] });
    return toRecord(row);
  }

  list(runId: string): CheckpointRecord[] {
    const id = this.runs.row('listCheckpoints', runId).id;
    return (this.sql.list.all(id) as CheckpointRow[]).map(toRecord);
  }

  /** The checkpoint to resume from, or null when the run has none. */
  last(runId: string): CheckpointRecord | null {
    const id = this.runs.row('lastCheckpoint', runId).id;
    const row = this.sql.last.get(id) as CheckpointRow | undefined;
    return row ? toRecord(row) : null;
  }

  /**
   * Forgets a checkpoint row (the caller deletes the file, e.g. for a keep-last-k policy). Removing the
   * last one makes the newest remaining checkpoint the last, so a resume never points at nothing.
   */
  remove(runId: string, step: number): void {
    const where = 'removeCheckpoint';
    const s = int(where, 'step', step);
    const remove = this.ctx.db.transaction(() => {
      const id = this.runs.row(where, runId).id;
      const row = this.sql.byStep.get(id, s) as CheckpointRow | undefined;
      if (!row)
        throw new StoreError(
          'not-found',
          `${where}: run ${JSON.stringify(id)} has no checkpoint at step ${s}`,
        );
      this.sql.remove.run(row.id);
      if (row.is_last === 1) this.sql.promoteNewest.run(id);
      return id;
    });
    const id = remove.immediate();
    this.ctx.emit({ tables: ['checkpoints'], runIds: [id] });
  }
}
