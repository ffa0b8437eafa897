import type { Migration } from '../migrate';

/**
 * Studies (issue 13): a comparison of backbone arms over fine-tune seeds. Its pretrainings and
 * fine-tunes stay ordinary runs; `study_runs` links each to its arm, role and seed (one run per slot,
 * so a resumed study finds what it already ran). `study_probes` holds each arm × seed probe with its
 * per-box outcomes (what the bootstrap over val images recounts). Deleting a run unlinks it; deleting
 * a study keeps its runs.
 */
export const migration: Migration = {
  id: 3,
  name: 'studies',
  sql: `
CREATE TABLE studies (
  id          TEXT    PRIMARY KEY,
  name        TEXT    NOT NULL,
  config      TEXT    NOT NULL CHECK (json_valid(config)),
  arms        TEXT    NOT NULL CHECK (json_valid(arms)),
  seeds       INTEGER NOT NULL CHECK (seeds >= 1),
  budget      TEXT    NOT NULL,
  status      TEXT    NOT NULL DEFAULT 'running'
              CHECK (status IN ('running', 'paused', 'interrupted', 'completed', 'failed')),
  error       TEXT,
  result      TEXT    CHECK (result IS NULL OR json_valid(result)),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX studies_by_created ON studies (created_at);

CREATE TABLE study_runs (
  study_id TEXT    NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
  run_id   TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  arm      TEXT    NOT NULL,
  role     TEXT    NOT NULL CHECK (role IN ('pretrain', 'finetune')),
  -- -1 for an arm's pretraining (one per arm, whatever the fine-tune seed)
  seed     INTEGER NOT NULL CHECK (seed >= -1),
  PRIMARY KEY (study_id, arm, role, seed)
);
CREATE INDEX study_runs_by_run ON study_runs (run_id);

CREATE TABLE study_probes (
  study_id   TEXT    NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
  arm        TEXT    NOT NULL,
  seed       INTEGER NOT NULL CHECK (seed >= 0),
  stats      TEXT    NOT NULL CHECK (json_valid(stats)),
  boxes      TEXT    NOT NULL CHECK (json_valid(boxes)),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (study_id, arm, seed)
);
`,
};
