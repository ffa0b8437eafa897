/**
 * Engine processes under Electron, running the bundled engine worker; training and tasks never run in
 * the main or renderer process. Each job's process is chosen by the backend it asks for:
 * - a utilityProcess (a Node.js child Chromium manages) for wasm, cpu and tfjs-node(-gpu);
 * - a plain Node process (the GPU host, gpu-host.ts) for webgpu, asked for explicitly or by `auto`
 *   where the studio's probe found a hardware adapter: dawn.node cannot run inside Electron's
 *   processes (docs/architecture.md). It is forked with child_process (jobs/worker-process.ts), the
 *   same protocol; the packaged entry is read from app.asar.unpacked, which plain Node can read.
 * Without a Node runtime, a webgpu job goes to a utilityProcess told why (SELFEMD_GPU_HOST_NOTE):
 * the engine then refuses webgpu there with that reason, and `auto` trains on the next backend.
 */
import type { BackendChoice } from '../../shared/config/pretrain';
import type { SupervisorMessage, WorkerMessage } from '../jobs/protocol';
import { forkEngineWorker, type WorkerHandle, type WorkerSpawner } from '../jobs/worker-process';
import type { GpuHost } from './gpu-host';

/** The part of Electron's utilityProcess this uses (a fake one in the tests). */
export interface UtilityProcessApi {
  fork(
    modulePath: string,
    args: string[],
    options: { serviceName: string; stdio: 'inherit'; env: NodeJS.ProcessEnv },
  ): {
    readonly pid: number | undefined;
    postMessage(message: unknown): void;
    on(event: 'message', listener: (message: unknown) => void): unknown;
    once(event: 'exit', listener: (code: number) => void): unknown;
    kill(): boolean;
  };
}

export interface AppSpawnerOptions {
  utilityProcess: UtilityProcessApi;
  /** dist/app/engine-worker.cjs (inside app.asar when packaged). */
  entry: string;
  /** The GPU host, looked up on the first webgpu job and kept. */
  gpuHost: () => GpuHost;
  /** The studio's probe found a hardware (not fallback) adapter: `auto` would train on webgpu. */
  hardwareAdapter: () => boolean;
  /** How a plain Node worker is forked (jobs/worker-process.ts; replaced in the tests). */
  fork?: typeof forkEngineWorker;
}

export type HostChoice = { kind: 'node'; node: string } | { kind: 'utility'; note?: string };

/** Where a job asking for `backend` runs. */
export function chooseHost(
  backend: BackendChoice | undefined,
  gpuHost: () => GpuHost,
  hardwareAdapter: () => boolean,
): HostChoice {
  const wantsGpu = backend === 'webgpu' || (backend === 'auto' && hardwareAdapter());
  if (!wantsGpu) return { kind: 'utility' };
  const host = gpuHost();
  return 'node' in host ? { kind: 'node', node: host.node } : { kind: 'utility', note: host.reason };
}

/** Plain Node cannot read inside an asar archive: the packaged entry is read from its unpacked copy. */
export function unpackedPath(file: string): string {
  return file.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}

export function appWorkerSpawner(options: AppSpawnerOptions): WorkerSpawner {
  let host: GpuHost | undefined;
  const gpuHost = () => (host ??= options.gpuHost());
  const fork = options.fork ?? forkEngineWorker;
  return ({ env, backend } = {}) => {
    const choice = chooseHost(backend, gpuHost, options.hardwareAdapter);
    if (choice.kind === 'node')
      return fork({ file: unpackedPath(options.entry), execArgv: [] }, { env, execPath: choice.node });
    return utilityWorker(options.utilityProcess, options.entry, {
      ...env,
      ...(choice.note ? { SELFEMD_GPU_HOST_NOTE: choice.note } : {}),
    });
  };
}

function utilityWorker(
  utilityProcess: UtilityProcessApi,
  entry: string,
  env: Record<string, string>,
): WorkerHandle {
  const child = utilityProcess.fork(entry, [], {
    serviceName: 'Self-EMD Studio engine',
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    // Known once the process has spawned; RunManager reads it again for heartbeats.
    get pid() {
      return child.pid;
    },
    send: (m: SupervisorMessage) => {
      if (!exited) child.postMessage(m);
    },
    onMessage: (l) => child.on('message', (m: unknown) => l(m as WorkerMessage)),
    // utilityProcess reports an exit code only; a crash shows as a non-zero code.
    onExit: (l) => child.once('exit', (code) => l(code, null)),
    kill: () => void child.kill(),
  };
}
