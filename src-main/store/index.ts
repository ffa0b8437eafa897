/** The experiment store's public surface. */
export { openStore, type OpenStoreOptions } from './db';
export type { SecretBox } from './secret-box';
export {
  ExperimentStore,
  type ChangeListener,
  type ConnectionInfo,
  type MarkInterruptedOptions,
  type ClusterInput,
  type ExecutionUpdate,
  type StoredRunExecution,
} from './experiment-store';
export { MetricsWriter, isDiskFull, type MetricsWriterOptions } from './metrics-writer';
export { StoreError, isStoreError, type StoreErrorCode, type StoreErrorDetails } from './errors';
export { MIGRATIONS } from './migrations/index';
export { migrate, sqlHash, migrationLabel, type Migration, type MigrationResult } from './migrate';
export { downsampleMinMax } from './downsample';
export { differingConfigPaths } from './repositories/compare';
