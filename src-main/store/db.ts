/**
 * Opening the experiment store: one better-sqlite3 connection in WAL mode (readers never block the
 * writer, and a killed writer loses at most its uncommitted transaction), migrated to the latest schema.
 */
import { closeSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from './errors';
import { ExperimentStore } from './experiment-store';
import { migrate, refuseForeignDatabase } from './migrate';
import { MIGRATIONS } from './migrations/index';
import type { SecretBox } from './secret-box';

export interface OpenStoreOptions {
  /**
   * Path of the compiled better_sqlite3.node to load instead of the one in node_modules. Electron needs a
   * build against its own ABI; Node uses the default.
   */
  nativeBinding?: string;
  /** How long a write waits for another connection's lock before SQLITE_BUSY (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Clock in epoch ms (default Date.now); tests inject one to pin staleness and ordering. */
  now?: () => number;
  /** Seals cluster tokens with the OS's protection (the desktop app's safeStorage); absent: see secret-box.ts. */
  secrets?: SecretBox;
}

const MEMORY = ':memory:';

export function openStore(path: string, opts: OpenStoreOptions = {}): ExperimentStore {
  if (typeof path !== 'string' || path.trim() === '')
    throw new StoreError(
      'invalid',
      `openStore: path must be a file path or ${MEMORY}, got ${JSON.stringify(path)}`,
    );
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0)
    throw new StoreError(
      'invalid',
      `openStore: busyTimeoutMs must be a whole number ≥ 0, got ${busyTimeoutMs}`,
    );
  const file = path === MEMORY ? MEMORY : resolve(path);

  if (file !== MEMORY) refuseNonSqlite(file);
  let db: Database.Database;
  try {
    if (file !== MEMORY) mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, {
      timeout: busyTimeoutMs,
      ...(opts.nativeBinding !== undefined ? { nativeBinding: opts.nativeBinding } : {}),
    });
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const binding = opts.nativeBinding !== undefined ? ` (native binding ${opts.nativeBinding})` : '';
    throw new StoreError('invalid', `openStore: cannot open ${file}${binding}: ${reason}`, {}, { cause: e });
  }

  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Before the first write (switching to WAL rewrites the header): a file we must not touch.
    refuseForeignDatabase(db, MIGRATIONS, file);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && !(file === MEMORY && mode === 'memory'))
      throw new StoreError('schema', `${file}: could not switch to WAL journaling (got ${String(mode)})`);
    // NORMAL in WAL mode: a commit survives a crash of this process; only a power loss can drop the last ones.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const { to } = migrate(db, MIGRATIONS, file);
    return new ExperimentStore(db, file, to, opts.now, opts.secrets);
  } catch (e) {
    db.close();
    if (e instanceof StoreError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new StoreError(
      'schema',
      `${file}: cannot use this file as an experiment store: ${reason}`,
      {},
      { cause: e },
    );
  }
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * A file that exists and does not start with SQLite's header is refused before SQLite sees it (an
 * empty file is a new database, as SQLite treats it).
 */
function refuseNonSqlite(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return; // absent (created below) or unreadable (SQLite's own error names it)
  }
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  let n = 0;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } catch {
    return; // a folder, say: SQLite's own error names it
  } finally {
    closeSync(fd);
  }
  if (n > 0 && !(n === head.length && head.equals(SQLITE_MAGIC)))
    throw new StoreError(
      'schema',
      `${file}: not a database file (it does not start with the SQLite header); ` +
        'the studio will not use or change it: point SELFEMD_HOME or the store path elsewhere',
    );
}
