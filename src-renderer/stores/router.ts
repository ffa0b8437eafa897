/** Hash routes (`#/runs/abc`, `#/compare?runs=a,b`, `#/finetune?parent=abc`): a reload or a shared link lands on the same screen. */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

export type RouteName =
  | 'datasets'
  | 'runs'
  | 'new-run'
  | 'finetune'
  | 'run'
  | 'compare'
  | 'transport'
  | 'export'
  | 'studies'
  | 'clusters';

export interface Route {
  name: RouteName;
  /** The id in `#/runs/<id>`, `#/datasets/<id>` or `#/studies/<id>`. */
  id: string | null;
  query: Record<string, string>;
}

function parseHash(hash: string): Route {
  const [pathPart = '', queryPart = ''] = hash.replace(/^#/, '').split('?');
  const parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(queryPart));
  const [head, second] = parts;
  switch (head) {
    case 'datasets':
      return { name: 'datasets', id: second ?? null, query };
    case 'runs':
      if (second === 'new') return { name: 'new-run', id: null, query };
      return second ? { name: 'run', id: second, query } : { name: 'runs', id: null, query };
    case 'studies':
      return { name: 'studies', id: second ?? null, query };
    case 'finetune':
    case 'compare':
    case 'transport':
    case 'export':
    case 'clusters':
      return { name: head, id: null, query };
    default:
      return { name: 'runs', id: null, query };
  }
}

export const useRouter = defineStore('router', () => {
  const hash = ref(window.location.hash);
  window.addEventListener('hashchange', () => (hash.value = window.location.hash));
  const route = computed(() => parseHash(hash.value));

  function go(path: string, query: Record<string, string | undefined> = {}): void {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v);
    const next = `#${path}${q.size ? `?${q.toString()}` : ''}`;
    if (next !== window.location.hash) window.location.hash = next;
  }

  /** Updates the query of the current route without adding a history entry per change. */
  function replaceQuery(query: Record<string, string | undefined>): void {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v);
    const base = window.location.hash.split('?')[0] || '#/';
    const next = `${base}${q.size ? `?${q.toString()}` : ''}`;
    history.replaceState(null, '', next);
    hash.value = next;
  }

  return { route, go, replaceQuery };
});
