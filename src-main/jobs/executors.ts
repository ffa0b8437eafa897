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

/** Resolves `on` to an executor, making each cluster's once. */
export class Executors {
  private readonly local: RunExecutor;
  private readonly clusters = new Map<string, RunExecutor>();

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
    const known = this.clusters.get(name);
    if (known) return known;
    if (!this.lookup) throw new Error(`cluster ${name}: this studio has no clusters configured`);
    const settings = this.lookup(name);
    const make = EXECUTOR_KINDS[settings.kind];
    if (!make) throw new Error(`cluster ${name}: unknown kind ${JSON.stringify(settings.kind)}`);
    const executor = make(settings, this.ctx);
    this.clusters.set(name, executor);
    return executor;
  }
}
