/**
 * Named statements: each repository declares its SQL as a `{ name: sql }` table and prepares all of
 * it once when the store opens, so a statement that no longer fits the schema fails at open, named.
 */
import type Database from 'better-sqlite3';
import { StoreError } from './errors';

export type Statement = Database.Statement<unknown[], unknown>;
export type Prepared<T extends Record<string, string>> = { readonly [K in keyof T]: Statement };

export function prepareStatements<T extends Record<string, string>>(
  db: Database.Database,
  group: string,
  sql: T,
): Prepared<T> {
  const out: Record<string, Statement> = {};
  for (const [name, text] of Object.entries(sql)) {
    try {
      out[name] = db.prepare(text);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new StoreError(
        'schema',
        `statement ${group}.${name} does not fit the schema: ${reason}`,
        {},
        { cause: e },
      );
    }
  }
  return out as Prepared<T>;
}
