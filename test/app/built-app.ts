/**
 * What the tests of the built product share: building dist/app when it is not current (the check
 * `selfemd` and `npm start` make), and running one job in the built engine worker under plain Node,
 * which speaks the same protocol as Electron's utilityProcess (a `start` message in, WorkerMessages out).
 */
import { execFileSync, fork } from 'node:child_process';
import path from 'node:path';
import type { EngineJob, WorkerMessage } from '../../src-main/jobs/protocol';

export const repo = path.resolve(__dirname, '../..');
export const appDir = path.join(repo, 'dist', 'app');

/** Builds the Node entries when a source is newer than the last build (never the renderer). */
export function ensureAppBuilt(): void {
  execFileSync(
    process.execPath,
    [path.join(repo, 'scripts', 'build-app.mjs'), '--no-renderer', '--if-stale'],
    {
      cwd: repo,
      stdio: 'pipe',
    },
  );
}

export interface WorkerRun {
  code: number | null;
  messages: WorkerMessage[];
  stderr: string;
}

/** Forks dist/app/engine-worker.cjs, starts `job`, and resolves when the process exits. */
export function runBuiltWorker(job: EngineJob): Promise<WorkerRun> {
  const child = fork(path.join(appDir, 'engine-worker.cjs'), [], {
    // Plain Node, as utilityProcess runs it: no loader hooks (tsx), no inherited flags.
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const messages: WorkerMessage[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('message', (m) => messages.push(m as WorkerMessage));
  child.send({ type: 'start', job });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, messages, stderr })));
}

/** The message of `type` (the last one), or a failure naming what the worker said instead. */
export function message<T extends WorkerMessage['type']>(
  run: WorkerRun,
  type: T,
): Extract<WorkerMessage, { type: T }> {
  const found = run.messages.filter((m) => m.type === type).at(-1);
  if (!found) {
    const failed = run.messages.find((m) => m.type === 'failed');
    throw new Error(
      `no "${type}" message (exit ${run.code}): ${failed && failed.type === 'failed' ? failed.message : run.stderr}`,
    );
  }
  return found as Extract<WorkerMessage, { type: T }>;
}
