/**
 * The stored min/max summary of metric series (table metric_summary, migration 0004): per (run, key),
 * for each level L, one row per block of 2^L steps holding its count and its lowest and highest
 * sample. It lets the charts load a long run in O(points shown) rows: the 100 000-step run of the
 * load scenario read every value of six keys (600 000 rows, 0.4–0.8 s here) to keep 4 000 a series.
 *
 * Kept current by the one metrics write path (MetricRepository.append), inside the transaction that
 * writes the points: every block holding a written step is recomputed, from the stored rows at the
 * finest level and from its two children above, so a resumed run's rewritten steps (an upsert that
 * may replace a block's extreme) leave no stale extreme behind.
 */
import type Database from 'better-sqlite3';
import type { MetricSample } from '../../shared/dto/metrics';
import { extremesOf, groupBlocks, mergeExtremes, samplesOfBlocks, type Extremes } from './downsample';
import { SUMMARY_LEVELS } from './migrations/0004_metric_summary';
import { prepareStatements } from './statements';

const FINEST = SUMMARY_LEVELS[0]!;
const COARSEST = SUMMARY_LEVELS[SUMMARY_LEVELS.length - 1]!;

const SQL = {
  rows: `SELECT step, value, wall_time FROM metrics
         WHERE run_id = @runId AND key = @key AND step BETWEEN @from AND @to ORDER BY step`,
  rowsAfter: `SELECT step, value, wall_time FROM metrics
              WHERE run_id = @runId AND key = @key AND step > @since AND step <= @to ORDER BY step`,
  children: `SELECT n, lo_step, lo_value, lo_wall, hi_step, hi_value, hi_wall, block FROM metric_summary
             WHERE run_id = @runId AND key = @key AND level = @level AND block BETWEEN @from AND @to ORDER BY block`,
  upsert: `INSERT INTO metric_summary (run_id, key, level, block, n, lo_step, lo_value, lo_wall, hi_step, hi_value, hi_wall)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, key, level, block) DO UPDATE SET
             n = excluded.n, lo_step = excluded.lo_step, lo_value = excluded.lo_value, lo_wall = excluded.lo_wall,
             hi_step = excluded.hi_step, hi_value = excluded.hi_value, hi_wall = excluded.hi_wall`,
  remove: 'DELETE FROM metric_summary WHERE run_id = ? AND key = ? AND level = ? AND block = ?',
  total: 'SELECT sum(n) FROM metric_summary WHERE run_id = @runId AND key = @key AND level = @level',
  // How many blocks a level has from `from` on, counting no further than `cap`.
  blockCount: `SELECT count(*) FROM (SELECT 1 FROM metric_summary
               WHERE run_id = @runId AND key = @key AND level = @level AND block >= @from LIMIT @cap)`,
  blocks: `SELECT n, lo_step, lo_value, lo_wall, hi_step, hi_value, hi_wall FROM metric_summary
           WHERE run_id = @runId AND key = @key AND level = @level AND block >= @from ORDER BY block`,
};

type SampleRow = [step: number, value: number | null, wallTime: number];
type BlockRow = [
  n: number,
  loStep: number,
  loValue: number | null,
  loWall: number,
  hiStep: number,
  hiValue: number | null,
  hiWall: number,
];

const sample = (step: number, value: number | null, wallTime: number): MetricSample => ({
  step,
  value: value ?? NaN,
  wallTime,
});
const toExtremes = ([n, ls, lv, lw, hs, hv, hw]: BlockRow): Extremes => ({
  n,
  lo: sample(ls, lv, lw),
  hi: sample(hs, hv, hw),
});
// SQLite keeps NaN as NULL (as in metrics).
const stored = (v: number): number | null => (Number.isNaN(v) ? null : v);

const push = <T>(into: Map<number, T[]>, block: number, item: T): void => {
  const list = into.get(block);
  if (list) list.push(item);
  else into.set(block, [item]);
};

/** `blocks` as ascending [from, to] stretches, a new one where a gap of more than 8 blocks opens. */
function stretches(blocks: Set<number>): [number, number][] {
  const sorted = [...blocks].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const b of sorted) {
    const last = out[out.length - 1];
    if (last && b - last[1] <= 8) last[1] = b;
    else out.push([b, b]);
  }
  return out;
}

export class MetricSummary {
  private readonly sql;

  constructor(db: Database.Database) {
    this.sql = prepareStatements(db, 'metric summary', SQL);
    for (const s of [this.sql.rows, this.sql.rowsAfter, this.sql.children, this.sql.blocks]) s.raw(true);
    this.sql.total.pluck(true);
    this.sql.blockCount.pluck(true);
  }

