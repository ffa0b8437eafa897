/** Short-lived notices for things that happen away from where the user acted (a run failing in the background). */
import { defineStore } from 'pinia';
import { ref } from 'vue';

export interface Notice {
  id: number;
  kind: 'info' | 'error' | 'success';
  title: string;
  detail?: string;
}

export const useNotices = defineStore('notices', () => {
  const items = ref<Notice[]>([]);
  let next = 1;
  function push(kind: Notice['kind'], title: string, detail?: string, ttlMs = 6000): void {
    const id = next++;
    items.value.push({ id, kind, title, detail });
    if (items.value.length > 4) items.value.shift();
    setTimeout(() => dismiss(id), ttlMs);
  }
  function dismiss(id: number): void {
    items.value = items.value.filter((n) => n.id !== id);
  }
  return { items, push, dismiss };
});
