/**
 * The stored min/max summary behind long charts (metric_summary, migration 0004): the store's
 * downsampled answer equals downsampleByBlocks over every stored sample, whether the summary was kept
 * by the write path (batches, resumed runs rewriting steps, NaN, sparse steps) or built
 * by the migration from runs stored before it; and a 100 000-point series loads in time.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricInput, MetricSample } from '../../shared/dto/metrics';
import { openStore } from '../../src-main/store/db';
import { downsampleByBlocks, downsampleIndices } from '../../src-main/store/downsample';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { migrate } from '../../src-main/store/migrate';
import { MIGRATIONS } from '../../src-main/store/migrations/index';
import { BUILD_METRIC_SUMMARY, SUMMARY_LEVELS } from '../../src-main/store/migrations/0004_metric_summary';
import { pretrainRun, tempStoreDir } from './helpers';

/** Deterministic pseudo-random numbers in [0, 1) (LCG). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** A noisy curve with NaN, ±Infinity, repeated values (ties) and a spike. */
function value(r: () => number, step: number): number {
  const u = r();
  if (u < 0.002) return NaN;
  if (u < 0.003) return Infinity;
  if (u < 0.004) return -Infinity;
  if (u < 0.1) return 0.5; // ties: the first of equals is kept
  return 1 / Math.sqrt(Math.abs(step) + 1) + r() * 0.1;
}

const samplesOf = (file: string, runId: string, key: string): MetricSample[] => {
  const db = new Database(file, { readonly: true });
  try {
    return (
      db
        .prepare('SELECT step, value, wall_time FROM metrics WHERE run_id = ? AND key = ? ORDER BY step')
        .raw()
        .all(runId, key) as [number, number | null, number][]
    ).map(([step, v, wallTime]) => ({ step, value: v ?? NaN, wallTime }));
  } finally {
    db.close();
  }
};

const summaryRows = (db: Database.Database): unknown[] =>
  db.prepare('SELECT * FROM metric_summary ORDER BY run_id, key, level, block').raw().all();

/**
 * Checks `got` is downsampleByBlocks's answer at a level of SUMMARY_LEVELS, and the level the rule
 * picks: one below the finest whose blocks number at most the buckets (or that finest one itself).
 */
function expectBlocksAnswer(got: MetricSample[], all: MetricSample[], maxPoints: number): void {
  const buckets = Math.floor((maxPoints - 2) / 2);
  const blockCount = (level: number) => new Set(all.map((s) => Math.floor(s.step / 2 ** level))).size;
  const fits = SUMMARY_LEVELS.find((l) => blockCount(l) <= buckets)!;
  const level = fits > SUMMARY_LEVELS[0]! ? fits - 1 : fits;
  expect(got).toEqual(downsampleByBlocks(all, level, maxPoints));
  expect(got.length).toBeLessThanOrEqual(maxPoints);
}

