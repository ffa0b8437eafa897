/**
 * A small seedable PRNG: xoshiro128** (Blackman & Vigna) with 128 bits of state, seeded through
 * splitmix32 so that nearby seeds (0, 1, 2…) give unrelated streams.
 *
 * Why our own and not Math.random: training must be reproducible from the seed, and a resumed run
 * must continue bit-for-bit — so the whole state is four uint32s exposed as a plain JSON array.
 */

export type RngState = [number, number, number, number];

const TWO_POW_32 = 4294967296;

/** splitmix32: a one-step hash used only to expand seeds into state words. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of a label; stream names only need to be distinct, not secret. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function isValidState(s: unknown): s is RngState {
  return (
    Array.isArray(s) &&
    s.length === 4 &&
    s.every((v) => Number.isInteger(v) && v >= 0 && v < TWO_POW_32) &&
    s.some((v) => v !== 0)
  );
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** `seed` is any integer (or a 4-word state from getState()). */
  constructor(seed: number | RngState = 0) {
    if (Array.isArray(seed)) this.setState(seed);
    else this.seedWords(Math.trunc(seed) >>> 0, 0);
  }

  private seedWords(a: number, b: number): void {
    // Chain splitmix so each word depends on both inputs; never all-zero (xoshiro's fixed point).
    let x = splitmix32(a ^ Math.imul(b, 0x85ebca6b));
    this.s0 = x;
    x = splitmix32(x ^ b);
    this.s1 = x;
    x = splitmix32(x ^ a);
    this.s2 = x;
    x = splitmix32(x + 0x6a09e667);
    this.s3 = x;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s3 = 1;
  }

  /** Next raw 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform float in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** Uniform integer in [0, n), unbiased (rejection of the short last bucket). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32)
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Standard normal (Box–Muller; the second value is discarded so the state stays 4 words). */
  normal(): number {
    const u1 = 1 - this.next(); // (0, 1]: log stays finite
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** True with probability p. Always consumes exactly one draw, so stream alignment does not depend on p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /**
   * An independent stream named by `label`, derived from this generator's current state without
   * advancing it: the same (state, label) always gives the same child, different labels give
   * unrelated children. Adding a new consumer stream therefore never shifts existing ones.
   */
  fork(label: string): Rng {
    const child = new Rng(0);
    const h = hashLabel(label);
    child.seedWords(this.s0 ^ rotl(this.s2, 13) ^ h, this.s1 ^ rotl(this.s3, 7) ^ Math.imul(h, 0x27d4eb2f));
    return child;
  }

  /** The full state as a JSON-able array of four uint32s. */
  getState(): RngState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(state: readonly number[]): void {
    if (!isValidState(state))
      throw new Error(`Rng.setState: expected 4 uint32 words, not all zero, got ${JSON.stringify(state)}`);
    this.s0 = state[0] | 0;
    this.s1 = state[1] | 0;
    this.s2 = state[2] | 0;
    this.s3 = state[3] | 0;
  }

  clone(): Rng {
    return new Rng(this.getState());
  }
}

export function createRng(seed: number): Rng {
  return new Rng(seed);
}
