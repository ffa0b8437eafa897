/**
 * Schema migrations: numbered SQL scripts applied in order, each in its own IMMEDIATE transaction that
 * also records (id, name, sha256 of the SQL, applied_at) in schema_migrations and bumps PRAGMA
 * user_version, so a failure leaves the previous version intact. On every open the recorded hashes are
 * compared with the code's: an applied migration must never change (write a new one instead), and a
 * database from a newer build is refused rather than half-understood.
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { StoreError } from './errors';

export interface Migration {
  /** 1, 2, 3, ... with no gaps; the file is named `000<id>_<name>.ts`. */
  id: number;
  /** snake_case, says what the migration does. */
  name: string;
  sql: string;
}

export interface MigrationResult {
  from: number;
  to: number;
  /** `0002_add_x` style labels of the migrations this call applied. */
  applied: string[];
}

export const migrationLabel = (m: Pick<Migration, 'id' | 'name'>): string =>
  `${String(m.id).padStart(4, '0')}_${m.name}`;

export const sqlHash = (sql: string): string => createHash('sha256').update(sql, 'utf8').digest('hex');

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS schema_migrations (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  sha256     TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
)`;

interface RecordedMigration {
  id: number;
  name: string;
  sha256: string;
}

/** A malformed list is a programming error in this repository, not a user problem. */
function checkList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.id !== i + 1)
      throw new Error(`migrations: entry ${i} has id ${m.id}, expected ${i + 1} (ids run 1, 2, 3, ...)`);
    if (!/^[a-z0-9_]+$/.test(m.name))
      throw new Error(`migrations: ${m.id} has name "${m.name}", expected snake_case`);
    if (m.sql.trim() === '') throw new Error(`migrations: ${migrationLabel(m)} has no SQL`);
  });
}

const userVersion = (db: Database.Database): number => db.pragma('user_version', { simple: true }) as number;

/**
 * Refuses, before anything is written to it, a database whose schema is newer than this build knows
 * (it was made by a newer Self-EMD Studio) or a SQLite file that is not an experiment store at all
 * (version 0 holding tables of its own). Reading user_version and the table list writes nothing.
 */
export function refuseForeignDatabase(
  db: Database.Database,
  migrations: readonly Migration[],
  file: string,
): void {
  const version = userVersion(db);
  if (version > migrations.length)
    throw new StoreError(
      'schema',
      `${file}: schema version ${version} is newer than this build knows (${migrations.length}); ` +
        'open it with a newer Self-EMD Studio (the file was left unchanged)',
    );
  if (version === 0) {
    const foreign = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' LIMIT 3",
      )
      .pluck()
      .all() as string[];
    if (foreign.length > 0)
      throw new StoreError(
        'schema',
        `${file}: a SQLite database that is not a Self-EMD experiment store (it has table(s) ${foreign.join(', ')}); ` +
          'choose another file (this one was left unchanged)',
      );
  }
}

/**
 * Brings `db` to the latest migration. `file` names the database in error messages.
 * Throws StoreError('schema') when the file is newer than the code or not a store (refuseForeignDatabase), when an applied migration's SQL
 * changed, or when a migration fails (after rolling it back).
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[],
  file: string,
): MigrationResult {
  checkList(migrations);
  refuseForeignDatabase(db, migrations, file);
  db.exec(BOOKKEEPING);
  // The version and the records read in one snapshot: another process migrating the same file between
  // the two reads would otherwise look like records ahead of the version (seen in the suite: a test
  // opening the store while a CLI process created it).
  const from = db.transaction(() => {
    const version = userVersion(db);
    verifyApplied(db, migrations, version, file);
    return version;
  })();

  const record = db.prepare(
    'INSERT INTO schema_migrations (id, name, sha256, applied_at) VALUES (@id, @name, @sha256, @appliedAt)',
  );
  const applied: string[] = [];
  for (const m of migrations.slice(from)) {
    const apply = db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated since we looked.
      const current = userVersion(db);
      if (current >= m.id) return false;
      db.exec(m.sql);
      record.run({ id: m.id, name: m.name, sha256: sqlHash(m.sql), appliedAt: Date.now() });
      db.pragma(`user_version = ${m.id}`);
      return true;
    });
    try {
      if (apply.immediate()) applied.push(migrationLabel(m));
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new StoreError(
        'schema',
        `${file}: migration ${migrationLabel(m)} failed and was rolled back (schema stays at version ${userVersion(db)}): ${reason}`,
        {},
        { cause: e },
      );
    }
  }
  return { from, to: userVersion(db), applied };
}

function verifyApplied(
  db: Database.Database,
  migrations: readonly Migration[],
  version: number,
  file: string,
): void {
  const rows = db
    .prepare('SELECT id, name, sha256 FROM schema_migrations ORDER BY id')
    .all() as RecordedMigration[];
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const m of migrations.slice(0, version)) {
    const row = byId.get(m.id);
    if (!row)
      throw new StoreError(
        'schema',
        `${file}: schema version is ${version} but schema_migrations has no record of ${migrationLabel(m)}`,
      );
    const hash = sqlHash(m.sql);
    if (row.sha256 !== hash || row.name !== m.name)
      throw new StoreError(
        'schema',
        `${file}: migration ${migrationLabel(m)} differs from the one applied to this database ` +
          `(recorded ${row.name} sha256 ${row.sha256.slice(0, 12)}…, code sha256 ${hash.slice(0, 12)}…); ` +
          'applied migrations must not be edited: add a new one',
      );
  }
  const ahead = rows.filter((r) => r.id > version);
  if (ahead.length > 0)
    throw new StoreError(
      'schema',
      `${file}: schema_migrations records migration ${ahead[0].id} but the schema version is only ${version}`,
    );
}
