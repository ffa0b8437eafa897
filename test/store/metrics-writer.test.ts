import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricPoint } from '../../shared/dto/metrics';
import { StoreError } from '../../src-main/store/errors';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { MetricsWriter } from '../../src-main/store/metrics-writer';
import { memoryStore, pretrainRun } from './helpers';

const stored = (store: ExperimentStore, runId: string, key = 'loss'): number[] =>
  store.getMetrics(runId, [key])[0].points.map((p) => p.step);

describe('MetricsWriter', () => {
  let store: ExperimentStore;
  let runId: string;
  let writer: MetricsWriter | undefined;
  beforeEach(() => {
    store = memoryStore();
    runId = store.createRun(pretrainRun()).id;
  });
  afterEach(() => {
    if (writer && !writer.isClosed) writer.close();
    store.close();
  });

  it('commits every maxBatch points, one batch per commit, and flush() writes the rest', () => {
    const batches: MetricPoint[][] = [];
    writer = new MetricsWriter(store, {
      maxBatch: 10,
      intervalMs: 60_000,
      onFlush: (p) => batches.push([...p]),
    });
    for (let step = 0; step < 25; step++) {
      writer.push({ runId, key: 'loss', step, value: 1 / (step + 1) });
      // Committed means readable: after the 10th and 20th point the store has them, not before.
      expect(stored(store, runId)).toHaveLength(step < 9 ? 0 : step < 19 ? 10 : 20);
    }
    expect(batches.map((b) => b.length)).toEqual([10, 10]);
    expect(batches[1].map((p) => p.step)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(writer.pending).toBe(5);
    expect(writer.flush()).toBe(5);
    expect(writer.flush()).toBe(0);
    expect(writer.written).toBe(25);
    expect(stored(store, runId)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('commits waiting points after intervalMs without more pushes', async () => {
    const flushed = new Promise<readonly MetricPoint[]>((resolve) => {
      writer = new MetricsWriter(store, { maxBatch: 1000, intervalMs: 30, onFlush: resolve });
    });
    const t0 = Date.now();
    writer!.push([
      { runId, key: 'loss', step: 0, value: 2 },
      { runId, key: 'loss', step: 1, value: 1 },
    ]);
    expect(stored(store, runId)).toEqual([]);
    const batch = await flushed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(batch.map((p) => p.step)).toEqual([0, 1]);
    expect(stored(store, runId)).toEqual([0, 1]);
    expect(writer!.pending).toBe(0);
  });

  it('close() writes what is left, and is the only writer per store until then', () => {
    writer = new MetricsWriter(store, { intervalMs: 60_000 });
    expect(() => new MetricsWriter(store)).toThrow(
      /already has an open writer; metrics go through one writer/,
    );
    writer.push({ runId, key: 'loss', step: 0, value: 1, wallTime: 123 });
    expect(writer.close()).toBe(1);
    expect(store.getMetrics(runId, ['loss'])[0].points).toEqual([{ step: 0, value: 1, wallTime: 123 }]);
    expect(() => writer!.push({ runId, key: 'loss', step: 1, value: 1 })).toThrow(
      'MetricsWriter.push: the writer is closed',
    );
    writer = new MetricsWriter(store); // the slot is free again
  });

  it('rejects bad points at push without losing anything already buffered', () => {
    writer = new MetricsWriter(store, { maxBatch: 100, intervalMs: 60_000, now: () => 777 });
    writer.push({ runId, key: 'loss', step: 0, value: 1 });
    expect(() => writer!.push({ runId, key: 'loss', step: 1.5, value: 1 })).toThrow(
      'MetricsWriter.push: point.step must be a whole number ≥ 0, got 1.5',
    );
    expect(() =>
      writer!.push([
        { runId, key: 'loss', step: 1, value: 1 },
        { runId, key: 'loss', step: 2, value: null as never },
      ]),
    ).toThrow('MetricsWriter.push: points[1].value must be a number, got null');
    let error: unknown;
    try {
      writer.push([{ runId: 'ghost', key: 'loss', step: 3, value: 1 }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'not-found', details: { unknownRunIds: ['ghost'] } });
    expect(writer.pending).toBe(1);
    writer.push({ runId, key: 'loss', step: 4, value: 4 });
    expect(writer.flush()).toBe(2);
    expect(store.getMetrics(runId, ['loss'])[0].points).toEqual([
      { step: 0, value: 1, wallTime: 777 },
      { step: 4, value: 4, wallTime: 777 },
    ]);
  });

  it('drops only the points of a run deleted while they waited, and reports them', () => {
    const other = store.createRun(pretrainRun()).id;
    const errors: [Error, number][] = [];
    writer = new MetricsWriter(store, {
      maxBatch: 100,
      intervalMs: 60_000,
      onError: (e, n) => errors.push([e, n]),
    });
    for (let step = 0; step < 3; step++) {
      writer.push({ runId, key: 'loss', step, value: step });
      writer.push({ runId: other, key: 'loss', step, value: step });
    }
    store.deleteRun(other);
    expect(writer.flush()).toBe(3);
    expect(stored(store, runId)).toEqual([0, 1, 2]);
    expect(errors).toHaveLength(1);
    expect(errors[0][1]).toBe(3);
    expect(errors[0][0]).toMatchObject({ code: 'not-found', details: { unknownRunIds: [other] } });
    expect(errors[0][0].message).toBe(
      `MetricsWriter: dropped 3 point(s) of run(s) deleted before they were written: ${other}`,
    );
  });

  it('without onError, a storage failure surfaces at the next flush, after the good points are written', () => {
    const other = store.createRun(pretrainRun()).id;
    writer = new MetricsWriter(store, { maxBatch: 4, intervalMs: 60_000 });
    writer.push({ runId: other, key: 'loss', step: 0, value: 0 });
    store.deleteRun(other);
    // The 4th point triggers a commit inside push(): push must not throw for it.
    writer.push([1, 2, 3].map((step) => ({ runId, key: 'loss', step, value: step })));
    expect(stored(store, runId)).toEqual([1, 2, 3]);
    writer.push({ runId, key: 'loss', step: 4, value: 4 });
    expect(() => writer!.flush()).toThrow(/dropped 1 point\(s\) of run\(s\) deleted/);
    expect(stored(store, runId)).toEqual([1, 2, 3, 4]);
    expect(writer.flush()).toBe(0); // the error was reported once
  });

  it('keeps a batch that met a full disk (SQLITE_FULL) and writes it once space is back', () => {
    // max_page_count makes SQLite answer exactly as on a full disk: SQLITE_FULL, the transaction rolled back.
    const db = (store as unknown as { db: Database.Database }).db;
    const errors: { code: unknown; dropped: number }[] = [];
    writer = new MetricsWriter(store, {
      maxBatch: 100,
      intervalMs: 60_000,
      onError: (e, dropped) => errors.push({ code: (e as { code?: unknown }).code, dropped }),
    });
    writer.push({ runId, key: 'loss', step: 0, value: 0 });
    writer.flush();
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const points = Array.from({ length: 400 }, (_, i) => ({ runId, key: 'loss', step: i + 1, value: i }));
    writer.push(points);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.code === 'SQLITE_FULL' && e.dropped === 0)).toBe(true);
    expect(stored(store, runId)).toEqual([0]);
    expect(writer.pending).toBe(400);

    db.pragma('max_page_count = 1073741823');
    expect(writer.flush()).toBe(400);
    expect(stored(store, runId)).toEqual(Array.from({ length: 401 }, (_, i) => i));
  });
});
