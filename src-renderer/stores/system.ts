/** What the studio runs on, the connection to it, and the theme. */
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import type { SystemInfo } from '../../shared/api/types';
import { api, browserTransport } from '../api/studio';
import type { ConnectionState } from '../api/browser-transport';

export type Theme = 'dark' | 'light';

export const useSystem = defineStore('system', () => {
  const info = ref<SystemInfo | null>(null);
  const error = ref<string | null>(null);
  const connection = ref<ConnectionState>(browserTransport ? 'connecting' : 'open');
  const stored = localStorage.getItem('selfemd.theme');
  const theme = ref<Theme>(
    stored === 'light' || stored === 'dark'
      ? stored
      : window.matchMedia('(prefers-color-scheme: light)').matches
        ? 'light'
        : 'dark',
  );
  watch(
    theme,
    (t) => {
      document.documentElement.dataset.theme = t;
      localStorage.setItem('selfemd.theme', t);
    },
    { immediate: true },
  );

  async function load(): Promise<void> {
    try {
      info.value = await api.system.info();
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  // The GPU probe answers after the first load: the backend picker then lists webgpu's adapter.
  api.on('system.changed', (next) => (info.value = next));

  browserTransport?.onConnection((s) => {
    const wasDown = connection.value === 'lost' || connection.value === 'unauthorized';
    connection.value = s;
    if (s === 'open' && wasDown) void load();
  });

  return { info, error, connection, theme, load };
});
