import {
  DATASET_KINDS,
  type DatasetCategory,
  type DatasetKind,
  type DatasetRecord,
  type ImportReport,
  type NewDataset,
} from '../../../shared/dto/datasets';
import type { StoreContext } from '../context';
import { StoreError } from '../errors';
import { readJson, writeJson } from '../json-column';
import { prepareStatements } from '../statements';
import { int, list, oneOf, optInt, optText, record, text, invalid } from '../validate';

const SQL = {
  insert: `INSERT INTO datasets (name, kind, path, created_at, image_count, annotation_count, categories, import_report, split)
           VALUES (@name, @kind, @path, @createdAt, @imageCount, @annotationCount, @categories, @importReport, @split)
           RETURNING *`,
  byId: 'SELECT * FROM datasets WHERE id = ?',
  list: 'SELECT * FROM datasets ORDER BY created_at DESC, id DESC',
  usage: `SELECT (SELECT count(*) FROM runs WHERE dataset_id = @id OR train_dataset_id = @id) AS runs,
                 (SELECT count(*) FROM evaluations WHERE dataset_id = @id) AS evaluations`,
  delete: 'DELETE FROM datasets WHERE id = ?',
};

interface DatasetRow {
  id: number;
  name: string;
  kind: string;
  path: string | null;
  created_at: number;
  image_count: number;
  annotation_count: number;
  categories: string;
  import_report: string;
  split: string | null;
}

const toRecord = (r: DatasetRow): DatasetRecord => ({
  id: r.id,
  name: r.name,
  kind: r.kind as DatasetKind,
  path: r.path,
  createdAt: r.created_at,
  imageCount: r.image_count,
  annotationCount: r.annotation_count,
  categories: readJson<DatasetCategory[]>(r.categories, 'dataset', 'categories', r.id),
  importReport: readJson<ImportReport>(r.import_report, 'dataset', 'import_report', r.id),
  split: r.split,
});

function checkCategories(where: string, v: unknown): DatasetCategory[] {
  const seen = new Map<number, number>();
  return list(where, 'categories', v).map((c, i) => {
    const field = `categories[${i}]`;
    const o = record(where, field, c);
    const id = int(where, `${field}.id`, o.id);
    const name = text(where, `${field}.name`, o.name);
    const first = seen.get(id);
    if (first !== undefined) throw invalid(where, `${field}.id`, `repeats categories[${first}].id`, id);
    seen.set(id, i);
    return { id, name };
  });
}

function checkImportReport(where: string, v: unknown): ImportReport {
  const o = record(where, 'importReport', v);
  const skipped = list(where, 'importReport.skipped', o.skipped).map((s, i) => {
    const field = `importReport.skipped[${i}]`;
    const e = record(where, field, s);
    return { file: text(where, `${field}.file`, e.file), reason: text(where, `${field}.reason`, e.reason) };
  });
  return { skipped };
}

export class DatasetRepository {
  private readonly sql;

  constructor(private readonly ctx: StoreContext) {
    this.sql = prepareStatements(ctx.db, 'datasets', SQL);
  }

  create(input: NewDataset): DatasetRecord {
    const where = 'createDataset';
    record(where, 'dataset', input);
    const kind = oneOf(where, 'kind', input.kind, DATASET_KINDS);
    const path = optText(where, 'path', input.path);
    if (path === null && kind !== 'demo')
      throw invalid(where, 'path', `is required for kind ${kind}`, input.path);
    const row = this.sql.insert.get({
      name: text(where, 'name', input.name),
      kind,
      path,
      createdAt: this.ctx.now(),
      imageCount: int(where, 'imageCount', input.imageCount),
      annotationCount: optInt(where, 'annotationCount', input.annotationCount) ?? 0,
      categories: writeJson(checkCategories(where, input.categories ?? [])),
      importReport: writeJson(checkImportReport(where, input.importReport ?? { skipped: [] })),
      split: optText(where, 'split', input.split),
    }) as DatasetRow;
    this.ctx.emit({ tables: ['datasets'], runIds: [] });
    return toRecord(row);
  }

  get(id: number): DatasetRecord {
    const row = this.sql.byId.get(int('getDataset', 'id', id, 1)) as DatasetRow | undefined;
    if (!row) throw new StoreError('not-found', `dataset ${id} does not exist`);
    return toRecord(row);
  }

  has(id: number): boolean {
    return this.sql.byId.get(id) !== undefined;
  }

  list(): DatasetRecord[] {
    return (this.sql.list.all() as DatasetRow[]).map(toRecord);
  }

  /** Refused while runs or evaluations refer to the dataset: they would lose what they were trained or scored on. */
  delete(id: number): void {
    const dataset = this.get(id);
    const remove = this.ctx.db.transaction(() => {
      const use = this.sql.usage.get({ id }) as { runs: number; evaluations: number };
      if (use.runs > 0 || use.evaluations > 0)
        throw new StoreError(
          'conflict',
          `dataset ${id} (${dataset.name}) is used by ${use.runs} run(s) and ${use.evaluations} evaluation(s); delete those first`,
        );
      this.sql.delete.run(id);
    });
    remove.immediate();
    this.ctx.emit({ tables: ['datasets'], runIds: [] });
  }
}
