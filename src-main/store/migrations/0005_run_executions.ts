import type { Migration } from '../migrate';

/**
 * Run executions (issue 17): where a run executes when it is not this machine's engine process. One
 * row per run sent to a cluster: the executor (the cluster's name), the scheduler's job id, state and
 * reason as last seen (run detail shows them), and the ingest offset: how many bytes of the run's
 * events file (<sharedFolder>/runs/<id>/events.jsonl, JSON lines the job writes) the store has taken
 * in. A supervisor that restarts follows on from that offset, so every line is taken once and in order.
 * A local run has no row.
 */
export const migration: Migration = {
  id: 5,
  name: 'run_executions',
  sql: `
CREATE TABLE run_executions (
  run_id        TEXT    PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  executor      TEXT    NOT NULL CHECK (executor <> '' AND executor <> 'local'),
  job_id        TEXT,
  state         TEXT,
  reason        TEXT,
  events_file   TEXT    NOT NULL,
  ingest_offset INTEGER NOT NULL DEFAULT 0 CHECK (ingest_offset >= 0),
  updated_at    INTEGER NOT NULL
);
`,
};
