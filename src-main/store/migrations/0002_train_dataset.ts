import type { Migration } from '../migrate';

/**
 * A fine-tune run trains on one dataset and is evaluated on another: `dataset_id` holds the one it
 * is evaluated on, `train_dataset_id` the one it trains on, so that deleting either is refused while
 * the run exists (before, the train dataset was only named inside the config).
 */
export const migration: Migration = {
  id: 2,
  name: 'train_dataset',
  sql: `
ALTER TABLE runs ADD COLUMN train_dataset_id INTEGER REFERENCES datasets (id);
CREATE INDEX runs_by_train_dataset ON runs (train_dataset_id);
`,
};
