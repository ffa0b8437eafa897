/**
 * Esc closes what is open (a picker, the image viewer): a window-level key listener while the
 * component is mounted, so the key works wherever the focus is.
 */
import { onBeforeUnmount, onMounted } from 'vue';

export function useEscapeKey(close: () => void): void {
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== 'Escape' || e.defaultPrevented) return;
    e.preventDefault();
    close();
  };
  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
}
