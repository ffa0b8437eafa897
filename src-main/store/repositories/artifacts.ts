import {
  ARTIFACT_KINDS,
  type ArtifactKind,
  type ArtifactRecord,
  type NewArtifact,
} from '../../../shared/dto/artifacts';
import type { JsonObject } from '../../../shared/dto/json';
import type { StoreContext } from '../context';
import { readJson, writeJson } from '../json-column';
import { prepareStatements } from '../statements';
import { jsonObject, oneOf, record, text } from '../validate';
import type { RunRepository } from './runs';

const SQL = {
  insert: `INSERT INTO artifacts (run_id, kind, path, meta, created_at) VALUES (@runId, @kind, @path, @meta, @createdAt)
           RETURNING *`,
  list: 'SELECT * FROM artifacts WHERE run_id = @runId AND (@kind IS NULL OR kind = @kind) ORDER BY created_at, id',
};

interface ArtifactRow {
  id: number;
  run_id: string;
  kind: string;
  path: string;
  meta: string;
  created_at: number;
}

const toRecord = (r: ArtifactRow): ArtifactRecord => ({
  id: r.id,
  runId: r.run_id,
  kind: r.kind as ArtifactKind,
  path: r.path,
  meta: readJson<JsonObject>(r.meta, 'artifact', 'meta', r.id),
  createdAt: r.created_at,
});

export class ArtifactRepository {
  private readonly sql;

  constructor(
    private readonly ctx: StoreContext,
    private readonly runs: RunRepository,
  ) {
    this.sql = prepareStatements(ctx.db, 'artifacts', SQL);
  }

  add(input: NewArtifact): ArtifactRecord {
    const where = 'addArtifact';
    record(where, 'artifact', input);
    const params = {
      runId: text(where, 'runId', input.runId),
      kind: oneOf(where, 'kind', input.kind, ARTIFACT_KINDS),
      path: text(where, 'path', input.path),
      meta: writeJson(jsonObject(where, 'meta', input.meta ?? {})),
      createdAt: this.ctx.now(),
    };
    const insert = this.ctx.db.transaction(() => {
      this.runs.row(where, params.runId);
      return this.sql.insert.get(params) as ArtifactRow;
    });
    const row = insert.immediate();
    this.ctx.emit({ tables: ['artifacts'], runIds: [row.run_id] });
    return toRecord(row);
  }

  /** Oldest first, optionally of one kind. */
  list(runId: string, kind?: ArtifactKind): ArtifactRecord[] {
    const where = 'listArtifacts';
    const id = this.runs.row(where, runId).id;
    const k = kind === undefined ? null : oneOf(where, 'kind', kind, ARTIFACT_KINDS);
    return (this.sql.list.all({ runId: id, kind: k }) as ArtifactRow[]).map(toRecord);
  }
}
