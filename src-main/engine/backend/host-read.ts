/**
 * The one synchronous tensor read the engine's ssl, nn and data code may use (eslint bans
 * dataSync/arraySync/bufferSync there): for the host strategies, which run only where the active
 * backend's tensors live in host memory (capabilities.ts). On a GPU a synchronous read would stall
 * the device every step, and on webgpu in Node it throws; there the engine keeps the work on the
 * device or reads with `await tensor.data()`.
 */
import * as tf from '@tensorflow/tfjs';
import { hostReadsAreCheap } from './capabilities';

export function readHostSync<T extends tf.Tensor>(t: T): Float32Array {
  if (!hostReadsAreCheap())
    throw new Error(
      `host-read.ts: a synchronous read on the '${tf.getBackend()}' backend, whose tensors live on a device; ` +
        'this strategy runs only where host reads are cheap',
    );
  if (t.dtype !== 'float32') throw new Error(`host-read.ts: expected a float32 tensor, got ${t.dtype}`);
  return t.dataSync() as Float32Array;
}
