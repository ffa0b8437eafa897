/**
 * The executor seam: where a run's training process executes. The RunManager (the supervisor) asks
 * the executor its run names (`on`: absent or 'local' = this machine, else a configured cluster) for
 * a WorkerHandle, sends it `start` / `stop` and receives the same WorkerMessages whichever executes
 * the job; it alone writes them to the store. An executor is one class implementing RunExecutor,
 * registered by its cluster kind in executors.ts (docs/architecture.md, "Executors").
 */
import type { BackendChoice } from '../../shared/config/pretrain';
import { LOCAL_EXECUTOR } from '../../shared/dto/clusters';
import type { WorkerHandle, WorkerSpawner } from './worker-process';

export interface ExecutorLaunch {
  runId: string;
  /** The backend the run's config asks for. */
  backend: BackendChoice;
  /**
   * Commits what the supervisor took from the messages delivered so far (the metrics writer's
   * buffer): an executor that persists how far it has delivered calls it before moving that mark.
   */
  commit(): void;
}

/** A handle on an execution: the worker protocol, plus leaving a remote job running unfollowed. */
export interface ExecutionHandle extends WorkerHandle {
  /**
   * Stops following without stopping the execution (a job on a cluster runs on while the studio is
   * closed; the next supervisor follows it again from where the store stands). Absent: the execution
   * cannot outlive its supervisor, and shutting down pauses it.
   */
  detach?(): void;
  /**
   * Where the execution waits in a scheduler's queue: called with the scheduler's reason (Slurm's
   * 'Resources', 'Priority', 'BeginTime'…) while it waits, with null once it runs. Absent: it never queues.
   */
  onQueued?(listener: (reason: string | null) => void): void;
}

export interface RunExecutor {
  /** 'local' or the cluster's name. */
  readonly name: string;
  /** The folder a run's job writes (checkpoints, its events): where the executing side sees it. */
  runDir(runId: string, localDir: string): string;
  /** A handle whose process or job starts on the `start` message the supervisor sends next. */
  spawn(launch: ExecutorLaunch): ExecutionHandle;
  /**
   * After a supervisor restart: a handle on the run's execution still under way (or ended unseen),
   * delivering what the store has not yet taken, in order; null when there is none to follow.
   */
  attach?(launch: ExecutorLaunch): ExecutionHandle | null;
}

/** This machine: today's engine process (a fork, or the app's utilityProcess), unchanged. */
export function localExecutor(spawner: WorkerSpawner): RunExecutor {
  return {
    name: LOCAL_EXECUTOR,
    runDir: (_runId, localDir) => localDir,
    spawn: ({ backend }) => spawner({ backend }),
  };
}

/** Whether `on` names this machine. */
export const isLocal = (on: string | undefined | null): boolean => !on || on === LOCAL_EXECUTOR;
