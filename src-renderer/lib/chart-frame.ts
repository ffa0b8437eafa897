/**
 * Where a line chart's legend, axis names and plot area go. The legend sits in a strip above the
 * axis names: at the old shared top edge, the right axis's name (τ on the schedule chart) was drawn
 * under the legend's last entry.
 */
export interface ChartFrame {
  grid: { left: number; right: number; top: number; bottom: number };
  legend: { show: boolean; top: number; right: number; itemHeight: number; itemWidth: number };
}

/** Height of the legend strip (one row of 11px text). */
const LEGEND_STRIP = 18;
/** Space above the plot for the axis names (ECharts draws them about 20px above the grid's top). */
const AXIS_NAME_STRIP = 26;

export function chartFrame(o: { legend: boolean; rightAxis: boolean; zoomSlider: boolean }): ChartFrame {
  return {
    grid: {
      left: 52,
      right: o.rightAxis ? 56 : 16,
      top: AXIS_NAME_STRIP + (o.legend ? LEGEND_STRIP : 0),
      bottom: o.zoomSlider ? 52 : 24,
    },
    legend: { show: o.legend, top: 0, right: 8, itemHeight: 8, itemWidth: 14 },
  };
}
