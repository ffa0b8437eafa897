/**
 * Fast reads of tensor data on the wasm backend, for the per-pair custom ops (cosine-matrix.ts).
 *
 * `tensor.dataSync()` on wasm slices the heap into a fresh ArrayBuffer: for a 3 MB map that costs
 * ~2–3 ms, almost all of it allocating (and later collecting) the buffer. Copying from a view of the
 * wasm heap into a reused scratch buffer costs ~0.15 ms. The view is only valid until the heap grows
 * (any tensor allocation may grow it), so it is copied out at once and never held.
 * Scratch buffers are keyed and reused: a buffer's contents are valid until the next `readInto` with
 * the same key, which is safe because the ops that use them run synchronously to completion. They
 * grow to the largest size seen and are kept (a few MB for 64 maps of 49 × 256).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { readHostSync } from '../backend/host-read';

const pool = new Map<string, Float32Array>();

/** A reused Float32Array of exactly `size` elements (contents unspecified). */
export function scratch(key: string, size: number): Float32Array {
  let buf = pool.get(key);
  if (!buf || buf.length < size) {
    buf = new Float32Array(size);
    pool.set(key, buf);
  }
  return buf.subarray(0, size);
}

/**
 * The active backend if its tensors live on a WebAssembly heap that JS can view (the wasm backend, by
 * what it offers rather than by its name), else null.
 */
export function wasmHeapBackend(): BackendWasm | null {
  const backend = tf.backend() as unknown as Partial<BackendWasm>;
  return typeof backend.typedArrayFromHeap === 'function' && typeof backend.makeOutput === 'function'
    ? (backend as BackendWasm)
    : null;
}

function heapView(t: tf.Tensor): Float32Array | null {
  const backend = t.dtype === 'float32' ? wasmHeapBackend() : null;
  if (!backend) return null;
  return backend.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }) as Float32Array;
}

/** Copies t's values into `out` at `offset` (host strategies only: readHostSync refuses device backends). */
export function copyInto(t: tf.Tensor, out: Float32Array, offset = 0): void {
  out.set(heapView(t) ?? readHostSync(t), offset);
}

/** t's values in the scratch buffer `key` (valid until the next read into that key). */
export function readInto(t: tf.Tensor, key: string): Float32Array {
  const out = scratch(key, t.size);
  copyInto(t, out);
  return out;
}

/**
 * out[b] = left[b] · right[b] for row-major blocks (left [p, q], right [q, r]): one plain 2-D
 * BatchMatMul per b, which the wasm backend hands to XNNPACK. The kernel is called at backend level
 * (as TF.js backends compose kernels): no engine bookkeeping per call, nothing on the tape, and every
 * operand freed at once. XNNPACK packs the right operand on every call, so callers should put the
 * smaller factor on the right. Requires the wasm backend.
 */
export function perPairMatMul(
  left: Float32Array,
  right: Float32Array,
  batch: number,
  p: number,
  q: number,
  r: number,
  out: Float32Array,
): Float32Array {
  const backend = wasmHeapBackend();
  const kernel = tf.getKernel(tf.BatchMatMul, tf.getBackend());
  if (!backend || !kernel) throw new Error('wasm-io.ts: perPairMatMul needs the wasm backend');
  const attrs = { transposeA: false, transposeB: false };
  for (let b = 0; b < batch; b++) {
    // Each view is taken right after its allocation: a later allocation may grow (and detach) the heap.
    const a = backend.makeOutput([p, q], 'float32');
    (backend.typedArrayFromHeap(a) as Float32Array).set(left.subarray(b * p * q, (b + 1) * p * q));
    const w = backend.makeOutput([q, r], 'float32');
    (backend.typedArrayFromHeap(w) as Float32Array).set(right.subarray(b * q * r, (b + 1) * q * r));
    const prod = kernel.kernelFunc({ inputs: { a, b: w }, backend, attrs }) as tf.TensorInfo;
    out.set(backend.typedArrayFromHeap(prod) as Float32Array, b * p * r);
    backend.disposeData(a.dataId);
    backend.disposeData(w.dataId);
    backend.disposeData(prod.dataId);
  }
  return out;
}
