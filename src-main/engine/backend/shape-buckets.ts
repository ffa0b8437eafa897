/**
 * Size classes for the shapes that vary from step to step, on backends whose allocator keeps a
 * buffer per size (capabilities.ts, buffersPooledBySize): rounded up to one of four sizes per
 * octave (m·2^k, m ∈ {4, 5, 6, 7}; every whole number up to 8), so that at most a quarter is padding
 * and a long run meets only a few sizes, each allocated once.
 */
export function sizeBucket(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new Error(`sizeBucket: ${n} is not a whole number ≥ 0`);
  if (n <= 8) return n;
  const step = 2 ** (Math.floor(Math.log2(n)) - 2);
  return Math.ceil(n / step) * step;
}

/** A canvas side: `size` rounded up to a multiple of `divisibility` that is itself a size class. */
export function canvasBucket(size: number, divisibility: number): number {
  return divisibility * sizeBucket(Math.ceil(size / divisibility));
}
