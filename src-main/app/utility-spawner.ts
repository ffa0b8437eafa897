/**
 * Engine processes under Electron: utilityProcess (a Node.js child Chromium manages), running the
 * bundled engine worker. Training and tasks never run in the main or renderer process.
 */
import { utilityProcess } from 'electron';
import type { SupervisorMessage, WorkerMessage } from '../jobs/protocol';
import type { WorkerHandle, WorkerSpawner } from '../jobs/worker-process';

export function utilityWorkerSpawner(entry: string): WorkerSpawner {
  return ({ env } = {}) => {
    const child = utilityProcess.fork(entry, [], {
      serviceName: 'Self-EMD Studio engine',
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });
    let exited = false;
    child.once('exit', () => (exited = true));
    const handle: WorkerHandle = {
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
    return handle;
  };
}
