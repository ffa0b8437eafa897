/**
 * Every migration, in order. Modules rather than .sql files so bundlers (esbuild for Electron) carry
 * them without copying assets. Append only: test/store/migrations.test.ts checks this list against the
 * files in this folder.
 */
import type { Migration } from '../migrate';
import { migration as m0001 } from './0001_initial';
import { migration as m0002 } from './0002_train_dataset';
import { migration as m0003 } from './0003_studies';
import { migration as m0004 } from './0004_metric_summary';
import { migration as m0005 } from './0005_run_executions';
import { migration as m0006 } from './0006_clusters';
import { migration as m0007 } from './0007_execution_resubmits';

export const MIGRATIONS: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005, m0006, m0007];
