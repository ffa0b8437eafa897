import type {
  MetricInput,
  MetricPoint,
  MetricQuery,
  MetricSample,
  MetricSeries,
} from '../../../shared/dto/metrics';
import type { StoreContext } from '../context';
import { downsampleIndices } from '../downsample';
import { StoreError } from '../errors';
import { MetricSummary } from '../metric-summary';
import { prepareStatements } from '../statements';
import { finite, int, invalid, list, record, text } from '../validate';
import type { RunRepository } from './runs';

const SQL = {
  // A resumed run re-logs the steps after its checkpoint: the newer value replaces the older.
  upsert: `INSERT INTO metrics (run_id, key, step, value, wall_time) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, wall_time = excluded.wall_time`,
  count: 'SELECT count(*) AS n FROM metrics WHERE run_id = @runId AND key = @key AND step > @since',
  series: `SELECT step, value, wall_time FROM metrics
           WHERE run_id = @runId AND key = @key AND step > @since ORDER BY step`,
  // Skip-scan over the primary key: one index seek per distinct key instead of reading every row.
  keys: `WITH RECURSIVE k(key) AS (
           SELECT min(key) FROM metrics WHERE run_id = @runId
           UNION ALL
           SELECT (SELECT min(key) FROM metrics WHERE run_id = @runId AND key > k.key) FROM k WHERE k.key IS NOT NULL
         )
         SELECT key FROM k WHERE key IS NOT NULL`,
  // A long series to downsample: its values and steps alone (the cheap columns), then the kept rows.
  values: 'SELECT value FROM metrics WHERE run_id = @runId AND key = @key AND step > @since ORDER BY step',
  steps: 'SELECT step FROM metrics WHERE run_id = @runId AND key = @key AND step > @since ORDER BY step',
  wallTime: 'SELECT wall_time FROM metrics WHERE run_id = @runId AND key = @key AND step = @step',
  latest:
    'SELECT step, value, wall_time FROM metrics WHERE run_id = @runId AND key = @key ORDER BY step DESC LIMIT 1',
  first:
    'SELECT step, value, wall_time FROM metrics WHERE run_id = @runId AND key = @key AND step > @since ORDER BY step LIMIT 1',
};

/**
 * A series up to this many times the points asked for is read whole and downsampled exactly as
 * downsampleIndices says (≤ 8 000 rows a key for the charts' 4 000); a longer one from metric_summary.
 */
const READ_WHOLE_UP_TO = 2;

type SampleRow = [step: number, value: number | null, wallTime: number];

const toSample = ([step, value, wallTime]: SampleRow): MetricSample => ({
  step,
  value: value ?? NaN,
  wallTime,
});

/** Validates one producer point (NaN and ±Infinity are legitimate values; the step and key are not optional). */
export function checkMetricInput(where: string, field: string, p: unknown, now: () => number): MetricPoint {
  const o = record(where, field, p);
  if (typeof o.value !== 'number') throw invalid(where, `${field}.value`, 'must be a number', o.value);
  return {
    runId: text(where, `${field}.runId`, o.runId),
    key: text(where, `${field}.key`, o.key),
    step: int(where, `${field}.step`, o.step),
    value: o.value,
    wallTime: o.wallTime === undefined ? now() : finite(where, `${field}.wallTime`, o.wallTime),
  };
}

export class MetricRepository {
  private readonly sql;
  private readonly summary: MetricSummary;

  constructor(
    private readonly ctx: StoreContext,
    private readonly runs: RunRepository,
  ) {
    this.sql = prepareStatements(ctx.db, 'metrics', SQL);
    this.sql.series.raw(true);
    this.sql.latest.raw(true);
    this.sql.first.raw(true);
    this.summary = new MetricSummary(ctx.db);
    this.sql.keys.pluck(true);
    this.sql.values.pluck(true);
    this.sql.steps.pluck(true);
    this.sql.wallTime.pluck(true);
  }

