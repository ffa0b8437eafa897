import type { Migration } from '../migrate';

/**
 * The first schema. Times are Unix epoch milliseconds; JSON columns are TEXT checked by json_valid.
 * Dataset and artifact kinds are checked in code, not by CHECK: those lists are expected to grow, and
 * SQLite can only change a CHECK by rebuilding the table. Run kind/status and evaluation kind drive
 * logic, so the database guards them too.
 */
export const migration: Migration = {
  id: 1,
  name: 'initial',
  sql: `
CREATE TABLE datasets (
  id               INTEGER PRIMARY KEY,
  name             TEXT    NOT NULL,
  kind             TEXT    NOT NULL,
  path             TEXT,
  created_at       INTEGER NOT NULL,
  image_count      INTEGER NOT NULL DEFAULT 0 CHECK (image_count >= 0),
  annotation_count INTEGER NOT NULL DEFAULT 0 CHECK (annotation_count >= 0),
  categories       TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(categories)),
  import_report    TEXT    NOT NULL DEFAULT '{"skipped":[]}' CHECK (json_valid(import_report)),
  split            TEXT,
  CHECK (path IS NOT NULL OR kind = 'demo')
);

CREATE TABLE runs (
  id            TEXT    PRIMARY KEY,
  kind          TEXT    NOT NULL CHECK (kind IN ('pretrain', 'finetune')),
  name          TEXT    NOT NULL,
  method        TEXT    NOT NULL,
  backbone      TEXT    NOT NULL,
  -- No ON DELETE: deleting a dataset that runs used is refused, so their provenance stays.
  dataset_id    INTEGER REFERENCES datasets (id),
  config        TEXT    NOT NULL CHECK (json_valid(config)),
  backend       TEXT    CHECK (backend IS NULL OR json_valid(backend)),
  status        TEXT    NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'paused', 'completed', 'failed', 'cancelled', 'interrupted')),
  created_at    INTEGER NOT NULL,
  started_at    INTEGER,
  updated_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  step          INTEGER NOT NULL DEFAULT 0 CHECK (step >= 0),
  total_steps   INTEGER CHECK (total_steps IS NULL OR total_steps >= 0),
  error         TEXT,
  parent_run_id TEXT    REFERENCES runs (id) ON DELETE SET NULL,
  pid           INTEGER,
  heartbeat_at  INTEGER
);
CREATE INDEX runs_by_created ON runs (created_at);
CREATE INDEX runs_by_status ON runs (status);
CREATE INDEX runs_by_dataset ON runs (dataset_id);
CREATE INDEX runs_by_parent ON runs (parent_run_id);

-- One value per (run, key, step): the primary key is the (run_id, key, step) index every curve query
-- walks, and WITHOUT ROWID stores the rows in that order. value NULL stands for NaN (SQLite keeps NaN as NULL).
CREATE TABLE metrics (
  run_id    TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key       TEXT    NOT NULL,
  step      INTEGER NOT NULL,
  value     REAL,
  wall_time REAL    NOT NULL,
  PRIMARY KEY (run_id, key, step)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
  id         INTEGER PRIMARY KEY,
  run_id     TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step       INTEGER NOT NULL CHECK (step >= 0),
  epoch      INTEGER,
  path       TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  bytes      INTEGER NOT NULL CHECK (bytes >= 0),
  is_last    INTEGER NOT NULL DEFAULT 0 CHECK (is_last IN (0, 1)),
  UNIQUE (run_id, step)
);
-- At most one "last" checkpoint per run: the one a resume starts from.
CREATE UNIQUE INDEX checkpoints_one_last ON checkpoints (run_id) WHERE is_last = 1;

CREATE TABLE artifacts (
  id         INTEGER PRIMARY KEY,
  run_id     TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind       TEXT    NOT NULL,
  path       TEXT    NOT NULL,
  meta       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),
  created_at INTEGER NOT NULL
);
CREATE INDEX artifacts_by_run ON artifacts (run_id, created_at);

CREATE TABLE evaluations (
  id              INTEGER PRIMARY KEY,
  run_id          TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  dataset_id      INTEGER NOT NULL REFERENCES datasets (id),
  kind            TEXT    NOT NULL CHECK (kind IN ('coco', 'voc')),
  checkpoint_step INTEGER,
  stats           TEXT    NOT NULL CHECK (json_valid(stats)),
  per_category    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(per_category)),
  created_at      INTEGER NOT NULL
);
CREATE INDEX evaluations_by_run ON evaluations (run_id, created_at);
CREATE INDEX evaluations_by_dataset ON evaluations (dataset_id);
`,
};
