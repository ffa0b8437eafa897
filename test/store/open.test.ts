import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store/db';
import { StoreError } from '../../src-main/store/errors';
import { MIGRATIONS } from '../../src-main/store/migrations/index';
import { tempStoreDir } from './helpers';

const require = createRequire(import.meta.url);

describe('openStore', () => {
  let tmp: ReturnType<typeof tempStoreDir>;
  beforeEach(() => (tmp = tempStoreDir()));
  afterEach(() => tmp.cleanup());

  it('opens a file in WAL mode with NORMAL sync, foreign keys on and the busy timeout set', () => {
    const store = openStore(tmp.file('nested/dir/exp.db'), { busyTimeoutMs: 1234 });
    expect(store.connectionInfo()).toMatchObject({
      journalMode: 'wal',
      synchronous: 'normal',
      foreignKeys: true,
      busyTimeoutMs: 1234,
      schemaVersion: MIGRATIONS.length,
    });
    expect(store.path).toBe(tmp.file('nested/dir/exp.db'));
    store.close();
    expect(store.isOpen).toBe(false);
  });

  it('opens :memory: stores', () => {
    const store = openStore(':memory:');
    expect(store.connectionInfo().journalMode).toBe('memory');
    expect(store.connectionInfo().foreignKeys).toBe(true);
    expect(store.connectionInfo().busyTimeoutMs).toBe(5000);
    store.close();
  });

  it('passes nativeBinding through to better-sqlite3', () => {
    const binding = require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
    const store = openStore(':memory:', { nativeBinding: binding });
    expect(store.listDatasets()).toEqual([]);
    store.close();

    const missing = tmp.file('nowhere/better_sqlite3.node');
    let error: unknown;
    try {
      openStore(tmp.file('x.db'), { nativeBinding: missing });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toContain(`native binding ${missing}`);
  });

  it('names the file when it is not a database', () => {
    const file = tmp.file('notes.txt');
    writeFileSync(
      file,
      'this is not sqlite, just text that is long enough to fill a header page. '.repeat(20),
    );
    expect(() => openStore(file)).toThrow(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*not a database`),
    );
  });

  /** The file's bytes and the folder's listing: what "never overwritten" means. */
  const snapshot = (file: string) => ({
    sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
    files: readdirSync(tmp.dir).sort(),
  });

  it('refuses a file that is not SQLite, naming it, and leaves it byte for byte as it was', () => {
    for (const [name, content] of [
      ['short.db', 'hello'],
      ['almost.db', 'SQLite format 2\0'.padEnd(200, 'x')],
    ] as const) {
      const file = tmp.file(name);
      writeFileSync(file, content);
      const before = snapshot(file);
      expect(() => openStore(file)).toThrow(
        `${file}: not a database file (it does not start with the SQLite header)`,
      );
      expect(snapshot(file)).toEqual(before);
    }
  });

  it('refuses a database newer than the code without changing one byte of it', () => {
    // Made by a newer build that kept the default rollback journal and has no schema_migrations yet:
    // switching it to WAL or creating the bookkeeping table would both rewrite it.
    const file = tmp.file('newer.db');
    const db = new Database(file);
    db.exec('CREATE TABLE runs (id TEXT PRIMARY KEY)');
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    const before = snapshot(file);
    let error: unknown;
    try {
      openStore(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toBe(
      `${file}: schema version ${MIGRATIONS.length + 1} is newer than this build knows (${MIGRATIONS.length}); ` +
        'open it with a newer Self-EMD Studio (the file was left unchanged)',
    );
    expect(snapshot(file)).toEqual(before);
  });

  it("refuses another program's SQLite database without adding tables to it", () => {
    const file = tmp.file('other-app.sqlite');
    const db = new Database(file);
    db.exec('CREATE TABLE contacts (name TEXT)');
    db.close();
    const before = snapshot(file);
    expect(() => openStore(file)).toThrow(
      `${file}: a SQLite database that is not a Self-EMD experiment store (it has table(s) contacts)`,
    );
    expect(snapshot(file)).toEqual(before);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => openStore('')).toThrow(/openStore: path must be a file path or :memory:/);
    expect(() => openStore(':memory:', { busyTimeoutMs: -1 })).toThrow(
      /busyTimeoutMs must be a whole number/,
    );
  });
});
