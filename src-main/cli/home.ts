/**
 * Where the studio keeps its data: $SELFEMD_HOME, else ~/.selfemd. The database, runs (with
 * checkpoints and exports) and imported datasets' caches all live below it.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { openStore, type ExperimentStore } from '../store';
import { RunManager } from '../jobs/run-manager';
import { nodeWorkerSpawner, type WorkerSpawner } from '../jobs/worker-process';

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

/** `env`: added to each run's process environment (e.g. SELFEMD_GPU from --gpu). */
export function openStudio(env: Record<string, string> = {}): StudioContext {
  const home = studioHome();
  const store = openStore(path.join(home, 'studio.db'));
  const spawner: WorkerSpawner = (o) => nodeWorkerSpawner({ ...o, env: { ...env, ...o.env } });
  // Named so that a studio sharing this home can say which command trains a run it is asked to touch.
  const holder = `selfemd ${process.argv[2] ?? ''}`.trim();
  // `--on CLUSTER`: the cluster's settings (with its token) from the store, for the executor only.
  const manager = new RunManager(store, {
    home,
    spawner,
    holder,
    clusters: (name) => store.clusterSettings(name),
  });
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
