/** The configured Slurm clusters (never their tokens) and each one's last connection test. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ClusterSaveArgs } from '../../shared/api/methods';
import type { ClusterTestResult } from '../../shared/api/types';
import type { SlurmClusterSummary } from '../../shared/dto';
import { api } from '../api/studio';

export const useClusters = defineStore('clusters', () => {
  const list = ref<SlurmClusterSummary[]>([]);
  const loaded = ref(false);
  /** The last test of each cluster, by name; a save forgets it (the settings it tested changed). */
  const tests = ref<Record<string, ClusterTestResult>>({});
  const testing = ref<Record<string, boolean>>({});

  async function refresh(): Promise<void> {
    list.value = await api.clusters.list();
    loaded.value = true;
  }

  async function save(settings: ClusterSaveArgs): Promise<SlurmClusterSummary> {
    const saved = await api.clusters.save(settings);
    delete tests.value[saved.name];
    await refresh();
    return saved;
  }

  async function remove(name: string): Promise<void> {
    await api.clusters.remove({ name });
    delete tests.value[name];
    await refresh();
  }

  async function test(name: string): Promise<ClusterTestResult> {
    testing.value[name] = true;
    try {
      const result = await api.clusters.test({ name });
      tests.value[name] = result;
      return result;
    } finally {
      delete testing.value[name];
    }
  }

  let connected = false;
  function connect(): void {
    if (connected) return;
    connected = true;
    // Another window or `selfemd clusters add` changed them.
    api.on('store.changed', (c) => {
      if (c.tables.includes('clusters')) void refresh();
    });
  }

  return { list, loaded, tests, testing, refresh, save, remove, test, connect };
});
