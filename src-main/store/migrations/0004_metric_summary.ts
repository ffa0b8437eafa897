import type { Migration } from '../migrate';

/**
 * The chart data of a long run in O(points shown) rows (issue 15, load): `metric_summary` holds, for
 * every (run, key) and every level L of SUMMARY_LEVELS, one row per block of 2^L consecutive steps
 * (block = step >> L) that has points: how many, and its lowest and highest sample (step, value, wall
 * time). The lowest is the first of equal values and ignores NaN unless the block has nothing else;
 * the highest is the block's first NaN if it has one, else the first of its largest values
 * (downsample.ts, `below`/`above`, the rule the charts' min/max downsampling has always used).
 * A level's block is the better of its two children at the level below, so each level is built from
 * the one under it. MetricRepository.append keeps it current in the transaction that writes the
 * points; this migration builds it for the runs already stored.
 */
/**
 * The levels summarised: blocks of 8 to 2^24 steps. The chart path reads the finest level whose blocks
 * fit its points; a shorter series (≤ 2 × its points) is read whole. Part of this migration's SQL, so
 * never changed: another set of levels is a new migration.
 */
export const SUMMARY_LEVELS: readonly number[] = Array.from({ length: 22 }, (_, i) => i + 3);

const lowest = 'ORDER BY v IS NULL, v, s';
const highest = 'ORDER BY hv IS NULL DESC, hv DESC, hs';

/** Level `level`'s rows from `source` (columns run_id, key, b, n, s, v, w, hs, hv, hw; one row per child). */
const buildLevel = (level: number, source: string): string => `
INSERT INTO metric_summary (run_id, key, level, block, n, lo_step, lo_value, lo_wall, hi_step, hi_value, hi_wall)
SELECT run_id, key, ${level}, b, n, s, v, w, top_s, top_v, top_w FROM (
  SELECT run_id, key, b, s, v, w,
         sum(n) OVER blk AS n,
         row_number() OVER low AS r,
         first_value(hs) OVER high AS top_s,
         first_value(hv) OVER high AS top_v,
         first_value(hw) OVER high AS top_w
  FROM (${source})
  WINDOW blk AS (PARTITION BY run_id, key, b),
         low AS (blk ${lowest}),
         high AS (blk ${highest} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
) WHERE r = 1;`;

const [first, ...rest] = SUMMARY_LEVELS;

/** Fills an empty metric_summary from metrics, level by level (what the migration runs on stored runs). */
export const BUILD_METRIC_SUMMARY = [
  buildLevel(
    first!,
    `SELECT run_id, key, step >> ${first} AS b, 1 AS n, step AS s, value AS v, wall_time AS w, step AS hs, value AS hv, wall_time AS hw FROM metrics`,
  ),
  ...rest.map((level) =>
    buildLevel(
      level,
      `SELECT run_id, key, block >> 1 AS b, n, lo_step AS s, lo_value AS v, lo_wall AS w, hi_step AS hs, hi_value AS hv, hi_wall AS hw FROM metric_summary WHERE level = ${level - 1}`,
    ),
  ),
].join('\n');

export const migration: Migration = {
  id: 4,
  name: 'metric_summary',
  sql: `
CREATE TABLE metric_summary (
  run_id   TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key      TEXT    NOT NULL,
  -- a block spans 2^level steps: block = step >> level
  level    INTEGER NOT NULL,
  block    INTEGER NOT NULL,
  n        INTEGER NOT NULL CHECK (n >= 1),
  -- value NULL stands for NaN, as in metrics
  lo_step  INTEGER NOT NULL,
  lo_value REAL,
  lo_wall  REAL    NOT NULL,
  hi_step  INTEGER NOT NULL,
  hi_value REAL,
  hi_wall  REAL    NOT NULL,
  PRIMARY KEY (run_id, key, level, block)
) WITHOUT ROWID;
${BUILD_METRIC_SUMMARY}
`,
};
