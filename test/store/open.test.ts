import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store/db';
import { StoreError } from '../../src-main/store/errors';
import { MIGRATIONS } from '../../src-main/store/migrations/index';
import { tempDir } from './helpers';

const require = createRequire(import.meta.url);

describe('openStore', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
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

  it('rejects bad options with a clear error', () => {
    expect(() => openStore('')).toThrow(/openStore: path must be a file path or :memory:/);
    expect(() => openStore(':memory:', { busyTimeoutMs: -1 })).toThrow(
      /busyTimeoutMs must be a whole number/,
    );
  });
});
