/** ECharts with only what the studio draws (line, heat-map, bar and error-bar charts on canvas): a smaller bundle. */
import { BarChart, CustomChart, HeatmapChart, LineChart } from 'echarts/charts';
import {
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  LineChart,
  BarChart,
  CustomChart,
  HeatmapChart,
  GridComponent,
  TooltipComponent,
  DataZoomComponent,
  LegendComponent,
  MarkLineComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

export { echarts };

/** Chart colours from the page's CSS variables, so charts follow the theme. */
export function chartTheme(): { text: string; muted: string; grid: string; bg: string; tooltipBg: string } {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return {
    text: v('--text'),
    muted: v('--text-muted'),
    grid: v('--border'),
    bg: v('--panel'),
    tooltipBg: v('--panel-raised'),
  };
}
