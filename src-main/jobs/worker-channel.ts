/**
 * The training process's side of the IPC: Electron's utilityProcess gives `process.parentPort`,
 * a plain Node child gives `process.send`. The worker code uses this one interface.
 */
import type { SupervisorMessage, WorkerMessage } from './protocol';

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

export interface WorkerChannel {
  send(message: WorkerMessage): void;
  onMessage(listener: (message: SupervisorMessage) => void): void;
  /** The supervisor went away (its process died or closed the channel). */
  onDisconnect(listener: () => void): void;
}

export function workerChannel(): WorkerChannel {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (parentPort) {
    return {
      send: (m) => parentPort.postMessage(m),
      onMessage: (l) => parentPort.on('message', (e) => l(e.data as SupervisorMessage)),
      // Electron ends a utilityProcess together with its parent: nothing to watch for.
      onDisconnect: () => undefined,
    };
  }
  if (!process.send) throw new Error('the training worker must be started by a supervisor (no IPC channel)');
  return {
    // After a disconnect there is nobody to tell: drop messages rather than throw mid-training. A
    // supervisor killed a moment ago still reads as connected, and the write then fails (EPIPE):
    // without a callback Node emits that as an 'error' event on `process`, uncaught, and the
    // orphan died mid-step instead of checkpointing (the kill storm found it). The 'disconnect'
    // that follows makes it checkpoint and stop.
    send: (m) => {
      if (process.connected) process.send!(m, undefined, {}, () => undefined);
    },
    onMessage: (l) => process.on('message', (m) => l(m as SupervisorMessage)),
    onDisconnect: (l) => process.once('disconnect', l),
  };
}
