/**
 * The ECharts option of the transport plan's heat map (crop 1's cells down, crop 2's across). Its
 * colour bar carries a scale — the mass at each end (0 and the plan's largest entry) and what the
 * colour means — since a bar of colours alone says nothing about how much mass a cell moves.
 */
import type { TransportPlan } from '../../shared/api/types';
import { VIRIDIS } from './colormap';
import { formatNumber } from './format';

export interface PlanTheme {
  text: string;
  muted: string;
  grid: string;
  tooltipBg: string;
}

/** The colour bar's end labels: [high, low], as ECharts' visualMap `text` wants them. */
export function planScaleLabels(max: number): [string, string] {
  return [`π ${formatNumber(max || 1, 3)}`, 'π 0'];
}

export function planMatrixOption(p: TransportPlan, t: PlanTheme): Record<string, unknown> {
  const n1 = p.grid1[0] * p.grid1[1];
  const n2 = p.grid2[0] * p.grid2[1];
  const data: [number, number, number][] = [];
  let max = 0;
  for (let i = 0; i < n1; i++)
    for (let j = 0; j < n2; j++) {
      const v = p.plan[i * n2 + j]!;
      max = Math.max(max, v);
      data.push([j, i, v]);
    }
  return {
    animation: false,
    grid: { left: 40, right: 12, top: 10, bottom: 64 },
    tooltip: {
      backgroundColor: t.tooltipBg,
      borderColor: t.grid,
      textStyle: { color: t.text, fontSize: 11 },
      formatter: (x: { value: [number, number, number] }) =>
        `crop 1 cell ${x.value[1]} → crop 2 cell ${x.value[0]}<br/>π = ${formatNumber(x.value[2], 4)}<br/>cost = ${formatNumber(p.cost[x.value[1] * n2 + x.value[0]] ?? NaN, 4)}`,
    },
    xAxis: {
      type: 'category',
      data: Array.from({ length: n2 }, (_, j) => j),
      name: 'crop 2',
      nameLocation: 'middle',
      nameGap: 22,
      axisLabel: { color: t.muted, fontSize: 9, interval: Math.max(0, Math.floor(n2 / 10) - 1) },
      nameTextStyle: { color: t.muted },
    },
    yAxis: {
      type: 'category',
      data: Array.from({ length: n1 }, (_, i) => i),
      name: 'crop 1',
      nameLocation: 'middle',
      nameGap: 28,
      inverse: true,
      axisLabel: { color: t.muted, fontSize: 9, interval: Math.max(0, Math.floor(n1 / 10) - 1) },
      nameTextStyle: { color: t.muted },
    },
    visualMap: {
      type: 'continuous',
      min: 0,
      max: max || 1,
      calculable: false,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemHeight: 120,
      itemWidth: 10,
      // Without `text` a non-calculable continuous bar shows no numbers at all.
      text: planScaleLabels(max),
      textGap: 6,
      inRange: { color: VIRIDIS },
      textStyle: { color: t.muted, fontSize: 10 },
    },
    series: [{ type: 'heatmap', data, progressive: 0 }],
  };
}
