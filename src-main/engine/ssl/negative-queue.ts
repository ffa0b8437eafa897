/**
 * MoCo's queue of negatives: the last K keys of the momentum encoder, a ring buffer of normalised
 * rows with a write pointer. The rows are a tf.Variable and the pointer a number, so a checkpoint
 * carries both (the rows as a tensor, the pointer in the JSON state) and a resumed run continues
 * with exactly the negatives it had.
 *
 * It starts, as MoCo's does, with random unit vectors: until K keys have been enqueued some
 * negatives are noise, which is why the CPU default K is small (docs/method.md).
 */
import * as tf from '@tensorflow/tfjs';
import { l2Normalize } from './l2-normalize';

export class NegativeQueue {
  readonly keys: tf.Variable<tf.Rank.R2>;
  private pointer = 0;

  constructor(
    readonly size: number,
    readonly dim: number,
    seed: number,
  ) {
    if (!Number.isInteger(size) || size < 1 || !Number.isInteger(dim) || dim < 1)
      throw new Error(`negative-queue.ts: size and dim must be positive integers, got ${size} × ${dim}`);
    this.keys = tf.tidy(() =>
      tf.variable(l2Normalize(tf.randomNormal([size, dim], 0, 1, 'float32', seed)) as tf.Tensor2D, false),
    );
  }

  /** Where the next key is written (0 ≤ pointer < size). */
  get ptr(): number {
    return this.pointer;
  }

  /**
   * Writes `keys` [n, dim] (normalised here) at the pointer, wrapping past the end, and moves the
   * pointer by n (mod size). More keys than the queue holds is refused: the oldest of one batch would
   * be overwritten by its newest, which is a configuration error (moco.queueSize vs the batch).
   */
  enqueue(keys: tf.Tensor2D): void {
    const n = keys.shape[0];
    if (keys.rank !== 2 || keys.shape[1] !== this.dim)
      throw new Error(`negative-queue.ts: expected keys [n, ${this.dim}], got [${keys.shape}]`);
    if (n > this.size) throw new Error(`negative-queue.ts: ${n} keys do not fit a queue of ${this.size}`);
    const p = this.pointer;
    tf.tidy(() => {
      const k = l2Normalize(keys);
      const q = this.keys;
      let next: tf.Tensor;
      if (p + n <= this.size) {
        next = tf.concat([q.slice([0, 0], [p, -1]), k, q.slice([p + n, 0], [-1, -1])], 0);
      } else {
        // Wrap: the first `head` keys fill the end, the rest start again at row 0.
        const head = this.size - p;
        const tail = n - head;
        next = tf.concat(
          [k.slice([head, 0], [tail, -1]), q.slice([tail, 0], [p - tail, -1]), k.slice([0, 0], [head, -1])],
          0,
        );
      }
      q.assign(next as tf.Tensor2D);
    });
    this.pointer = (p + n) % this.size;
  }

  /** Restores rows and pointer from a checkpoint (the rows through the checkpoint's tensors). */
  setPointer(pointer: number): void {
    if (!Number.isInteger(pointer) || pointer < 0 || pointer >= this.size)
      throw new Error(`negative-queue.ts: pointer ${pointer} is outside a queue of ${this.size}`);
    this.pointer = pointer;
  }

  dispose(): void {
    this.keys.dispose();
  }
}
