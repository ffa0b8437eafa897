/**
 * Starting a training process. Under plain Node (CLI, browser-mode server, tests) it is a
 * child_process fork: of the built engine-worker.cjs when running from a bundle (which says where it
 * is), of the TypeScript entry through tsx when running from the sources (tests, development). The
 * Electron app passes its own spawner (src-main/app/utility-spawner.ts): a utilityProcess, or for a
 * webgpu run a fork of the bundled entry under a plain Node runtime (`forkEngineWorker` with its
 * `execPath`), since Dawn cannot run inside Electron's processes.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../../shared/config/pretrain';
import type { SupervisorMessage, WorkerMessage } from './protocol';

export interface WorkerHandle {
  readonly pid: number | undefined;
  send(message: SupervisorMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /** Called once with the exit code (null when killed by a signal). */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /**
   * The backend the job asks for (its config's `backend`; `webgpu` for a GPU probe): a spawner whose
   * processes cannot host every backend (Electron's) picks the process kind by it.
   */
  backend?: BackendChoice;
}

export type WorkerSpawner = (options: SpawnOptions) => WorkerHandle;

let builtEntry: string | undefined;

/**
 * A bundle (scripts/build-app.mjs) names its built engine worker here before any run starts, so its
 * forks run that file under plain Node: a path computed from this module's own location would be
 * invisible to the bundler, and the sources beside it would need tsx.
 */
export function setEngineWorkerEntry(file: string): void {
  builtEntry = file;
}

function engineWorkerEntry(): { file: string; execArgv: string[] } {
  if (builtEntry) {
    if (!fs.existsSync(builtEntry))
      throw new Error(`Engine worker ${builtEntry} is missing: rebuild the app (npm run build:app)`);
    return { file: builtEntry, execArgv: [] };
  }
  const here = import.meta.url;
  if (!here.endsWith('.ts'))
    throw new Error('Engine worker: this bundle did not set its entry (setEngineWorkerEntry)');
  return { file: fileURLToPath(new URL('./engine-worker.ts', here)), execArgv: ['--import', 'tsx'] };
}

/**
 * Forks an engine worker over child_process IPC. `execPath` runs it under another Node runtime than
 * this process's own (the desktop app's GPU host: a plain Node, not Electron's binary).
 */
export function forkEngineWorker(
  entry: { file: string; execArgv: string[] },
  options: { env?: Record<string, string>; execPath?: string } = {},
): WorkerHandle {
  const child = fork(entry.file, [], {
    execArgv: entry.execArgv,
    ...(options.execPath ? { execPath: options.execPath } : {}),
    env: { ...process.env, ...options.env },
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
}

export const nodeWorkerSpawner: WorkerSpawner = ({ env } = {}) =>
  forkEngineWorker(engineWorkerEntry(), { env });
