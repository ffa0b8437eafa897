/**
 * Run-time backend selection: tfjs-node-gpu → tfjs-node → wasm → cpu.
 * (Bootstrap version: wasm and cpu; extended with native probing and thread tuning.)
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendChoice } from '../../../shared/config/pretrain';

export interface BackendInfo {
  /** The resolved choice (never `auto`). */
  choice: Exclude<BackendChoice, 'auto'>;
  /** TF.js backend name as registered (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  version: string;
  threads: number;
  /** Why earlier candidates were passed over, for `selfemd info` and the run record. */
  notes: string[];
}

let current: BackendInfo | undefined;

export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  const order: Exclude<BackendChoice, 'auto'>[] = choice === 'auto' ? ['wasm', 'cpu'] : [choice];
  const notes: string[] = [];
  for (const candidate of order) {
    if (await tf.setBackend(candidate)) {
      await tf.ready();
      current = { choice: candidate, tfBackend: tf.getBackend(), version: tf.version.tfjs, threads: 1, notes };
      return current;
    }
    notes.push(`${candidate}: could not be initialised`);
  }
  throw new Error(`No TF.js backend could be initialised (${notes.join('; ')})`);
}

export function currentBackend(): BackendInfo {
  if (!current) throw new Error('initBackend() has not been called');
  return current;
}
