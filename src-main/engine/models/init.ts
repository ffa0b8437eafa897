/**
 * Seeded, backend-independent weight initialisation.
 *
 * Every tensor draws from its own stream derived from (seed, parameter name), so a weight's
 * initial value does not depend on how many parameters were created before it: resnet18 and
 * resnet34 built with the same seed share `conv1.weight`, and inserting a layer does not shift
 * every later weight. Values are generated in JS (not tf.random*) so they are identical on every
 * TF.js backend.
 */

/** FNV-1a over the UTF-16 code units of `text`, folded with the numeric seed. */
function hashSeed(seed: number, text: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  h = Math.imul(h, 0x01000193);
  h ^= Math.floor(seed / 0x100000000) >>> 0; // keep seeds above 2^32 distinct
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** splitmix32 step, used to expand one 32-bit seed into the 128-bit xoshiro state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128** — small, fast, and with a period far beyond any tensor we create. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  constructor(seed: number, stream = '') {
    const st = { s: hashSeed(seed, stream) };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  uniform(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** Standard normal by Box–Muller (both values of each pair are used). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    // 1 - u keeps the log argument in (0, 1].
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export function normalArray(size: number, std: number, seed: number, stream: string): Float32Array {
  const rng = new SeededRandom(seed, stream);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}

export function uniformArray(size: number, bound: number, seed: number, stream: string): Float32Array {
  const rng = new SeededRandom(seed, stream);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * rng.uniform() - 1) * bound;
  return out;
}

/**
 * torch.nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu') for a conv weight
 * stored as [kh, kw, in, out]: std = sqrt(2 / (out · kh · kw)).
 */
export function kaimingNormalConv(
  kernel: number,
  inChannels: number,
  outChannels: number,
  seed: number,
  name: string,
): Float32Array {
  const fanOut = outChannels * kernel * kernel;
  return normalArray(kernel * kernel * inChannels * outChannels, Math.sqrt(2 / fanOut), seed, name);
}

/**
 * torch's default nn.Linear / nn.Conv2d init (kaiming_uniform with a = √5) reduces to
 * U(−1/√fan_in, 1/√fan_in) for the weight, and the same bound for the bias.
 */
export function torchDefaultLinear(fanIn: number, size: number, seed: number, name: string): Float32Array {
  return uniformArray(size, 1 / Math.sqrt(fanIn), seed, name);
}
