/** What a committed write touched, so views showing those tables can refresh (no SQL crosses IPC). */
export type StoreTable =
  'datasets' | 'runs' | 'metrics' | 'checkpoints' | 'artifacts' | 'evaluations' | 'studies' | 'clusters';

export interface StoreChange {
  tables: StoreTable[];
  /** Runs whose rows (or child rows) changed; empty for dataset-only changes. */
  runIds: string[];
}
