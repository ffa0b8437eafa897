import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../../../shared/dto/json';
import {
  STUDY_ROLES,
  STUDY_STATUSES,
  type NewStudy,
  type StudyProbeRecord,
  type StudyRecord,
  type StudyRole,
  type StudyRunLink,
  type StudyStatus,
} from '../../../shared/dto/studies';
import type { StoreContext } from '../context';
import { StoreError } from '../errors';
import { readJson, writeJson } from '../json-column';
import { prepareStatements } from '../statements';
import { finite, int, jsonObject, list, oneOf, record, text } from '../validate';
import type { RunRepository } from './runs';

const SQL = {
  insert: `INSERT INTO studies (id, name, config, arms, seeds, budget, status, created_at, updated_at)
           VALUES (@id, @name, @config, @arms, @seeds, @budget, 'running', @now, @now) RETURNING *`,
  byId: 'SELECT * FROM studies WHERE id = ?',
  list: 'SELECT * FROM studies ORDER BY created_at DESC, rowid DESC',
  setStatus: `UPDATE studies SET status = @status, error = @error, updated_at = @now,
                finished_at = CASE WHEN @status = 'completed' THEN @now ELSE NULL END
              WHERE id = @id`,
  setResult: 'UPDATE studies SET result = @result, updated_at = @now WHERE id = @id',
  delete: 'DELETE FROM studies WHERE id = ?',
  link: `INSERT INTO study_runs (study_id, run_id, arm, role, seed) VALUES (@studyId, @runId, @arm, @role, @seed)
         ON CONFLICT (study_id, arm, role, seed) DO UPDATE SET run_id = excluded.run_id`,
  links: 'SELECT * FROM study_runs WHERE study_id = ? ORDER BY role DESC, arm, seed',
  studyOfRun: 'SELECT study_id FROM study_runs WHERE run_id = ?',
  addProbe: `INSERT INTO study_probes (study_id, arm, seed, stats, boxes, created_at)
             VALUES (@studyId, @arm, @seed, @stats, @boxes, @now)
             ON CONFLICT (study_id, arm, seed) DO UPDATE SET stats = excluded.stats, boxes = excluded.boxes`,
  probes: 'SELECT * FROM study_probes WHERE study_id = ? ORDER BY arm, seed',
  // running studies none of whose runs is running (their driver, an app or a CLI, is gone)
  orphaned: `SELECT * FROM studies s WHERE s.status = 'running' AND NOT EXISTS (
               SELECT 1 FROM study_runs l JOIN runs r ON r.id = l.run_id
               WHERE l.study_id = s.id AND r.status = 'running')`,
};

