import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { NewRun } from '../../shared/dto/runs';
import { openStore, type OpenStoreOptions } from '../../src-main/store/db';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { removeTempDir, tempDir } from '../temp-dir';

/** A temp folder for a store (tempDir), with a way to name files in it. */
export function tempStoreDir(): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = tempDir('selfemd-store-');
  return {
    dir,
    file: (name) => join(dir, name),
    cleanup: () => removeTempDir(dir),
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

export function memoryStore(opts: OpenStoreOptions = {}): ExperimentStore {
  return openStore(':memory:', opts);
}

export const pretrainRun = (over: Partial<NewRun> = {}): NewRun => ({
  kind: 'pretrain',
  name: 'byol-r18',
  method: 'byol',
  backbone: 'resnet18',
  config: { method: 'byol', optim: { lr: 0.05, epochs: 2 }, data: { imageSize: 64 } },
  totalSteps: 100,
  ...over,
});

/** A second, raw connection: checks rows the store API does not expose (and the file's own state). */
export function rawCount(file: string, sql: string, ...params: unknown[]): number {
  const db = new Database(file, { readonly: true });
  try {
    return (
      (db
        .prepare(sql)
        .pluck()
        .get(...params) as number) ?? 0
    );
  } finally {
    db.close();
  }
}

/** `PRAGMA integrity_check` and `foreign_key_check` of a file, through a read-only connection: ['ok'] and 0 when sound. */
export function fileHealth(file: string): { integrity: string[]; foreignKeyViolations: number } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      integrity: db.prepare('PRAGMA integrity_check').pluck().all() as string[],
      foreignKeyViolations: db.prepare('PRAGMA foreign_key_check').all().length,
    };
  } finally {
    db.close();
  }
}
