/**
 * Which executor runs a run: `on` absent or 'local' = this machine's engine process; otherwise the
 * cluster of that name, its settings from the injected lookup, its executor by the settings' kind.
 * A new kind of cluster (a Kubernetes Job executor) is one class implementing RunExecutor and one
 * entry in EXECUTOR_KINDS.
 */
import type { SlurmClusterSettings } from '../../shared/dto/clusters';
import type { ExperimentStore } from '../store';
import { isLocal, localExecutor, type RunExecutor } from './executor';
import { SlurmExecutor, type SlurmExecutorOptions } from './slurm/slurm-executor';
import type { WorkerSpawner } from './worker-process';

/** Every cluster's settings, whatever its kind (a union once there are several). */
export type ClusterSettings = SlurmClusterSettings;
/** The studio's configured clusters: the settings of the one named (throws naming an unknown one). */
export type ClusterLookup = (name: string) => ClusterSettings;

export interface ExecutorContext {
  store: ExperimentStore;
  /** Per-kind tuning (poll intervals in tests). */
  slurm?: SlurmExecutorOptions;
}

const EXECUTOR_KINDS: {
  [K in ClusterSettings['kind']]: (
    settings: Extract<ClusterSettings, { kind: K }>,
    ctx: ExecutorContext,
  ) => RunExecutor;
} = {
  slurm: (settings, ctx) => new SlurmExecutor(settings, ctx.store, ctx.slurm),
};

/**
 * Resolves `on` to an executor. A cluster's settings are read at every resolution (a submission, a
 * resume, following a run again): an edit or a removal takes effect for the next one, while a job
 * already followed keeps the executor it was sent out with. The executor is made again only when the
 * settings changed.
 */
export class Executors {
  private readonly local: RunExecutor;
  private readonly clusters = new Map<string, { settings: string; executor: RunExecutor }>();

  constructor(
    spawner: WorkerSpawner,
    private readonly lookup: ClusterLookup | undefined,
    private readonly ctx: ExecutorContext,
  ) {
    this.local = localExecutor(spawner);
  }

  get(on: string | null | undefined): RunExecutor {
    if (isLocal(on)) return this.local;
    const name = on!;
    if (!this.lookup) throw new Error(`cluster ${name}: this studio has no clusters configured`);
    let settings: ClusterSettings;
    try {
      settings = this.lookup(name);
    } catch (e) {
      // Removed since: nothing more is sent there.
      this.clusters.delete(name);
      throw e;
    }
    const key = JSON.stringify(settings);
    const known = this.clusters.get(name);
    if (known?.settings === key) return known.executor;
    const make = EXECUTOR_KINDS[settings.kind];
    if (!make) throw new Error(`cluster ${name}: unknown kind ${JSON.stringify(settings.kind)}`);
    const executor = make(settings, this.ctx);
    this.clusters.set(name, { settings: key, executor });
    return executor;
  }
}
