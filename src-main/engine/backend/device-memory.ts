/**
 * What the active backend holds, for watching a long run's memory: TF.js's live tensor count, and on
 * webgpu its buffer manager's two numbers (tfjs-backend-webgpu 4.22 reports them in tf.memory()):
 * `numBytesInGPU`, the bytes of buffers in use, and `numBytesAllocatedInGPU`, everything allocated
 * including the free pool, which is never given back (capabilities.ts, POOLS_BUFFERS_BY_SIZE). A run
 * whose shapes are fixed keeps both flat after its first steps.
 */
import * as tf from '@tensorflow/tfjs';

export interface DeviceMemory {
  numTensors: number;
  /** Bytes of buffers in use on the GPU; undefined where the backend does not report it. */
  gpuBytesInUse?: number;
  /** Bytes allocated on the GPU (in use + pooled); undefined where the backend does not report it. */
  gpuBytesAllocated?: number;
}

export function deviceMemory(): DeviceMemory {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
  return {
    numTensors: m.numTensors,
    ...(typeof m.numBytesInGPU === 'number' ? { gpuBytesInUse: m.numBytesInGPU } : {}),
    ...(typeof m.numBytesAllocatedInGPU === 'number' ? { gpuBytesAllocated: m.numBytesAllocatedInGPU } : {}),
  };
}
