/**
 * Charts rendered to SVG by ECharts itself (server-side rendering, no browser): the transport plan's
 * colour bar has a scale, and a two-axis chart's legend does not sit on its right axis's name (τ).
 */
import { HeatmapChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { describe, expect, it } from 'vitest';
import type { TransportPlan } from '../../shared/api/types';
import { chartFrame } from '../../src-renderer/lib/chart-frame';
import { planMatrixOption } from '../../src-renderer/lib/plan-matrix-option';

echarts.use([
  LineChart,
  HeatmapChart,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  SVGRenderer,
]);

interface Text {
  text: string;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}
/** Every <text> of the SVG with an approximate box (width ≈ 0.6 em per character). */
function texts(svg: string): Text[] {
  const out: Text[] = [];
  for (const m of svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)) {
    const attrs = m[1]!;
    const num = (re: RegExp) => Number(re.exec(attrs)?.[1] ?? 0);
    const [tx, ty] = (/translate\(([-\d.]+) ([-\d.]+)\)/.exec(attrs) ?? [0, '0', '0']).slice(1).map(Number);
    const size = num(/font-size:([\d.]+)px/);
    const anchor = /text-anchor="(\w+)"/.exec(attrs)?.[1] ?? 'start';
    const width = m[2]!.length * size * 0.6;
    const x = tx! + num(/\sx="([-\d.]+)"/);
    const y = ty! + num(/\sy="([-\d.]+)"/);
    const x0 = anchor === 'end' ? x - width : anchor === 'middle' ? x - width / 2 : x;
    out.push({ text: m[2]!, x0, x1: x0 + width, y0: y - size / 2, y1: y + size / 2 });
  }
  return out;
}
const overlap = (a: Text, b: Text) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

function render(option: Record<string, unknown>, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  chart.setOption(option);
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

const theme = { text: '#ddd', muted: '#999', grid: '#444', tooltipBg: '#222' };

describe('the transport plan’s colour bar', () => {
  it('shows its scale: 0 at one end, the largest π at the other', () => {
    const plan = {
      grid1: [2, 2],
      grid2: [2, 2],
      plan: [0.1, 0.05, 0, 0.0125, 0.02, 0.03, 0.04, 0.06, 0.01, 0.0375, 0.02, 0.03, 0.04, 0.05, 0.0625, 0.1],
      cost: Array.from({ length: 16 }, () => 0.5),
    } as unknown as TransportPlan;
    const labels = texts(render(planMatrixOption(plan, theme), 500, 340)).map((t) => t.text);
    expect(labels).toContain('π 0');
    expect(labels).toContain('π 0.1');
  });
});

describe('a chart with a legend and a right axis (learning rate and τ)', () => {
  it('keeps the legend clear of both axis names', () => {
    const frame = chartFrame({ legend: true, rightAxis: true, zoomSlider: false });
    const svg = render(
      {
        animation: false,
        grid: frame.grid,
        legend: { ...frame.legend, textStyle: { fontSize: 11 } },
        xAxis: { type: 'value', name: 'step' },
        yAxis: [
          { type: 'value', name: 'lr', nameTextStyle: { align: 'left' } },
          { type: 'value', name: 'τ', nameTextStyle: { align: 'left' } },
        ],
        series: [
          {
            type: 'line',
            name: 'learning rate',
            data: [
              [0, 0.1],
              [9, 0.2],
            ],
          },
          {
            type: 'line',
            name: 'τ (EMA)',
            yAxisIndex: 1,
            data: [
              [0, 0.99],
              [9, 1],
            ],
          },
        ],
      },
      500,
      240,
    );
    const all = texts(svg);
    const legend = all.filter((t) => t.text === 'learning rate' || t.text === 'τ (EMA)');
    const names = all.filter((t) => t.text === 'lr' || t.text === 'τ');
    expect(legend).toHaveLength(2);
    expect(names).toHaveLength(2);
    for (const l of legend)
      for (const n of names) expect(overlap(l, n), `${l.text} on ${n.text}`).toBe(false);
  });
});
