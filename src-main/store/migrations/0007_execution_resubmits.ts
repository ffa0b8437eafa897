import type { Migration } from '../migrate';

/**
 * Resubmissions (issue 17): how many times in a row the supervisor sent a run out again on its own
 * after an end that was the scheduler's doing (a time limit, a preemption, a node failure, a requeued
 * attempt that could not start). Kept with the execution so that the cluster's bound (maxResubmits)
 * holds across supervisor restarts; a resume the user asks for starts the count again.
 */
export const migration: Migration = {
  id: 7,
  name: 'execution_resubmits',
  sql: `
ALTER TABLE run_executions ADD COLUMN resubmits INTEGER NOT NULL DEFAULT 0 CHECK (resubmits >= 0);
`,
};
