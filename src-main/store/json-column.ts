import { StoreError } from './errors';

/**
 * Reads a JSON column. The columns carry CHECK (json_valid(...)), so a parse failure means the file was
 * edited by something else: say which row and column rather than surfacing a bare SyntaxError.
 */
export function readJson<T>(text: string, table: string, column: string, id: unknown): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new StoreError(
      'schema',
      `${table} ${String(id)}: column ${column} holds invalid JSON`,
      {},
      { cause: e },
    );
  }
}

export const writeJson = (value: unknown): string => JSON.stringify(value);
