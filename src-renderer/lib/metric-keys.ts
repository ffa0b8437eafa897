/** The trainer's metric keys and how the studio labels them. */
export const METRIC_LABELS: Record<string, string> = {
  'loss/total': 'total loss',
  'loss/global': 'BYOL term',
  'loss/emd': 'EMD term',
  'opt/lr': 'learning rate',
  'opt/tau': 'τ (EMA)',
  'monitor/collapse_std': 'collapse monitor (std)',
  'perf/step_ms': 'step time (ms)',
};

export const LOSS_KEYS = ['loss/total', 'loss/global', 'loss/emd'];
export const SCHEDULE_KEYS = ['opt/lr', 'opt/tau'];
export const COLLAPSE_KEY = 'monitor/collapse_std';
export const STEP_TIME_KEY = 'perf/step_ms';

export const metricLabel = (key: string): string => METRIC_LABELS[key] ?? key;

/** Distinct colours for overlaid runs and series (ordered for contrast on dark and light). */
export const PALETTE = [
  '#4f9dff',
  '#f5a524',
  '#2fbf71',
  '#e5484d',
  '#a77bf3',
  '#12b5b0',
  '#e87ec0',
  '#9aa4b2',
];
