/**
 * For tests that show a path never reads a tensor synchronously, as WebGPU in Node requires
 * (dataSync/arraySync/bufferSync throw there): makes those reads throw on every tensor until the
 * returned function is called. Reads with `await tensor.data()` keep working.
 */
import * as tf from '@tensorflow/tfjs';
import { vi } from 'vitest';

export function forbidSyncReads(): () => void {
  const sync = (): never => {
    throw new Error('synchronous tensor read');
  };
  const spies = [
    vi.spyOn(tf.Tensor.prototype, 'dataSync').mockImplementation(sync),
    vi.spyOn(tf.Tensor.prototype, 'arraySync').mockImplementation(sync),
    vi.spyOn(tf.Tensor.prototype, 'bufferSync').mockImplementation(sync),
  ];
  return () => spies.forEach((s) => s.mockRestore());
}

/** Runs `f` with synchronous reads forbidden, restoring them however it ends. */
export async function withoutSyncReads<T>(f: () => Promise<T>): Promise<T> {
  const restore = forbidSyncReads();
  try {
    return await f();
  } finally {
    restore();
  }
}
