/**
 * A backstop for the webgpu backend's buffer pool (capabilities.ts, POOLS_BUFFERS_BY_SIZE): its
 * BufferManager keeps every released buffer on a free list keyed by exact size and usage and never
 * destroys one, so a run whose tensor shapes keep changing grows GPU memory without bound. The engine
 * pads or buckets the shapes it knows vary (shape-buckets.ts); this bound catches whatever was missed.
 *
 * Between steps, once a few warm-up steps have filled the pool, the bytes allocated then are the run's
 * baseline and the buffer sizes in the pool its working set. When the allocated bytes exceed the bound
 * (the baseline times `ratio`, and at least `minBytes` above it), pooled (free) buffers are destroyed:
 * first those of sizes outside the working set, then, if still above the bound, the rest (the next
 * step allocates again what it needs). A run whose shapes are fixed never reaches the bound.
 *
 * It reaches into tfjs-backend-webgpu 4.22's BufferManager (`freeBuffers`, `usedBuffers`,
 * `numBytesAllocated`, `numFreeBuffers`): a backend without that shape is left alone. A free list is
 * emptied in place, never removed while a used buffer of its size exists: `releaseBuffer` looks the
 * list up by key, and ignores every release once the map is empty (its after-dispose guard).
 */
import * as tf from '@tensorflow/tfjs';
import { buffersPooledBySize } from './capabilities';

interface PooledBuffer {
  size: number;
  destroy(): void;
}

/** The members of tfjs-backend-webgpu's BufferManager this file uses. */
interface BufferManagerLike {
  freeBuffers: Map<string, PooledBuffer[]>;
  usedBuffers: Map<string, PooledBuffer[]>;
  numBytesAllocated: number;
  numBytesUsed: number;
  numFreeBuffers: number;
}

export interface PoolBoundOptions {
  /** Steps after which the pool counts as filled and the baseline is taken (default 3). */
  warmupSteps?: number;
  /** The bound is at least the baseline times this (default 1.5)… */
  ratio?: number;
  /** …and at least this many bytes above it (default 64 MiB). */
  minBytes?: number;
}

export interface PoolTrim {
  /** Bytes and buffers destroyed. */
  freedBytes: number;
  freedBuffers: number;
  /** Bytes allocated before and after, and the bound that was exceeded. */
  allocatedBefore: number;
  allocatedAfter: number;
  boundBytes: number;
}

/** The active backend's buffer manager, when it pools by size and has the shape this file knows. */
export function activeBufferManager(): BufferManagerLike | undefined {
  if (!buffersPooledBySize()) return undefined;
  const m = (tf.backend() as unknown as { bufferManager?: Partial<BufferManagerLike> }).bufferManager;
  return m &&
    m.freeBuffers instanceof Map &&
    m.usedBuffers instanceof Map &&
    typeof m.numBytesAllocated === 'number' &&
    typeof m.numFreeBuffers === 'number'
    ? (m as BufferManagerLike)
    : undefined;
}

/** Destroys the free buffers `which` selects, keeping the manager's counts and lists consistent. */
function destroyFree(m: BufferManagerLike, which: (key: string) => boolean, stopBelow: number): number[] {
  let bytes = 0;
  let count = 0;
  for (const [key, free] of m.freeBuffers) {
    if (m.numBytesAllocated <= stopBelow) break;
    if (!which(key) || free.length === 0) continue;
    for (const b of free.splice(0)) {
      b.destroy();
      m.numBytesAllocated -= b.size;
      m.numFreeBuffers -= 1;
      bytes += b.size;
      count += 1;
    }
    // A size no tensor holds any more: forget its (empty) lists too, so that the maps stay small.
    if (!m.usedBuffers.get(key)?.length) {
      m.usedBuffers.delete(key);
      m.freeBuffers.delete(key);
    }
  }
  return [bytes, count];
}

/** Keeps one run's pooled GPU memory under a bound set by its own first steps. One per training loop. */
export class PooledMemoryBound {
  private steps = 0;
  private baseline: number | undefined;
  private workingSet: Set<string> | undefined;
  private readonly warmupSteps: number;
  private readonly ratio: number;
  private readonly minBytes: number;

  constructor(options: PoolBoundOptions = {}) {
    this.warmupSteps = options.warmupSteps ?? 3;
    this.ratio = options.ratio ?? 1.5;
    this.minBytes = options.minBytes ?? 64 * 2 ** 20;
    if (!(Number.isInteger(this.warmupSteps) && this.warmupSteps >= 1))
      throw new Error(`PooledMemoryBound: warmupSteps must be a whole number ≥ 1, got ${this.warmupSteps}`);
    if (!(this.ratio >= 1)) throw new Error(`PooledMemoryBound: ratio must be ≥ 1, got ${this.ratio}`);
    if (!(this.minBytes >= 0))
      throw new Error(`PooledMemoryBound: minBytes must be ≥ 0, got ${this.minBytes}`);
  }

  /** The bound in bytes, once the warm-up steps are done. */
  get boundBytes(): number | undefined {
    return this.baseline === undefined
      ? undefined
      : Math.max(this.baseline * this.ratio, this.baseline + this.minBytes);
  }

  /** Call between steps (no step's tensors in flight). Returns what was released, if anything. */
  afterStep(): PoolTrim | undefined {
    const m = activeBufferManager();
    if (!m) return undefined;
    this.steps += 1;
    if (this.steps === this.warmupSteps) {
      this.baseline = m.numBytesAllocated;
      this.workingSet = new Set(m.freeBuffers.keys());
    }
    const bound = this.boundBytes;
    if (bound === undefined || m.numBytesAllocated <= bound) return undefined;
    const before = m.numBytesAllocated;
    const working = this.workingSet!;
    const [outsideBytes, outsideCount] = destroyFree(m, (key) => !working.has(key), bound);
    const [restBytes, restCount] = destroyFree(m, () => true, bound);
    return {
      freedBytes: outsideBytes + restBytes,
      freedBuffers: outsideCount + restCount,
      allocatedBefore: before,
      allocatedAfter: m.numBytesAllocated,
      boundBytes: bound,
    };
  }
}
