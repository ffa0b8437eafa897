import type Database from 'better-sqlite3';
import type { StoreChange } from '../../shared/dto/changes';

/** What every repository shares: the connection, the clock, and the change announcer. */
export interface StoreContext {
  readonly db: Database.Database;
  /** Epoch milliseconds; injectable so staleness and ordering can be tested. */
  readonly now: () => number;
  /** Called after a write commits. */
  readonly emit: (change: StoreChange) => void;
}