  /**
   * Writes all points in one transaction (all or nothing) and returns how many were written. Every point
   * is checked first; unknown run ids are reported together in `details.unknownRunIds`.
   */
  append(points: readonly MetricInput[]): number {
    const where = 'appendMetrics';
    const checked = list(where, 'points', points).map((p, i) =>
      checkMetricInput(where, `points[${i}]`, p, this.ctx.now),
    );
    if (checked.length === 0) return 0;
    const runIds = [...new Set(checked.map((p) => p.runId))];
    const missing = runIds.filter((id) => !this.runs.has(id));
    if (missing.length > 0)
      throw new StoreError(
        'not-found',
        `${where}: unknown run id(s) ${missing.map((m) => JSON.stringify(m)).join(', ')}; no points were written`,
        { unknownRunIds: missing },
      );
    const write = this.ctx.db.transaction(() => {
      const stepsOf = new Map<string, { runId: string; key: string; steps: number[] }>();
      for (const p of checked) {
        this.sql.upsert.run(p.runId, p.key, p.step, p.value, p.wallTime);
        const series = JSON.stringify([p.runId, p.key]);
        let s = stepsOf.get(series);
        if (!s) stepsOf.set(series, (s = { runId: p.runId, key: p.key, steps: [] }));
        s.steps.push(p.step);
      }
      for (const s of stepsOf.values()) this.summary.refresh(s.runId, s.key, s.steps);
    });
    write.immediate();
    this.ctx.emit({ tables: ['metrics'], runIds });
    return checked.length;
  }

  /** Sorted metric keys the run has logged. */
  keys(runId: string): string[] {
    const id = this.runs.row('metricKeys', runId).id;
    return this.sql.keys.all({ runId: id }) as string[];
  }

  /**
   * One series per key (all keys when `keys` is omitted), each ascending by step. See MetricQuery for
   * `sinceStep` and the min/max downsampling behind `maxPoints`.
   */
  get(runId: string, keys?: readonly string[], query: MetricQuery = {}): MetricSeries[] {
    const where = 'getMetrics';
    const id = this.runs.row(where, runId).id;
    record(where, 'query', query);
    const wanted =
      keys === undefined
        ? undefined
        : [...new Set(list(where, 'keys', keys).map((k, i) => text(where, `keys[${i}]`, k)))];
    const since =
      query.sinceStep === undefined ? Number.MIN_SAFE_INTEGER : finite(where, 'sinceStep', query.sinceStep);
    const maxPoints = query.maxPoints === undefined ? undefined : int(where, 'maxPoints', query.maxPoints, 2);
    // One read transaction: count and rows come from the same snapshot while the writer keeps appending.
    const read = this.ctx.db.transaction(() =>
      (wanted ?? (this.sql.keys.all({ runId: id }) as string[])).map((key): MetricSeries => {
        const params = { runId: id, key, since };
        // The whole series' count is the summary's (a few rows); a range's is counted.
        const wholeSeries = since === Number.MIN_SAFE_INTEGER;
        const totalPoints = wholeSeries
          ? this.summary.total(id, key)
          : (this.sql.count.get(params) as { n: number }).n;
        if (maxPoints === undefined || totalPoints <= maxPoints) {
          const points = (this.sql.series.all(params) as SampleRow[]).map(toSample);
          return { runId: id, key, points, totalPoints, downsampled: false };
        }
        const first = toSample(this.sql.first.get(params) as SampleRow);
        const last = toSample(this.sql.latest.get(params) as SampleRow);
        const points =
          (totalPoints > READ_WHOLE_UP_TO * maxPoints &&
            this.summary.downsample(id, key, { since, first, last, total: totalPoints }, maxPoints)
              ?.points) ||
          this.readAndDownsample(params, first.step, last.step, totalPoints, maxPoints);
        return { runId: id, key, points, totalPoints, downsampled: points.length < totalPoints };
      }),
    );
    return read.deferred();
  }

  /** Reads a series' values (and its steps when sparse) and keeps what downsampleIndices chooses. */
  private readAndDownsample(
    params: { runId: string; key: string; since: number },
    first: number,
    last: number,
    totalPoints: number,
    maxPoints: number,
  ): MetricSample[] {
    const values = (this.sql.values.all(params) as (number | null)[]).map((v) => v ?? NaN);
    // A step logged at every step (the losses) has its steps implied; only a sparse one reads them.
    const dense = last - first + 1 === totalPoints;
    const steps = dense ? null : (this.sql.steps.all(params) as number[]);
    const stepAt = (i: number) => (steps ? steps[i]! : first + i);
    return downsampleIndices(values, maxPoints).map((i) => ({
      step: stepAt(i),
      value: values[i]!,
      wallTime: this.sql.wallTime.get({ ...params, step: stepAt(i) }) as number,
    }));
  }

  /** The newest sample of every key the run logged. */
  latest(runId: string): Record<string, MetricSample> {
    const id = this.runs.row('latestMetrics', runId).id;
    const out: Record<string, MetricSample> = {};
    for (const key of this.sql.keys.all({ runId: id }) as string[]) {
      const row = this.sql.latest.get({ runId: id, key }) as SampleRow | undefined;
      if (row) out[key] = toSample(row);
    }
    return out;
  }
}
