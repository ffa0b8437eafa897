/** Runs, their live progress, and the actions on them. Kept current by the studio's events. */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RunProgressInfo } from '../../shared/api/types';
import type { RunRecord } from '../../shared/dto';
import { api } from '../api/studio';
import { useNotices } from './notices';

export type RunAction = 'pause' | 'resume' | 'cancel' | 'delete';

export const useRuns = defineStore('runs', () => {
  const list = ref<RunRecord[]>([]);
  const loaded = ref(false);
  const progress = ref<Record<string, RunProgressInfo>>({});
  /** The action in flight per run, so its buttons show it. */
  const busy = ref<Record<string, RunAction>>({});
  /** The last action error per run, shown next to that run's buttons. */
  const errors = ref<Record<string, { message: string; hint?: string }>>({});
  /** Selected for comparison. */
  const selected = ref<string[]>([]);

  const byId = computed(() => new Map(list.value.map((r) => [r.id, r])));

  async function refresh(): Promise<void> {
    const [runs, live] = await Promise.all([api.runs.list(), api.runs.progress()]);
    list.value = runs;
    progress.value = live;
    loaded.value = true;
    selected.value = selected.value.filter((id) => byId.value.has(id));
  }

  /**
   * Loads the list unless it is there. A failure comes back as the error the view shows where it is
   * (the studio may be down), not thrown.
   */
  async function ensureLoaded(): Promise<{ message: string; hint: string } | null> {
    try {
      if (!loaded.value) await refresh();
      return null;
    } catch (e) {
      return { message: (e as Error).message, hint: 'Is the studio running?' };
    }
  }

  function upsert(run: RunRecord): void {
    const i = list.value.findIndex((r) => r.id === run.id);
    if (i >= 0) list.value[i] = run;
    else list.value.unshift(run);
  }

  async function act(id: string, action: RunAction): Promise<void> {
    busy.value[id] = action;
    delete errors.value[id];
    try {
      if (action === 'delete') {
        await api.runs.delete({ id });
        list.value = list.value.filter((r) => r.id !== id);
        selected.value = selected.value.filter((x) => x !== id);
      } else {
        upsert(await api.runs[action]({ id }));
      }
    } catch (e) {
      const err = e as Error & { hint?: string };
      errors.value[id] = { message: err.message, hint: err.hint };
    } finally {
      delete busy.value[id];
    }
  }

  function toggleSelected(id: string): void {
    selected.value = selected.value.includes(id)
      ? selected.value.filter((x) => x !== id)
      : [...selected.value, id];
  }

  let connected = false;
  function connect(): void {
    if (connected) return;
    connected = true;
    const notices = useNotices();
    api.on('runs.status', ({ run }) => {
      const before = byId.value.get(run.id);
      upsert(run);
      if (run.status !== 'running') delete progress.value[run.id];
      if (before && before.status !== run.status && run.status === 'failed')
        notices.push('error', `Run “${run.name}” failed`, run.error ?? undefined, 12_000);
      if (before && before.status !== run.status && run.status === 'completed')
        notices.push('success', `Run “${run.name}” completed`);
    });
    api.on('runs.progress', ({ runId, progress: p }) => {
      progress.value[runId] = p;
      const run = byId.value.get(runId);
      if (run) {
        run.step = p.step;
        run.totalSteps = p.totalSteps;
      }
    });
    api.on('store.changed', (c) => {
      if (c.tables.includes('runs') && c.runIds.some((id) => !byId.value.has(id))) void refresh();
    });
  }

  return {
    list,
    loaded,
    progress,
    busy,
    errors,
    selected,
    byId,
    refresh,
    ensureLoaded,
    upsert,
    act,
    toggleSelected,
    connect,
  };
});
