/**
 * The short engine tasks the studio runs outside its own process: a transport plan and a backbone
 * export (../tasks starts a worker process for each, with the same spawner as training, so under
 * Electron they run in a utilityProcess too).
 */
import type {
  ExportRequest,
  ExportResult,
  TransportRequest,
  TransportResult,
} from '../../../shared/dto/tasks';
import { computeTransport, exportBackbone } from '../tasks';
import type { WorkerSpawner } from '../worker-process';
import type { ExperimentStore } from '../../store';

export interface StudioTasks {
  computeTransport(home: string, store: ExperimentStore, req: TransportRequest): Promise<TransportResult>;
  exportBackbone(home: string, store: ExperimentStore, req: ExportRequest): Promise<ExportResult>;
}

export function engineTasks(spawner?: WorkerSpawner): StudioTasks {
  return {
    computeTransport: (home, store, req) => computeTransport(home, store, req, spawner),
    exportBackbone: (home, store, req) => exportBackbone(home, store, req, spawner),
  };
}