  /**
   * Recomputes, at every level, the blocks holding `steps` of (runId, key), which were just written.
   * Call inside the transaction that wrote them.
   */
  refresh(runId: string, key: string, steps: Iterable<number>): void {
    let blocks = new Set<number>();
    for (const step of steps) blocks.add(Math.floor(step / 2 ** FINEST));
    for (const level of SUMMARY_LEVELS) {
      const size = 2 ** level;
      // One read per stretch of neighbouring blocks: a batch of steps in a row reads its rows in one go.
      for (const [from, to] of stretches(blocks)) {
        const summaries =
          level === FINEST
            ? this.fromRows(runId, key, size, from, to)
            : this.fromChildren(runId, key, level, from, to);
        for (let block = from; block <= to; block++) {
          if (!blocks.has(block)) continue;
          const summary = summaries.get(block);
          if (!summary) this.sql.remove.run(runId, key, level, block);
          else {
            const { n, lo, hi } = summary;
            // Positional: binding by name costs about as much again in a bulk write.
            this.sql.upsert.run(
              runId,
              key,
              level,
              block,
              n,
              lo.step,
              stored(lo.value),
              lo.wallTime,
              hi.step,
              stored(hi.value),
              hi.wallTime,
            );
          }
        }
      }
      blocks = new Set([...blocks].map((b) => Math.floor(b / 2)));
    }
  }

  /** The finest level's blocks `from`…`to` summarised from their rows (a block without any is absent). */
  private fromRows(
    runId: string,
    key: string,
    size: number,
    from: number,
    to: number,
  ): Map<number, Extremes> {
    const rows = this.sql.rows.all({ runId, key, from: from * size, to: (to + 1) * size - 1 }) as SampleRow[];
    const byBlock = new Map<number, MetricSample[]>();
    for (const [s, v, w] of rows) push(byBlock, Math.floor(s / size), sample(s, v, w));
    return new Map([...byBlock].map(([block, samples]) => [block, extremesOf(samples)]));
  }

  /** Blocks `from`…`to` of `level` summarised from their children at the level below. */
  private fromChildren(
    runId: string,
    key: string,
    level: number,
    from: number,
    to: number,
  ): Map<number, Extremes> {
    const rows = this.sql.children.all({ runId, key, level: level - 1, from: 2 * from, to: 2 * to + 1 }) as [
      ...BlockRow,
      number,
    ][];
    const byBlock = new Map<number, Extremes[]>();
    for (const row of rows) push(byBlock, Math.floor(row[7] / 2), toExtremes(row as unknown as BlockRow));
    return new Map([...byBlock].map(([block, kids]) => [block, mergeExtremes(kids)]));
  }

  /** Points stored for (runId, key), from the coarsest level's few rows. */
  total(runId: string, key: string): number {
    return (this.sql.total.get({ runId, key, level: COARSEST }) as number | null) ?? 0;
  }

  /**
   * The series of (runId, key) after step `since` (`first` and `last` its first and last sample,
   * `total` its point count) in at most `maxPoints` samples (downsampleByBlocks's answer): the first and
   * last, and the lowest and highest of each of ⌊(maxPoints − 2) / 2⌋ buckets made of the blocks of
   * the level just finer than the finest level that has no more blocks than buckets (so each bucket
   * is one or two blocks). A first block that `since` cuts is summarised from its rows. Reads at most
   * about maxPoints summary rows. Null when no level is coarse enough (a tiny maxPoints): the caller
   * reads the series instead.
   */
  downsample(
    runId: string,
    key: string,
    range: { since: number; first: MetricSample; last: MetricSample; total: number },
    maxPoints: number,
  ): { level: number; points: MetricSample[] } | null {
    const buckets = Math.floor((maxPoints - 2) / 2);
    if (buckets < 1) return null;
    // Blocks hold at most 2^level points: no finer level can fit.
    const finest = Math.max(FINEST, Math.ceil(Math.log2(range.total / buckets)));
    for (let fits = finest; fits <= COARSEST; fits++) {
      const count = this.sql.blockCount.get({
        runId,
        key,
        level: fits,
        from: Math.floor(range.first.step / 2 ** fits),
        cap: buckets + 1,
      }) as number;
      if (count > buckets) continue;
      // The level below has at most twice as many blocks: bucketed, they make about maxPoints points.
      const level = fits > FINEST ? fits - 1 : fits;
      const size = 2 ** level;
      const head = Math.floor(range.first.step / size);
      const blocks = (this.sql.blocks.all({ runId, key, level, from: head }) as BlockRow[]).map(toExtremes);
      if (range.since >= head * size) {
        const part = this.sql.rowsAfter.all({ runId, key, since: range.since, to: (head + 1) * size - 1 });
        blocks[0] = extremesOf((part as SampleRow[]).map(([s, v, w]) => sample(s, v, w)));
      }
      return { level, points: samplesOfBlocks(range.first, groupBlocks(blocks, buckets), range.last) };
    }
    return null;
  }
}