describe('metric summary', () => {
  let tmp: ReturnType<typeof tempStoreDir>;
  let store: ExperimentStore;
  let runId: string;
  beforeEach(() => {
    tmp = tempStoreDir();
    store = openStore(tmp.file('studio.db'));
    runId = store.createRun(pretrainRun()).id;
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('answers as downsampleByBlocks over the stored samples, kept across batches and rewritten steps', () => {
    const r = lcg(7);
    const points = (from: number, to: number, every = 1): MetricInput[] => {
      const out: MetricInput[] = [];
      for (let step = from; step < to; step += every)
        out.push(
          { runId, key: 'loss', step, value: value(r, step), wallTime: 1e12 + step },
          { runId, key: 'sparse', step: step * 7 + 3, value: value(r, step), wallTime: 2e12 + step },
        );
      return out;
    };
    // Batches as a writer commits them, a resumed run rewriting steps 9 000–12 999 with new values,
    // then steps out of order and a gap.
    for (let from = 0; from < 20_000; from += 997)
      store.appendMetrics(points(from, Math.min(from + 997, 20_000)));
    store.appendMetrics(points(9_000, 13_000));
    store.appendMetrics(points(30_000, 31_000, 3));
    store.appendMetrics(points(25_000, 25_100));
    store.appendMetrics([{ runId, key: 'loss', step: 12_345, value: 1e9, wallTime: 1 }]);

    for (const key of ['loss', 'sparse']) {
      const all = samplesOf(tmp.file('studio.db'), runId, key);
      for (const maxPoints of [4000, 1000, 301, 7]) {
        const [series] = store.getMetrics(runId, [key], { maxPoints });
        expect(series.totalPoints).toBe(all.length);
        expect(series.downsampled).toBe(true);
        expectBlocksAnswer(series.points, all, maxPoints);
      }
      // A range cutting a block: the same rule over the range's samples.
      for (const sinceStep of [10_003.5, 0]) {
        const range = all.filter((s) => s.step > sinceStep);
        const [series] = store.getMetrics(runId, [key], { maxPoints: 500, sinceStep });
        expect(series.totalPoints).toBe(range.length);
        expectBlocksAnswer(series.points, range, 500);
      }
    }
    const [loss] = store.getMetrics(runId, ['loss'], { maxPoints: 4000 });
    expect(loss.points.find((p) => p.step === 12_345)?.value).toBe(1e9);
  });

  it('keeps the old exact answer for a series up to twice the points asked', () => {
    const r = lcg(3);
    const all = Array.from({ length: 7_000 }, (_, step) => ({ step, value: value(r, step), wallTime: step }));
    store.appendMetrics(all.map((s) => ({ runId, key: 'loss', ...s })));
    const [series] = store.getMetrics(runId, ['loss'], { maxPoints: 4000 });
    expect(series.points).toEqual(
      downsampleIndices(
        all.map((s) => s.value),
        4000,
      ).map((i) => all[i]),
    );
  });

  it('keeps what the old answer shows of a long series: ends, spikes, NaN, the extremes', () => {
    const r = lcg(11);
    const all = Array.from({ length: 50_000 }, (_, step) => ({
      step,
      value: step === 31_234 ? 1e6 : step === 40_000 ? NaN : step === 777 ? -3 : 1 + r(),
      wallTime: step,
    }));
    store.appendMetrics(all.map((s) => ({ runId, key: 'loss', ...s })));
    const [series] = store.getMetrics(runId, ['loss'], { maxPoints: 4000 });
    const old = downsampleIndices(
      all.map((s) => s.value),
      4000,
    ).map((i) => all[i]!);
    // Both: first and last, the spike, the NaN, the minimum, within budget and about as many points.
    for (const answer of [series.points, old]) {
      expect(answer[0]).toEqual(all[0]);
      expect(answer.at(-1)).toEqual(all.at(-1));
      expect(answer.find((p) => p.step === 31_234)?.value).toBe(1e6);
      expect(answer.find((p) => p.step === 40_000)?.value).toBeNaN();
      expect(answer.find((p) => p.step === 777)?.value).toBe(-3);
      expect(answer.length).toBeLessThanOrEqual(4000);
    }
    expect(series.points.length).toBeGreaterThan(3_900);
  });

  it('the write path keeps the same summary the migration builds', () => {
    const r = lcg(5);
    const other = store.createRun(pretrainRun({ name: 'other' })).id;
    for (let from = 0; from < 6_000; from += 500)
      store.appendMetrics(
        [runId, other].flatMap((id) =>
          Array.from({ length: 500 }, (_, i) => ({
            runId: id,
            key: 'loss',
            step: from + i,
            value: value(r, i),
          })),
        ),
      );
    store.appendMetrics([{ runId, key: 'loss', step: 4_100, value: -1 }]);
    store.close();
    const db = new Database(tmp.file('studio.db'));
    const kept = summaryRows(db);
    db.exec('DELETE FROM metric_summary');
    db.exec(BUILD_METRIC_SUMMARY);
    expect(summaryRows(db)).toEqual(kept);
    expect(kept.length).toBeGreaterThan(2 * 750);
    db.close();
    store = openStore(tmp.file('studio.db'));
  });

  it('loads a 100 000-point series in under 200 ms, reading the summary', () => {
    const r = lcg(13);
    for (let from = 0; from < 100_000; from += 20_000)
      store.appendMetrics(
        Array.from({ length: 20_000 }, (_, i) => ({
          runId,
          key: 'loss',
          step: from + i,
          value: value(r, from + i),
          wallTime: from + i,
        })),
      );
    store.getMetrics(runId, ['loss'], { maxPoints: 4000 }); // statements warm
    const times: number[] = [];
    let series;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      [series] = store.getMetrics(runId, ['loss'], { maxPoints: 4000 });
      times.push(performance.now() - t0);
    }
    expect(series!.totalPoints).toBe(100_000);
    expect(series!.points.length).toBeLessThanOrEqual(4000);
    // The median of five: one descheduling on a shared machine is not the store's time.
    expect(times.sort((a, b) => a - b)[2]).toBeLessThan(200);
  });
});

describe('migration 0004 on a store from before it', () => {
  let tmp: ReturnType<typeof tempStoreDir>;
  beforeEach(() => (tmp = tempStoreDir()));
  afterEach(() => tmp.cleanup());

  it('builds the summary of the runs already stored, and their charts answer as the rule says', () => {
    const file = tmp.file('old.db');
    const db = new Database(file);
    migrate(db, MIGRATIONS.slice(0, 3), file);
    const insertRun = db.prepare(
      `INSERT INTO runs (id, kind, name, method, backbone, config, status, created_at, updated_at)
       VALUES (?, 'pretrain', ?, 'byol', 'resnet18', '{}', 'completed', 0, 0)`,
    );
    const insert = db.prepare(
      'INSERT INTO metrics (run_id, key, step, value, wall_time) VALUES (?, ?, ?, ?, ?)',
    );
    const r = lcg(17);
    db.transaction(() => {
      for (const id of ['run-a', 'run-b']) {
        insertRun.run(id, id);
        for (let step = 0; step < 30_000; step++) {
          insert.run(id, 'loss', step, id === 'run-b' && step === 29_000 ? null : value(r, step), step);
          if (step % 10 === 0) insert.run(id, 'eval', step, r(), step);
        }
      }
    })();
    db.close();

    const store = openStore(file);
    try {
      expect(store.schemaVersion).toBe(MIGRATIONS.length);
      for (const id of ['run-a', 'run-b'])
        for (const key of ['loss', 'eval']) {
          const all = samplesOf(file, id, key);
          const [series] = store.getMetrics(id, [key], { maxPoints: 1000 });
          expect(series.totalPoints).toBe(all.length);
          expectBlocksAnswer(series.points, all, 1000);
        }
      const [b] = store.getMetrics('run-b', ['loss'], { maxPoints: 1000 });
      expect(b.points.some((p) => Number.isNaN(p.value))).toBe(true);
      // And it keeps it from here on: a resumed run's new steps.
      store.appendMetrics([{ runId: 'run-a', key: 'loss', step: 30_000, value: -5, wallTime: 1 }]);
      const [after] = store.getMetrics('run-a', ['loss'], { maxPoints: 1000 });
      expectBlocksAnswer(after.points, samplesOf(file, 'run-a', 'loss'), 1000);
    } finally {
      store.close();
    }
  });
});
