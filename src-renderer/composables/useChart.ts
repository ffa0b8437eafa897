/**
 * An ECharts instance tied to a component's element: created on mount (then `render` draws it),
 * resized with the element, disposed on unmount. `chart()` is null before mount and after unmount.
 */
import { onBeforeUnmount, onMounted, type Ref } from 'vue';
import { echarts } from '../lib/echarts';

export function useChart(
  el: Ref<HTMLElement | null>,
  render: () => void,
): { chart: () => echarts.ECharts | null } {
  let chart: echarts.ECharts | null = null;
  let observer: ResizeObserver | null = null;
  onMounted(() => {
    chart = echarts.init(el.value!, undefined, { renderer: 'canvas' });
    render();
    observer = new ResizeObserver(() => chart?.resize());
    observer.observe(el.value!);
  });
  onBeforeUnmount(() => {
    observer?.disconnect();
    chart?.dispose();
    chart = null;
  });
  return { chart: () => chart };
}
