/**
 * Where the studio keeps its data: $SELFEMD_HOME, else ~/.selfemd. The database, runs (with
 * checkpoints and exports) and imported datasets' caches all live below it.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { openStore, type ExperimentStore } from '../store';
import { RunManager } from '../jobs/run-manager';

export function studioHome(): string {
  const home = process.env.SELFEMD_HOME || path.join(os.homedir(), '.selfemd');
  fs.mkdirSync(home, { recursive: true });
  return home;
}

export interface StudioContext {
  home: string;
  store: ExperimentStore;
  manager: RunManager;
  close(): Promise<void>;
}

export function openStudio(): StudioContext {
  const home = studioHome();
  const store = openStore(path.join(home, 'studio.db'));
  const manager = new RunManager(store, { home });
  return {
    home,
    store,
    manager,
    async close() {
      await manager.shutdown();
      store.close();
    },
  };
}
