/**
 * Where a run executes: this machine (the engine process, today's default) or a Slurm cluster
 * reached through slurmrestd. The supervisor hands a run to the executor its `on` names and
 * receives the same stream of messages either way; the store stays the one writer.
 */

/** Executor of a run: absent or 'local' = this machine; otherwise the name of a configured cluster. */
export type ExecutorName = string;

export const LOCAL_EXECUTOR = 'local';

/** A Slurm cluster as configured in the studio (`selfemd clusters add`, the settings screen). */
export interface SlurmClusterSettings {
  /** Unique, [a-z0-9][a-z0-9-]*; 'local' is reserved. */
  name: string;
  kind: 'slurm';
  /** slurmrestd: `http(s)://host:port` or `unix:/path/to/slurmrestd.socket`. */
  endpoint: string;
  /** slurmrestd's OpenAPI plugin version, e.g. 'v0.0.38' (Debian 12's Slurm 22.05). */
  apiVersion: string;
  /** X-SLURM-USER-NAME (JWT auth); with local auth over a socket, the user slurmrestd runs as. */
  user: string;
  /** X-SLURM-USER-TOKEN (JWT). Stored, never logged, never exported, never sent to the renderer. */
  token?: string;
  partition?: string;
  account?: string;
  /** Slurm's --time, in minutes. */
  timeLimitMinutes: number;
  /** Slurm's --gres, e.g. 'gpu:1'. */
  gres?: string;
  cpusPerTask: number;
  memoryMb: number;
  /** A folder this machine and the nodes both see; a run lives in <sharedFolder>/runs/<runId>. */
  sharedFolder: string;
  /**
   * How many times in a row a run is sent out again on its own, from its last checkpoint, after an
   * end that was the scheduler's doing (time limit, preemption, node failure); absent = 3, 0 = never.
   */
  maxResubmits?: number;
  /** What runs the studio's built CLI on the nodes, e.g. `node /opt/selfemd/dist/cli/selfemd.mjs`. */
  nodeCommand: string;
}

/** What lists and the renderer see: the settings without the token, and whether one is stored. */
export type SlurmClusterSummary = Omit<SlurmClusterSettings, 'token'> & { hasToken: boolean };

/** Where a run is in the scheduler, shown in run detail (Slurm's own words kept). */
export interface RunExecution {
  runId: string;
  executor: ExecutorName;
  /** Slurm's job id (absent for local runs). */
  jobId?: string;
  /** Slurm's job state, e.g. PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, NODE_FAIL. */
  state?: string;
  /** Slurm's reason for a pending or failed job, e.g. 'Resources', 'Priority'. */
  reason?: string;
  /** Unix ms of the last state seen from the scheduler. */
  updatedAt: number;
}
