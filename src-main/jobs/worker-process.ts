/**
 * Starting a training process. Under plain Node (CLI, browser-mode server, tests) it is a
 * child_process fork running the TypeScript entry through tsx; the Electron app passes its own
 * spawner built on utilityProcess (src-main/app), with the bundled entry.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SupervisorMessage, WorkerMessage } from './protocol';

export interface WorkerHandle {
  readonly pid: number | undefined;
  send(message: SupervisorMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /** Called once with the exit code (null when killed by a signal). */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export type WorkerSpawner = (options: { env?: Record<string, string> }) => WorkerHandle;

const here = path.dirname(fileURLToPath(import.meta.url));
export const ENGINE_WORKER_ENTRY = path.join(here, 'engine-worker.ts');

export const nodeWorkerSpawner: WorkerSpawner = ({ env } = {}) => {
  const child = fork(ENGINE_WORKER_ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    pid: child.pid,
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (l) => child.on('message', (m) => l(m as WorkerMessage)),
    onExit: (l) => child.once('exit', (code, signal) => l(code, signal)),
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
};
