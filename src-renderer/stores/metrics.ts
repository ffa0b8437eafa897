/**
 * Metric series of the runs on screen: loaded once (downsampled to what a chart can show), then
 * extended by the live `metrics.points` events, which carry exactly what the writer committed.
 */
import { defineStore } from 'pinia';
import { ref, shallowRef, triggerRef } from 'vue';
import type { MetricPoint } from '../../shared/dto';
import type { XY } from '../lib/smoothing';
import { api } from '../api/studio';

/** Points kept per series: enough for a dense chart; long runs are downsampled (min/max buckets) by the store. */
const MAX_POINTS = 4000;

export const useMetrics = defineStore('metrics', () => {
  /** runId → key → [step, value]. Shallow: series are replaced or appended in place, then triggered. */
  const series = shallowRef<Map<string, Map<string, XY[]>>>(new Map());
  const loading = ref<Record<string, boolean>>({});
  const errors = ref<Record<string, string>>({});
  /** Epoch ms of the first point each run received live (for "time to first point"). */
  const firstLivePointAt = ref<Record<string, number>>({});

  /** Live points that arrive while a run's series are being fetched: applied once they are in. */
  const arriving = new Map<string, MetricPoint[]>();

  async function load(runId: string, force = false): Promise<void> {
    if ((series.value.has(runId) && !force) || loading.value[runId]) return;
    loading.value[runId] = true;
    arriving.set(runId, []);
    try {
      const result = await api.metrics.get({ runId, maxPoints: MAX_POINTS });
      const byKey = new Map<string, XY[]>();
      for (const s of result)
        byKey.set(
          s.key,
          s.points.map((p) => [p.step, p.value] as XY),
        );
      series.value.set(runId, byKey);
      append(byKey, arriving.get(runId) ?? []);
      delete errors.value[runId];
      triggerRef(series);
    } catch (e) {
      errors.value[runId] = (e as Error).message;
    } finally {
      arriving.delete(runId);
      loading.value[runId] = false;
    }
  }

  function append(byKey: Map<string, XY[]>, points: readonly MetricPoint[]): void {
    for (const p of points) {
      let s = byKey.get(p.key);
      if (!s) byKey.set(p.key, (s = []));
      const last = s[s.length - 1];
      if (last && last[0] >= p.step) {
        // A resumed run repeats steps after its checkpoint; a fetch may already hold a live point.
        const i = s.findIndex((q) => q[0] >= p.step);
        if (s[i]![0] === p.step) s[i] = [p.step, p.value];
        else s.splice(i, 0, [p.step, p.value]);
      } else s.push([p.step, p.value]);
    }
  }

  function get(runId: string, key: string): XY[] {
    return series.value.get(runId)?.get(key) ?? [];
  }

  function keys(runId: string): string[] {
    return [...(series.value.get(runId)?.keys() ?? [])];
  }

  function forget(runId: string): void {
    series.value.delete(runId);
    triggerRef(series);
  }

  let connected = false;
  function connect(): void {
    if (connected) return;
    connected = true;
    api.on('metrics.points', ({ runId, points }) => {
      arriving.get(runId)?.push(...points);
      const byKey = series.value.get(runId);
      if (!byKey) return;
      firstLivePointAt.value[runId] ??= Date.now();
      append(byKey, points);
      triggerRef(series);
    });
  }

  return { series, loading, errors, firstLivePointAt, load, get, keys, forget, connect };
});
