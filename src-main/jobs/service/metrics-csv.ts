/** Metrics of several runs as one long-format CSV (run, key, step, value, time): what pandas and R read directly. */
import type { MetricsCsv } from '../../../shared/api/types';
import type { ExperimentStore } from '../../store';

function cell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function metricsCsv(
  store: ExperimentStore,
  runIds: readonly string[],
  keys?: readonly string[],
): MetricsCsv {
  const rows = ['run_id,run_name,method,key,step,value,wall_time'];
  for (const id of new Set(runIds)) {
    const run = store.getRun(id);
    for (const series of store.getMetrics(id, keys)) {
      for (const p of series.points)
        rows.push(
          [
            cell(run.id),
            cell(run.name),
            cell(run.method),
            cell(series.key),
            String(p.step),
            String(p.value),
            new Date(p.wallTime).toISOString(),
          ].join(','),
        );
    }
  }
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  return { filename: `selfemd-metrics-${stamp}.csv`, csv: `${rows.join('\n')}\n` };
}
