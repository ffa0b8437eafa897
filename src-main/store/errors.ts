/**
 * The one error type the store throws for things a caller (or a user) can act on. `code` lets the
 * jobs layer and IPC map it without parsing messages; the message names the field or file and the problem.
 */
export type StoreErrorCode =
  /** An id that names no row. */
  | 'not-found'
  /** Input of the wrong type, range or enum. */
  | 'invalid'
  /** Valid input the current state forbids (a status move, deleting a dataset in use). */
  | 'conflict'
  /** The database file and this build disagree (newer schema, changed migration, failed migration). */
  | 'schema';

export interface StoreErrorDetails {
  /** Run ids that were referenced but do not exist (appendMetrics, getRunsForCompare). */
  unknownRunIds?: string[];
}

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly details: StoreErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export const isStoreError = (e: unknown, code?: StoreErrorCode): e is StoreError =>
  e instanceof StoreError && (code === undefined || e.code === code);
