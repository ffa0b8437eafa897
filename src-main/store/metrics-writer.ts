/**
 * The one writer of metrics. Training reports a handful of scalars every step; a transaction per point
 * would spend the step's budget on fsyncs, so points are buffered and committed in batches: when
 * `maxBatch` points are waiting, `intervalMs` after the first waiting point, and on flush()/close().
 *
 * Guarantees:
 * - push() throws only for bad input (malformed point, unknown run), and then buffers none of the call's
 *   points; what was buffered before is untouched.
 * - A batch is one transaction: after a crash it is entirely present or entirely absent. onFlush sees a
 *   batch only after it committed.
 * - Storage failures are reported to `onError(error, dropped)`; without onError they are thrown by the
 *   next flush() or close(). SQLITE_BUSY and SQLITE_FULL (a full disk: isDiskFull) keep the batch for a
 *   retry, so freeing space loses nothing; points of a run deleted meanwhile are dropped (reported) and
 *   the rest of the batch is still written; any other failure drops the batch.
 * - The timer is unref'd: it never keeps a process alive, so callers must close() before exiting.
 */
import type { MetricInput, MetricPoint } from '../../shared/dto/metrics';
import { StoreError, isStoreError } from './errors';
import type { ExperimentStore } from './experiment-store';
import { checkMetricInput } from './repositories/metrics';

export interface MetricsWriterOptions {
  /** Commit as soon as this many points are waiting (default 500). */
  maxBatch?: number;
  /** Commit at most this long after the first waiting point (default 250 ms). */
  intervalMs?: number;
  /** After each commit, with the committed points (e.g. to stream them to live charts). */
  onFlush?: (points: readonly MetricPoint[]) => void;
  /** Storage failures, with the number of points they cost. */
  onError?: (error: Error, dropped: number) => void;
  /** Clock for points pushed without a wallTime (default Date.now). */
  now?: () => number;
}

const openWriters = new WeakMap<ExperimentStore, MetricsWriter>();

const isBusy = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
};

/** SQLite's answer when the database's disk (or its max_page_count) is full. */
export const isDiskFull = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL';
};

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

export class MetricsWriter {
  private buffer: MetricPoint[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private deferredError: Error | null = null;
  private readonly knownRuns = new Set<string>();
  private total = 0;
  private readonly maxBatch: number;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: ExperimentStore,
    private readonly opts: MetricsWriterOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 500;
    this.intervalMs = opts.intervalMs ?? 250;
    this.now = opts.now ?? Date.now;
    if (!Number.isSafeInteger(this.maxBatch) || this.maxBatch < 1)
      throw new StoreError(
        'invalid',
        `MetricsWriter: maxBatch must be a whole number ≥ 1, got ${this.maxBatch}`,
      );
    if (!Number.isFinite(this.intervalMs) || this.intervalMs < 0)
      throw new StoreError(
        'invalid',
        `MetricsWriter: intervalMs must be a number ≥ 0, got ${this.intervalMs}`,
      );
    if (openWriters.has(store))
      throw new StoreError(
        'conflict',
        `MetricsWriter: ${store.path} already has an open writer; metrics go through one writer`,
      );
    openWriters.set(store, this);
  }

  /** Points waiting for the next commit. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Points committed by this writer so far. */
  get written(): number {
    return this.total;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(points: MetricInput | readonly MetricInput[]): void {
    const where = 'MetricsWriter.push';
    if (this.closed) throw new StoreError('conflict', `${where}: the writer is closed`);
    const many = Array.isArray(points);
    const list: readonly unknown[] = many ? points : [points];
    const checked = list.map((p, i) => checkMetricInput(where, many ? `points[${i}]` : 'point', p, this.now));
    for (const runId of new Set(checked.map((p) => p.runId))) {
      if (this.knownRuns.has(runId)) continue;
      if (!this.store.hasRun(runId))
        throw new StoreError(
          'not-found',
          `${where}: run ${JSON.stringify(runId)} does not exist; no points were buffered`,
          {
            unknownRunIds: [runId],
          },
        );
      this.knownRuns.add(runId);
    }
    for (const p of checked) this.buffer.push(p);
    if (this.buffer.length >= this.maxBatch) this.write();
    else this.schedule();
  }

  /** Commits what is waiting; returns the number of points written. */
  flush(): number {
    const n = this.write();
    this.throwDeferred();
    return n;
  }

  /** Commits what is waiting and releases the store for another writer. Returns the number written. */
  close(): number {
    if (this.closed) return 0;
    const n = this.write();
    this.closed = true;
    this.clearTimer();
    if (openWriters.get(this.store) === this) openWriters.delete(this.store);
    this.throwDeferred();
    return n;
  }

  private schedule(): void {
    if (this.timer !== null || this.buffer.length === 0 || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.write();
    }, this.intervalMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private report(error: Error, dropped: number): void {
    if (this.opts.onError) this.opts.onError(error, dropped);
    else this.deferredError ??= error;
  }

  private throwDeferred(): void {
    const e = this.deferredError;
    this.deferredError = null;
    if (e) throw e;
  }

  /** Never throws: failures go to report(). */
  private write(): number {
    this.clearTimer();
    if (this.buffer.length === 0) return 0;
    const batch = this.buffer;
    this.buffer = [];
    let n: number;
    try {
      n = this.store.appendMetrics(batch);
    } catch (e) {
      const gone = isStoreError(e, 'not-found') ? (e.details.unknownRunIds ?? []) : [];
      if (gone.length > 0) {
        const goneSet = new Set(gone);
        for (const id of gone) this.knownRuns.delete(id);
        const keep = batch.filter((p) => !goneSet.has(p.runId));
        const dropped = batch.length - keep.length;
        this.report(
          new StoreError(
            'not-found',
            `MetricsWriter: dropped ${dropped} point(s) of run(s) deleted before they were written: ${gone.join(', ')}`,
            { unknownRunIds: gone },
            { cause: e },
          ),
          dropped,
        );
        this.buffer = keep.concat(this.buffer);
        return this.write();
      }
      if (isBusy(e) || isDiskFull(e)) {
        this.buffer = batch.concat(this.buffer);
        this.schedule();
        this.report(asError(e), 0);
        return 0;
      }
      this.report(asError(e), batch.length);
      return 0;
    }
    this.total += n;
    try {
      this.opts.onFlush?.(batch);
    } catch (e) {
      this.report(asError(e), 0);
    }
    return n;
  }
}
