import type { Migration } from '../migrate';

/**
 * Slurm clusters (issue 17): where a run may execute besides this machine. The settings are one JSON
 * column (shared/dto/clusters.ts, validated by shared/config/cluster.ts before they get here); the
 * JWT is a column of its own so that no query reading settings for a list, a log or an export ever
 * carries it: only ClusterRepository.settings() reads it, for the executor that talks to slurmrestd.
 */
export const migration: Migration = {
  id: 6,
  name: 'clusters',
  sql: `
CREATE TABLE clusters (
  name       TEXT    PRIMARY KEY CHECK (name GLOB '[a-z0-9]*' AND name <> 'local'),
  kind       TEXT    NOT NULL CHECK (kind IN ('slurm')),
  settings   TEXT    NOT NULL CHECK (json_valid(settings)),
  token      TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
`,
};
