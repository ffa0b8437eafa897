/** Datasets, their details and imports in progress. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ApiEvents } from '../../shared/api/events';
import type { DatasetDetails, ImportFormat } from '../../shared/api/types';
import type { DatasetRecord } from '../../shared/dto';
import { api } from '../api/studio';

export type ImportState = ApiEvents['datasets.importProgress'];

export const useDatasets = defineStore('datasets', () => {
  const list = ref<DatasetRecord[]>([]);
  const loaded = ref(false);
  const details = ref<Record<number, DatasetDetails>>({});
  const imports = ref<Record<string, ImportState>>({});

  async function refresh(): Promise<void> {
    const all = await api.datasets.list();
    // Oldest first: the demo datasets lead, imports follow in the order they were made.
    list.value = all.sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
    loaded.value = true;
  }

  async function loadDetails(id: number): Promise<DatasetDetails> {
    const d = await api.datasets.get({ id });
    details.value[id] = d;
    return d;
  }

  async function importPath(
    path: string,
    format: ImportFormat,
    options: { name?: string; imageDir?: string; split?: string } = {},
  ): Promise<DatasetRecord> {
    const { name, imageDir, split } = options;
    const importId = `imp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    imports.value[importId] = { importId, phase: 'scanning', done: 0, total: 0, message: `starting ${path}` };
    try {
      const record = await api.datasets.import({
        path,
        format,
        name: name || undefined,
        importId,
        imageDir,
        split,
      });
      await refresh();
      return record;
    } finally {
      delete imports.value[importId];
    }
  }

  async function addDemo(count: number, split: 'train' | 'val'): Promise<DatasetRecord> {
    const record = await api.datasets.addDemo({ count, split });
    await refresh();
    return record;
  }

  async function remove(id: number): Promise<void> {
    await api.datasets.delete({ id });
    delete details.value[id];
    await refresh();
  }

  let connected = false;
  function connect(): void {
    if (connected) return;
    connected = true;
    api.on('datasets.importProgress', (p) => {
      if (imports.value[p.importId]) imports.value[p.importId] = p;
    });
    api.on('store.changed', (c) => {
      if (c.tables.includes('datasets')) void refresh();
    });
  }

  return { list, loaded, details, imports, refresh, loadDetails, importPath, addDemo, remove, connect };
});
