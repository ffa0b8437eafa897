/**
 * What the active backend can do cheaply, for the engine to choose a strategy by capability rather
 * than by the backend's name (one place knows which backend is which).
 *
 * cheapHostReads: tensor data lives in host memory (wasm's heap, the cpu backend's arrays,
 * libtensorflow's CPU buffers), so reading it into JS is a copy. On a GPU (webgpu, tfjs-node-gpu) a
 * read waits for the device to finish and copies back over the bus; on webgpu in Node a synchronous
 * read is not even possible (`dataSync` throws). There the engine keeps work on the device.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '../../../shared/config/pretrain';

type Resolved = Exclude<BackendChoice, 'auto'>;

const CHEAP_HOST_READS: Record<Resolved, boolean> = {
  'tfjs-node-gpu': false,
  webgpu: false,
  'tfjs-node': true,
  wasm: true,
  cpu: true,
};

/**
 * Each TF.js op is a single-threaded pass over memory (wasm, cpu): a fused per-element JS loop beats a
 * chain of ops (data/augment.ts). Native (libtensorflow's thread pool) and GPU backends are the reverse.
 */
const SINGLE_THREADED_OPS: Record<Resolved, boolean> = {
  'tfjs-node-gpu': false,
  webgpu: false,
  'tfjs-node': false,
  wasm: true,
  cpu: true,
};

/**
 * The backend's allocator keeps one pooled buffer per byte size it ever handed out and never frees
 * them (tfjs-backend-webgpu 4.22's BufferManager: a released buffer goes back to a free list keyed by
 * its exact size and usage). Every tensor shape that occurs once stays allocated for the rest of the
 * run, so shapes that change step to step (multi-scale inputs, RoI counts) grow device memory without
 * bound; there the engine pads or buckets them to a small fixed set (detection/inputs.ts,
 * detection/roi-align.ts). Host backends free what they release, and TF's own GPU allocator
 * (tfjs-node-gpu) coalesces freed blocks: exact shapes cost nothing there.
 */
const POOLS_BUFFERS_BY_SIZE: Record<Resolved, boolean> = {
  'tfjs-node-gpu': false,
  webgpu: true,
  'tfjs-node': false,
  wasm: false,
  cpu: false,
};

/** TF.js backend names → our choice (tfjs-node and tfjs-node-gpu both register 'tensorflow'). */
const CHOICE_OF_TF_BACKEND: Record<string, Resolved> = {
  wasm: 'wasm',
  cpu: 'cpu',
  webgpu: 'webgpu',
  tensorflow: 'tfjs-node',
};

export function cheapHostReadsOf(choice: Resolved): boolean {
  return CHEAP_HOST_READS[choice];
}

export function poolsBuffersBySizeOf(choice: Resolved): boolean {
  return POOLS_BUFFERS_BY_SIZE[choice];
}

let selected: { tfBackend: string; choice: Resolved } | undefined;

/** Called by initBackend: tells 'tensorflow' on a GPU from 'tensorflow' on the CPU. */
export function noteSelectedBackend(tfBackend: string, choice: Resolved): void {
  selected = { tfBackend, choice };
}

/**
 * Whether the *active* TF.js backend (tests switch with tf.setBackend) has cheap host reads.
 * Unknown backends (webgl, …) count as devices: the device strategies run everywhere, the host ones
 * would read synchronously.
 */
export function hostReadsAreCheap(): boolean {
  const choice = activeChoice();
  return choice !== undefined && CHEAP_HOST_READS[choice];
}

/** Whether the active backend's ops are single-threaded passes (see SINGLE_THREADED_OPS). */
export function opsAreSingleThreaded(): boolean {
  const choice = activeChoice();
  return choice !== undefined && SINGLE_THREADED_OPS[choice];
}

/**
 * Whether the active backend pools device buffers by size (see POOLS_BUFFERS_BY_SIZE): varying
 * shapes must then be padded to fixed ones. Unknown backends (webgl pools textures by shape) count as
 * pooling: padding costs them a little compute, never correctness.
 */
export function buffersPooledBySize(): boolean {
  const choice = activeChoice();
  return choice === undefined || POOLS_BUFFERS_BY_SIZE[choice];
}

function activeChoice(): Resolved | undefined {
  const name = tf.getBackend();
  return selected?.tfBackend === name ? selected.choice : CHOICE_OF_TF_BACKEND[name];
}
