/**
 * Short engine tasks (transport plan, backbone export), each in its own worker process like
 * training: TF.js never runs in the UI process, and a crash in a task cannot take the app down.
 */
import * as path from 'node:path';
import { resolvePretrainConfig } from '../../shared/config/pretrain';
import { torchvisionLoad } from '../../shared/config/torchvision-load';
import type { ExperimentStore } from '../store';
import { jobBackend, type EngineJob } from './protocol';
import type { ExportRequest, ExportResult, TransportRequest, TransportResult } from '../../shared/dto/tasks';
import { nodeWorkerSpawner, type WorkerSpawner } from './worker-process';

/** Runs one job in a fresh worker and resolves with its result (rejects with its error). */
export function runEngineTask<T>(job: EngineJob, spawner: WorkerSpawner = nodeWorkerSpawner): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const handle = spawner({ backend: jobBackend(job) });
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    handle.onMessage((m) => {
      if (m.type === 'result') settle(() => resolve(m.result as T));
      else if (m.type === 'failed') settle(() => reject(new Error(m.message)));
    });
    handle.onExit((code, signal) =>
      settle(() =>
        reject(
          new Error(
            `the ${job.kind} task's process ${signal ? `was killed (${signal})` : `exited with code ${code}`}`,
          ),
        ),
      ),
    );
    handle.send({ type: 'start', job });
  });
}

function runContext(home: string, store: ExperimentStore, runId: string) {
  const run = store.getRun(runId);
  if (run.kind !== 'pretrain')
    throw new Error(`run ${runId} is a ${run.kind} run; only pretraining runs have an encoder to inspect`);
  return { run, config: resolvePretrainConfig(run.config), runDir: path.join(home, 'runs', runId) };
}

export async function computeTransport(
  home: string,
  store: ExperimentStore,
  req: TransportRequest,
  spawner?: WorkerSpawner,
): Promise<TransportResult> {
  const { config, runDir } = runContext(home, store, req.runId);
  return runEngineTask<TransportResult>(
    {
      kind: 'transport',
      config,
      runDir,
      image: req.image,
      image2: req.image2,
      seed: req.seed,
      step: req.step,
      grid: req.grid,
    },
    spawner,
  );
}

export async function exportBackbone(
  home: string,
  store: ExperimentStore,
  req: ExportRequest,
  spawner?: WorkerSpawner,
): Promise<ExportResult> {
  const { run, config, runDir } = runContext(home, store, req.runId);
  const result = await runEngineTask<ExportResult>(
    {
      kind: 'export',
      config,
      runDir,
      format: req.format,
      outPath: req.outPath,
      step: req.step,
      metadata: { run_id: run.id, run_name: run.name },
    },
    spawner,
  );
  store.addArtifact({
    runId: run.id,
    kind: req.format === 'tfjs' ? 'export-tfjs' : 'export-safetensors',
    path: result.path,
    meta: { bytes: result.bytes, checkpointStep: result.checkpointStep },
  });
  if (req.format === 'safetensors') result.pytorchNote = torchvisionLoad(config.backbone).note;
  return result;
}
