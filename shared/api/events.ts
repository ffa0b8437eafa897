/**
 * What the studio pushes to the renderer. Metrics arrive after the one writer committed them, so a
 * point on a live chart is a point on disk.
 */
import type { CheckpointRecord, MetricPoint, RunRecord, StoreChange } from '../dto';
import type { ImportPhase, RunLogLine, RunProgressInfo, SystemInfo } from './types';

export interface ApiEvents {
  'runs.status': { run: RunRecord };
  'runs.progress': { runId: string; progress: RunProgressInfo };
  'runs.checkpoint': { runId: string; checkpoint: CheckpointRecord };
  'runs.log': { runId: string; line: RunLogLine };
  'metrics.points': { runId: string; points: MetricPoint[] };
  'datasets.importProgress': {
    importId: string;
    phase: ImportPhase;
    done: number;
    /** 0 while the total is not known yet. */
    total: number;
    message: string;
  };
  /** A committed write: views showing these tables refresh. */
  'store.changed': StoreChange;
  /** What system.info answers changed (the GPU probe finished): the new answer. */
  'system.changed': SystemInfo;
}

export type EventName = keyof ApiEvents;

const EVENT_NAMES: readonly EventName[] = [
  'runs.status',
  'runs.progress',
  'runs.checkpoint',
  'runs.log',
  'metrics.points',
  'datasets.importProgress',
  'store.changed',
  'system.changed',
];

export type StudioEvent = { [E in EventName]: { name: E; payload: ApiEvents[E] } }[EventName];

export function isEventName(v: unknown): v is EventName {
  return typeof v === 'string' && (EVENT_NAMES as readonly string[]).includes(v);
}
