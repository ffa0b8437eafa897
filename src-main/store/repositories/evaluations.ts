import {
  EVALUATION_KINDS,
  type CategoryStats,
  type EvaluationKind,
  type EvaluationRecord,
  type EvaluationStats,
  type NewEvaluation,
} from '../../../shared/dto/evaluations';
import type { StoreContext } from '../context';
import { StoreError } from '../errors';
import { readJson, writeJson } from '../json-column';
import { prepareStatements } from '../statements';
import { finite, int, list, oneOf, optInt, record, text } from '../validate';
import type { RunRepository } from './runs';

const SQL = {
  insert: `INSERT INTO evaluations (run_id, dataset_id, kind, checkpoint_step, stats, per_category, created_at)
           VALUES (@runId, @datasetId, @kind, @checkpointStep, @stats, @perCategory, @createdAt)
           RETURNING *`,
  datasetExists: 'SELECT 1 FROM datasets WHERE id = ?',
  list: 'SELECT * FROM evaluations WHERE run_id = ? ORDER BY created_at, id',
};

interface EvaluationRow {
  id: number;
  run_id: string;
  dataset_id: number;
  kind: string;
  checkpoint_step: number | null;
  stats: string;
  per_category: string;
  created_at: number;
}

const toRecord = (r: EvaluationRow): EvaluationRecord => ({
  id: r.id,
  runId: r.run_id,
  datasetId: r.dataset_id,
  kind: r.kind as EvaluationKind,
  checkpointStep: r.checkpoint_step,
  stats: readJson<EvaluationStats>(r.stats, 'evaluation', 'stats', r.id),
  perCategory: readJson<CategoryStats[]>(r.per_category, 'evaluation', 'per_category', r.id),
  createdAt: r.created_at,
});

/** Finite numbers only: JSON would turn NaN into null and the renderer would read a number that is not one. */
function checkStats(where: string, field: string, v: unknown): EvaluationStats {
  const o = record(where, field, v);
  const out: EvaluationStats = {};
  for (const [k, x] of Object.entries(o)) out[k] = finite(where, `${field}.${k}`, x);
  return out;
}

export class EvaluationRepository {
  private readonly sql;

  constructor(
    private readonly ctx: StoreContext,
    private readonly runs: RunRepository,
  ) {
    this.sql = prepareStatements(ctx.db, 'evaluations', SQL);
  }

  add(input: NewEvaluation): EvaluationRecord {
    const where = 'addEvaluation';
    record(where, 'evaluation', input);
    const perCategory = list(where, 'perCategory', input.perCategory ?? []).map((c, i): CategoryStats => {
      const field = `perCategory[${i}]`;
      const o = record(where, field, c);
      return {
        categoryId: int(where, `${field}.categoryId`, o.categoryId),
        name: text(where, `${field}.name`, o.name),
        stats: checkStats(where, `${field}.stats`, o.stats),
      };
    });
    const params = {
      runId: text(where, 'runId', input.runId),
      datasetId: int(where, 'datasetId', input.datasetId, 1),
      kind: oneOf(where, 'kind', input.kind, EVALUATION_KINDS),
      checkpointStep: optInt(where, 'checkpointStep', input.checkpointStep),
      stats: writeJson(checkStats(where, 'stats', input.stats)),
      perCategory: writeJson(perCategory),
      createdAt: this.ctx.now(),
    };
    const insert = this.ctx.db.transaction(() => {
      this.runs.row(where, params.runId);
      if (this.sql.datasetExists.get(params.datasetId) === undefined)
        throw new StoreError('not-found', `${where}: dataset ${params.datasetId} does not exist`);
      return this.sql.insert.get(params) as EvaluationRow;
    });
    const row = insert.immediate();
    this.ctx.emit({ tables: ['evaluations'], runIds: [row.run_id] });
    return toRecord(row);
  }

  /** Oldest first. */
  list(runId: string): EvaluationRecord[] {
    const id = this.runs.row('listEvaluations', runId).id;
    return (this.sql.list.all(id) as EvaluationRow[]).map(toRecord);
  }
}
