import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store/db';
import { StoreError } from '../../src-main/store/errors';
import { migrate, migrationLabel, sqlHash, type Migration } from '../../src-main/store/migrate';
import { MIGRATIONS } from '../../src-main/store/migrations/index';
import { tempStoreDir } from './helpers';

const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), '../../src-main/store/migrations');
const LATEST = MIGRATIONS.length;

const tables = (db: Database.Database): string[] =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
const version = (db: Database.Database): number => db.pragma('user_version', { simple: true }) as number;

describe('migrations', () => {
  let tmp: ReturnType<typeof tempStoreDir>;
  beforeEach(() => (tmp = tempStoreDir()));
  afterEach(() => tmp.cleanup());

  it('lists every file in migrations/ exactly once, ids matching the file numbers', () => {
    const files = readdirSync(migrationsDir)
      .filter((f) => f !== 'index.ts')
      .sort();
    expect(files.every((f) => /^\d{4}_[a-z0-9_]+\.ts$/.test(f))).toBe(true);
    expect(MIGRATIONS.map((m) => `${migrationLabel(m)}.ts`)).toEqual(files);
  });

  it('brings a fresh file to the latest version and records each migration with its hash', () => {
    const file = tmp.file('fresh.db');
    const store = openStore(file);
    expect(store.schemaVersion).toBe(LATEST);
    store.close();

    const db = new Database(file, { readonly: true });
    expect(version(db)).toBe(LATEST);
    const rows = db
      .prepare('SELECT id, name, sha256, applied_at FROM schema_migrations ORDER BY id')
      .all() as {
      id: number;
      name: string;
      sha256: string;
      applied_at: number;
    }[];
    expect(rows.map((r) => [r.id, r.name, r.sha256])).toEqual(
      MIGRATIONS.map((m) => [m.id, m.name, sqlHash(m.sql)]),
    );
    expect(rows[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Math.abs(rows[0].applied_at - Date.now())).toBeLessThan(60_000);
    expect(tables(db)).toEqual(
      expect.arrayContaining([
        'artifacts',
        'checkpoints',
        'datasets',
        'evaluations',
        'metrics',
        'runs',
        'schema_migrations',
      ]),
    );
    db.close();
  });

  it('reopens idempotently: same version, same records, data kept', () => {
    const file = tmp.file('again.db');
    const first = openStore(file);
    first.createDataset({ name: 'demo', kind: 'demo', imageCount: 8 });
    first.close();
    const before = new Database(file, { readonly: true });
    const recorded = before.prepare('SELECT * FROM schema_migrations').all();
    before.close();

    const second = openStore(file);
    expect(second.schemaVersion).toBe(LATEST);
    expect(second.listDatasets().map((d) => d.name)).toEqual(['demo']);
    second.close();
    const after = new Database(file, { readonly: true });
    expect(after.prepare('SELECT * FROM schema_migrations').all()).toEqual(recorded);
    after.close();
  });

  it('rolls a failing migration back entirely and leaves the previous version intact', () => {
    const file = tmp.file('broken.db');
    const db = new Database(file);
    const good: Migration = {
      id: LATEST + 1,
      name: 'add_notes',
      sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);',
    };
    const bad: Migration = {
      id: LATEST + 2,
      name: 'broken_step',
      // The first statement succeeds; the second fails: the table must not survive.
      sql: 'CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);',
    };
    let error: unknown;
    try {
      migrate(db, [...MIGRATIONS, good, bad], file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('schema');
    expect((error as StoreError).message).toContain(
      `migration ${migrationLabel(bad)} failed and was rolled back`,
    );
    expect((error as StoreError).message).toContain(`schema stays at version ${LATEST + 1}`);
    expect((error as StoreError).message).toContain('no such table: no_such_table');

    // Each migration has its own transaction: the good one stayed, the bad one left nothing.
    expect(version(db)).toBe(LATEST + 1);
    expect(tables(db)).toContain('notes');
    expect(tables(db)).not.toContain('half_done');
    expect(db.prepare('SELECT max(id) FROM schema_migrations').pluck().get()).toBe(LATEST + 1);
    expect(db.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
    db.close();
  });

  it('refuses a database whose recorded migration hash differs from the code', () => {
    const file = tmp.file('tampered.db');
    openStore(file).close();
    const db = new Database(file);
    db.prepare("UPDATE schema_migrations SET sha256 = 'deadbeef' || substr(sha256, 9) WHERE id = 1").run();
    db.close();
    expect(() => openStore(file)).toThrow(
      /migration 0001_initial differs from the one applied to this database/,
    );
    // The check is on the SQL text, so an edited migration in code is refused as well.
    const raw = new Database(tmp.file('edited.db'));
    migrate(raw, MIGRATIONS, 'edited.db');
    const edited = MIGRATIONS.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    expect(() => migrate(raw, edited, 'edited.db')).toThrow(StoreError);
    raw.close();
  });

  it('refuses a database from a newer build, naming both versions', () => {
    const file = tmp.file('newer.db');
    openStore(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${LATEST + 3}`);
    db.close();
    expect(() => openStore(file)).toThrow(
      new RegExp(`schema version ${LATEST + 3} is newer than this build knows \\(${LATEST}\\)`),
    );
    // Refusing must not have touched the file.
    const check = new Database(file, { readonly: true });
    expect(version(check)).toBe(LATEST + 3);
    check.close();
  });

  it('refuses a version with no matching record', () => {
    const file = tmp.file('unrecorded.db');
    openStore(file).close();
    const db = new Database(file);
    db.prepare('DELETE FROM schema_migrations').run();
    db.close();
    expect(() => openStore(file)).toThrow(/has no record of 0001_initial/);
  });

  it('rejects a malformed migration list (gap in ids)', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [{ id: 2, name: 'x', sql: 'SELECT 1' }], ':memory:')).toThrow(/expected 1/);
    db.close();
  });
});