interface StudyRow {
  id: string;
  name: string;
  config: string;
  arms: string;
  seeds: number;
  budget: string;
  status: string;
  error: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

interface LinkRow {
  study_id: string;
  run_id: string;
  arm: string;
  role: string;
  seed: number;
}

interface ProbeRow {
  study_id: string;
  arm: string;
  seed: number;
  stats: string;
  boxes: string;
  created_at: number;
}

const toRecord = (r: StudyRow): StudyRecord => ({
  id: r.id,
  name: r.name,
  config: readJson<JsonObject>(r.config, 'study', 'config', r.id),
  arms: readJson<string[]>(r.arms, 'study', 'arms', r.id),
  seeds: r.seeds,
  budget: r.budget,
  status: r.status as StudyStatus,
  error: r.error,
  result: r.result === null ? null : readJson<JsonObject>(r.result, 'study', 'result', r.id),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

const toLink = (r: LinkRow): StudyRunLink => ({
  studyId: r.study_id,
  runId: r.run_id,
  arm: r.arm,
  role: r.role as StudyRole,
  seed: r.seed < 0 ? null : r.seed,
});

export class StudyRepository {
  private readonly sql;

  constructor(
    private readonly ctx: StoreContext,
    private readonly runs: RunRepository,
  ) {
    this.sql = prepareStatements(ctx.db, 'studies', SQL);
  }

  private changed(runIds: string[] = []): void {
    this.ctx.emit({ tables: ['studies'], runIds });
  }

  private row(where: string, id: unknown): StudyRow {
    const studyId = text(where, 'studyId', id);
    const row = this.sql.byId.get(studyId) as StudyRow | undefined;
    if (!row) throw new StoreError('not-found', `${where}: study ${JSON.stringify(studyId)} does not exist`);
    return row;
  }

  create(input: NewStudy): StudyRecord {
    const where = 'createStudy';
    record(where, 'study', input);
    const arms = list(where, 'arms', input.arms).map((a, i) => text(where, `arms[${i}]`, a));
    const row = this.sql.insert.get({
      id: input.id === undefined ? randomUUID() : text(where, 'id', input.id),
      name: text(where, 'name', input.name),
      config: writeJson(jsonObject(where, 'config', input.config)),
      arms: writeJson(arms),
      seeds: int(where, 'seeds', input.seeds, 1),
      budget: text(where, 'budget', input.budget),
      now: this.ctx.now(),
    }) as StudyRow;
    this.changed();
    return toRecord(row);
  }

  get(id: string): StudyRecord {
    return toRecord(this.row('getStudy', id));
  }

  list(): StudyRecord[] {
    return (this.sql.list.all() as StudyRow[]).map(toRecord);
  }

  setStatus(id: string, status: StudyStatus, error: string | null = null): StudyRecord {
    const where = 'setStudyStatus';
    this.row(where, id);
    this.sql.setStatus.run({
      id,
      status: oneOf(where, 'status', status, STUDY_STATUSES),
      error,
      now: this.ctx.now(),
    });
    this.changed();
    return this.get(id);
  }

  setResult(id: string, result: object): StudyRecord {
    const where = 'setStudyResult';
    this.row(where, id);
    this.sql.setResult.run({
      id,
      result: writeJson(jsonObject(where, 'result', result)),
      now: this.ctx.now(),
    });
    this.changed();
    return this.get(id);
  }

  /** Keeps the runs (they are ordinary runs); drops the links and probes. */
  delete(id: string): void {
    this.row('deleteStudy', id);
    this.sql.delete.run(id);
    this.changed();
  }

  /** Links a run to its slot (replacing a run that slot had: a restart of a run that never checkpointed). */
  link(input: StudyRunLink): void {
    const where = 'linkStudyRun';
    this.row(where, input.studyId);
    this.runs.row(where, input.runId);
    const role = oneOf(where, 'role', input.role, STUDY_ROLES);
    const seed = role === 'pretrain' ? -1 : int(where, 'seed', input.seed);
    this.sql.link.run({
      studyId: input.studyId,
      runId: input.runId,
      arm: text(where, 'arm', input.arm),
      role,
      seed,
    });
    this.changed([input.runId]);
  }

  links(studyId: string): StudyRunLink[] {
    this.row('studyRuns', studyId);
    return (this.sql.links.all(studyId) as LinkRow[]).map(toLink);
  }

  studyOfRun(runId: string): string | null {
    return (this.sql.studyOfRun.get(runId) as { study_id: string } | undefined)?.study_id ?? null;
  }

  addProbe(input: Omit<StudyProbeRecord, 'createdAt'>): void {
    const where = 'addStudyProbe';
    this.row(where, input.studyId);
    const stats = record(where, 'stats', input.stats);
    for (const k of ['linearTop1', 'knnTop1', 'majorityTop1']) finite(where, `stats.${k}`, stats[k]);
    const boxes = record(where, 'boxes', input.boxes);
    const ids = list(where, 'boxes.imageIds', boxes.imageIds);
    const correct = list(where, 'boxes.linearCorrect', boxes.linearCorrect);
    if (ids.length !== correct.length)
      throw new StoreError(
        'invalid',
        `${where}: boxes.imageIds has ${ids.length} entries, boxes.linearCorrect ${correct.length}`,
      );
    this.sql.addProbe.run({
      studyId: input.studyId,
      arm: text(where, 'arm', input.arm),
      seed: int(where, 'seed', input.seed),
      stats: writeJson(stats),
      boxes: writeJson(boxes),
      now: this.ctx.now(),
    });
    this.changed();
  }

  probes(studyId: string): StudyProbeRecord[] {
    this.row('studyProbes', studyId);
    return (this.sql.probes.all(studyId) as ProbeRow[]).map((r) => ({
      studyId: r.study_id,
      arm: r.arm,
      seed: r.seed,
      stats: readJson(r.stats, 'study_probes', 'stats', `${r.study_id}/${r.arm}/${r.seed}`),
      boxes: readJson(r.boxes, 'study_probes', 'boxes', `${r.study_id}/${r.arm}/${r.seed}`),
      createdAt: r.created_at,
    }));
  }

  /**
   * For startup, after runs were marked: a study left `running` none of whose runs still runs lost its
   * driver, and becomes `interrupted` (a driver sets `running` again at each run it starts).
   */
  markInterrupted(): StudyRecord[] {
    return (this.sql.orphaned.all() as StudyRow[]).map((r) =>
      this.setStatus(r.id, 'interrupted', 'the process running the study stopped'),
    );
  }
}
