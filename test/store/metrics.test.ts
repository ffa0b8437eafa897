import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricInput } from '../../shared/dto/metrics';
import { StoreError } from '../../src-main/store/errors';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { manualClock, memoryStore, pretrainRun } from './helpers';

describe('metrics', () => {
  let store: ExperimentStore;
  let clock: ReturnType<typeof manualClock>;
  let runId: string;
  beforeEach(() => {
    clock = manualClock();
    store = memoryStore({ now: clock.now });
    runId = store.createRun(pretrainRun()).id;
  });
  afterEach(() => store.close());

  const curve = (key: string, steps: number, f: (s: number) => number): MetricInput[] =>
    Array.from({ length: steps }, (_, step) => ({ runId, key, step, value: f(step), wallTime: 1000 + step }));

  it('appends a batch and reads it back per key, ascending by step', () => {
    const n = store.appendMetrics([
      ...curve('loss', 50, (s) => 2 / (s + 1)),
      ...curve('lr', 50, (s) => 0.1 * s),
    ]);
    expect(n).toBe(100);
    expect(store.metricKeys(runId)).toEqual(['loss', 'lr']);
    const [loss, lr] = store.getMetrics(runId);
    expect(loss.key).toBe('loss');
    expect(loss.totalPoints).toBe(50);
    expect(loss.downsampled).toBe(false);
    expect(loss.points[0]).toEqual({ step: 0, value: 2, wallTime: 1000 });
    expect(loss.points[49]).toEqual({ step: 49, value: 2 / 50, wallTime: 1049 });
    expect(lr.points.map((p) => p.step)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(store.getMetrics(runId, ['lr'])).toHaveLength(1);
    expect(store.getMetrics(runId, ['never-logged'])[0]).toEqual({
      runId,
      key: 'never-logged',
      points: [],
      totalPoints: 0,
      downsampled: false,
    });
  });

  it('keeps NaN and ±Infinity, and stamps missing wall times with the clock', () => {
    store.appendMetrics([
      { runId, key: 'loss', step: 0, value: NaN },
      { runId, key: 'loss', step: 1, value: Infinity },
      { runId, key: 'loss', step: 2, value: -Infinity },
    ]);
    const [loss] = store.getMetrics(runId, ['loss']);
    expect(loss.points.map((p) => p.value)).toEqual([NaN, Infinity, -Infinity]);
    expect(loss.points.every((p) => p.wallTime === clock.now())).toBe(true);
  });

  it('replaces a point re-logged at the same step (a resumed run)', () => {
    store.appendMetrics(curve('loss', 10, () => 1));
    store.appendMetrics([{ runId, key: 'loss', step: 5, value: 0.25, wallTime: 9999 }]);
    const [loss] = store.getMetrics(runId, ['loss']);
    expect(loss.totalPoints).toBe(10);
    expect(loss.points[5]).toEqual({ step: 5, value: 0.25, wallTime: 9999 });
  });

  it('writes nothing when any point of a batch is bad, and says which', () => {
    store.appendMetrics(curve('loss', 3, () => 1));
    const bad = [...curve('loss', 3, () => 0.5).map((p) => ({ ...p, step: p.step + 3 }))];
    bad[2] = { ...bad[2], step: -4 };
    expect(() => store.appendMetrics(bad)).toThrow(
      'appendMetrics: points[2].step must be a whole number ≥ 0, got -4',
    );
    expect(() => store.appendMetrics([{ runId, key: '', step: 9, value: 1 }])).toThrow(
      /points\[0\]\.key must be a non-empty string/,
    );
    expect(() => store.appendMetrics([{ runId, key: 'x', step: 9, value: '1' as never }])).toThrow(
      'appendMetrics: points[0].value must be a number, got "1"',
    );
    let error: unknown;
    try {
      store.appendMetrics([
        ...curve('loss', 2, () => 0).map((p) => ({ ...p, step: p.step + 10 })),
        { runId: 'ghost', key: 'loss', step: 0, value: 1 },
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'not-found', details: { unknownRunIds: ['ghost'] } });
    expect((error as Error).message).toBe('appendMetrics: unknown run id(s) "ghost"; no points were written');
    const [loss] = store.getMetrics(runId, ['loss']);
    expect(loss.points.map((p) => [p.step, p.value])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ]);
  });

  it('returns only steps after sinceStep', () => {
    store.appendMetrics(curve('loss', 20, (s) => s));
    const [tail] = store.getMetrics(runId, ['loss'], { sinceStep: 16 });
    expect(tail.points.map((p) => p.step)).toEqual([17, 18, 19]);
    expect(tail.totalPoints).toBe(3);
  });

  it('downsamples long series keeping ends, extremes, spikes and NaN', () => {
    const steps = 20_000;
    const points = curve('loss', steps, (s) => 1 + 0.5 * Math.sin(s / 300) + (s % 7) * 1e-3);
    points[12_345] = { ...points[12_345], value: 50 }; // a one-step spike
    points[15_000] = { ...points[15_000], value: NaN }; // a one-step divergence
    points[3_333] = { ...points[3_333], value: -7 }; // the global minimum
    store.appendMetrics(points);

    const [loss] = store.getMetrics(runId, ['loss'], { maxPoints: 300 });
    expect(loss.totalPoints).toBe(steps);
    expect(loss.downsampled).toBe(true);
    expect(loss.points.length).toBeLessThanOrEqual(300);
    expect(loss.points.length).toBeGreaterThan(290);
    const s = loss.points.map((p) => p.step);
    expect(s[0]).toBe(0);
    expect(s[s.length - 1]).toBe(steps - 1);
    expect(s.every((x, i) => i === 0 || x > s[i - 1])).toBe(true);
    expect(loss.points.find((p) => p.step === 12_345)?.value).toBe(50);
    expect(loss.points.find((p) => p.step === 15_000)?.value).toBeNaN();
    expect(loss.points.find((p) => p.step === 3_333)?.value).toBe(-7);
    // Every kept sample is a stored one, unchanged.
    expect(
      loss.points.every((p) => Object.is(p.value, points[p.step].value) && p.wallTime === 1000 + p.step),
    ).toBe(true);

    const [fine] = store.getMetrics(runId, ['loss'], { maxPoints: steps });
    expect(fine.downsampled).toBe(false);
    expect(fine.points).toHaveLength(steps);
  });

  it('rejects bad queries and unknown runs', () => {
    expect(() => store.getMetrics(runId, ['loss'], { maxPoints: 1 })).toThrow(
      'getMetrics: maxPoints must be a whole number ≥ 2, got 1',
    );
    expect(() => store.getMetrics(runId, 'loss' as never)).toThrow(
      'getMetrics: keys must be a list, got "loss"',
    );
    expect(() => store.getMetrics('ghost')).toThrow('getMetrics: run "ghost" does not exist');
    expect(() => store.metricKeys('ghost')).toThrow('metricKeys: run "ghost" does not exist');
  });

  it('gives the latest sample of every key', () => {
    store.appendMetrics([...curve('loss', 30, (s) => 100 - s), ...curve('acc', 12, (s) => s / 100)]);
    expect(store.latestMetrics(runId)).toEqual({
      acc: { step: 11, value: 0.11, wallTime: 1011 },
      loss: { step: 29, value: 71, wallTime: 1029 },
    });
  });
});
