/**
 * The kernels supplied to wasm against the cpu backend's stock kernels: same inputs, run on each
 * backend, compared elementwise. Inputs are smooth non-trivial patterns so every tap matters.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { preferGemm } from '../../../src-main/engine/backend/kernels/conv2d-backprop-input';
import { maxPoolSimdAvailable } from '../../../src-main/engine/backend/kernels/pool-grads';
import { initBackend } from '../../../src-main/engine/backend/select';

type Pad =
  'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  x: [number, number, number, number];
  k: number;
  co: number;
  s: number;
  pad: Pad;
}

// Strides 1 and 2 (and 3), 'same' / 'valid' / numeric / explicit pads (as tf.conv2d's gradient
// passes them through), 1×1, 3×3, 5×5, 7×7 kernels, odd sizes whose last rows a 'valid' stride
// never reaches.
const CASES: ConvCase[] = [
  { x: [2, 8, 8, 3], k: 3, co: 4, s: 1, pad: 'same' },
  { x: [2, 8, 8, 3], k: 3, co: 4, s: 2, pad: 'same' },
  { x: [2, 9, 7, 3], k: 3, co: 4, s: 2, pad: 'same' },
  { x: [2, 8, 8, 3], k: 3, co: 4, s: 2, pad: 'valid' },
  { x: [1, 9, 9, 3], k: 3, co: 5, s: 1, pad: 'valid' },
  { x: [1, 10, 10, 2], k: 7, co: 3, s: 2, pad: 'same' },
  { x: [2, 12, 12, 3], k: 7, co: 2, s: 2, pad: 'valid' },
  { x: [2, 8, 8, 4], k: 1, co: 6, s: 1, pad: 'same' },
  { x: [2, 8, 8, 4], k: 1, co: 6, s: 2, pad: 'valid' },
  { x: [2, 7, 7, 4], k: 1, co: 6, s: 2, pad: 'same' },
  {
    x: [2, 8, 8, 3],
    k: 3,
    co: 4,
    s: 2,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [1, 8, 8, 3], k: 3, co: 2, s: 1, pad: 2 },
  { x: [1, 11, 11, 3], k: 5, co: 2, s: 3, pad: 'same' },
  // Small maps under large filters: Conv2DBackpropInput's product form (preferGemm).
  { x: [1, 3, 3, 8], k: 3, co: 8, s: 1, pad: 'same' },
  { x: [1, 6, 6, 8], k: 3, co: 8, s: 2, pad: 'same' },
  { x: [1, 5, 5, 8], k: 3, co: 8, s: 1, pad: 'valid' },
  {
    x: [1, 7, 7, 4],
    k: 5,
    co: 4,
    s: 2,
    pad: [
      [0, 0],
      [1, 2],
      [2, 1],
      [0, 0],
    ],
  },
];

function pattern(n: number, a: number, b = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * a + b) + 0.3 * Math.cos(i * 0.11));
}

function convOutShape(c: ConvCase): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(c.x, [c.k, c.k, c.x[3], c.co], c.s, 1, c.pad);
  return info.outShape as [number, number, number, number];
}

/** Runs both backprop kernels directly (tf.engine().runKernel) on the current backend. */
function backprops(c: ConvCase): { dw: Float32Array; dx: Float32Array } {
  return tf.tidy(() => {
    const outShape = convOutShape(c);
    const x = tf.tensor4d(
      pattern(
        c.x.reduce((p, q) => p * q),
        0.37,
      ),
      c.x,
    );
    const w = tf.tensor4d(pattern(c.k * c.k * c.x[3] * c.co, 0.21, 1), [c.k, c.k, c.x[3], c.co]);
    const dy = tf.tensor4d(
      pattern(
        outShape.reduce((p, q) => p * q),
        0.53,
        2,
      ),
      outShape,
    );
    const common = { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
      ...common,
      filterShape: [c.k, c.k, c.x[3], c.co],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, {
      ...common,
      inputShape: c.x,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return { dw: dw.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  });
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / scale;
}

interface PoolCase {
  x: [number, number, number, number];
  k: number;
  s: number;
  pad: 'same' | 'valid';
  /** Inputs with many ties (a ReLU'd pattern): which maximum gets the gradient matters. */
  ties?: boolean;
}
const POOLS: PoolCase[] = [
  { x: [2, 9, 8, 3], k: 3, s: 2, pad: 'same' },
  { x: [2, 9, 8, 3], k: 3, s: 2, pad: 'same', ties: true },
  { x: [1, 7, 7, 5], k: 3, s: 1, pad: 'same', ties: true },
  { x: [2, 8, 8, 2], k: 2, s: 2, pad: 'valid' },
  { x: [1, 10, 9, 4], k: 5, s: 1, pad: 'same' },
  { x: [1, 11, 11, 2], k: 7, s: 2, pad: 'valid' },
  // Channels a multiple of 4: the WebAssembly SIMD search (pool-grads.ts).
  { x: [2, 9, 8, 8], k: 3, s: 2, pad: 'same', ties: true },
  { x: [3, 12, 12, 4], k: 3, s: 2, pad: 'same' },
  { x: [1, 7, 9, 12], k: 2, s: 1, pad: 'valid', ties: true },
];

function poolInput(c: PoolCase): tf.Tensor4D {
  const v = pattern(
    c.x.reduce((p, q) => p * q),
    0.83,
  );
  return tf.tensor4d(c.ties ? v.map((e) => Math.max(0, Math.round(e * 2) / 2)) : v, c.x);
}

function maxPoolGrad(c: PoolCase): Float32Array {
  return tf.tidy(() => {
    const x = poolInput(c);
    const y = tf.maxPool(x, c.k, c.s, c.pad);
    const dy = tf.tensor(pattern(y.size, 0.29, 1), y.shape);
    const attrs = { filterSize: c.k, strides: c.s, pad: c.pad, dimRoundingMode: undefined };
    const dx = tf
      .engine()
      .runKernel(tf.MaxPoolGrad, { dy, input: x, output: y }, attrs as unknown as tf.NamedAttrMap);
    return (dx as tf.Tensor).dataSync() as Float32Array;
  });
}

let cpuStockKernels: Map<string, tf.KernelFunc>;
const refs = new Map<ConvCase, { dw: Float32Array; dx: Float32Array }>();
const maxRefs = new Map<PoolCase, Float32Array>();

beforeAll(async () => {
  await initBackend('cpu');
  cpuStockKernels = new Map(
    [
      tf.Conv2DBackpropFilter,
      tf.Conv2DBackpropInput,
      tf.UnsortedSegmentSum,
      tf.MaxPoolGrad,
      tf.AvgPoolGrad,
    ].map((k) => [k, tf.getKernel(k, 'cpu').kernelFunc]),
  );
  for (const c of CASES) refs.set(c, backprops(c));
  for (const c of POOLS) maxRefs.set(c, maxPoolGrad(c));
  await initBackend('wasm');
});

describe('wasm Conv2DBackpropFilter / Conv2DBackpropInput vs the cpu kernels', () => {
  it.each(CASES.map((c) => [`x ${c.x} k${c.k} s${c.s} pad ${JSON.stringify(c.pad)}`, c] as const))(
    '%s',
    (_, c) => {
      expect(tf.getBackend()).toBe('wasm');
      const got = backprops(c);
      const want = refs.get(c)!;
      expect(relErr(got.dw, want.dw)).toBeLessThan(1e-5);
      expect(relErr(got.dx, want.dx)).toBeLessThan(1e-5);
    },
  );

  it('the cases cover both forms of Conv2DBackpropInput', () => {
    const gemm = CASES.map((c) => preferGemm([c.k, c.k, c.x[3], c.co], convOutShape(c)));
    expect(gemm.slice(-4)).toEqual([true, true, true, true]);
    expect(gemm.filter((g) => !g).length).toBeGreaterThanOrEqual(10);
  });

  it('tf.conv2d gradients on wasm equal cpu (stride 2, same) and keep tf.memory flat', async () => {
    const c = CASES[2];
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(
          pattern(
            c.x.reduce((p, q) => p * q),
            0.41,
          ),
          c.x,
        );
        const w = tf.tensor4d(pattern(c.k * c.k * c.x[3] * c.co, 0.17), [c.k, c.k, c.x[3], c.co]);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, 'same'))),
        )([x, w]);
        return [dx.dataSync(), dw.dataSync()];
      });
    const before = tf.memory().numTensors;
    const onWasm = run();
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend('cpu');
    const onCpu = run();
    await tf.setBackend('wasm');
    expect(relErr(onWasm[0], onCpu[0])).toBeLessThan(1e-5);
    expect(relErr(onWasm[1], onCpu[1])).toBeLessThan(1e-5);
  });
});

describe('wasm MaxPoolGrad vs the cpu kernel', () => {
  it('finds the wasm memory for its SIMD search on this TF.js version (else it falls back to JS, slowly)', () => {
    expect(maxPoolSimdAvailable(tf.backend())).toBe(true);
  });

  it.each(POOLS.map((c) => [`x ${c.x} k${c.k} s${c.s} ${c.pad}${c.ties ? ' ties' : ''}`, c] as const))(
    '%s',
    (_, c) => {
      const got = maxPoolGrad(c);
      const want = maxRefs.get(c)!;
      // Where windows overlap, sums of the same terms in another order: equal up to rounding.
      expect(relErr(got, want)).toBeLessThan(1e-6);
      // Same pixels receive gradient (the tie rule): a different winner would move whole dy values.
      expect(Array.from(got).map((v) => v !== 0)).toEqual(Array.from(want).map((v) => v !== 0));
    },
  );
});

describe('wasm AvgPoolGrad', () => {
  // avgPool is linear in x, so a central difference with step 1 is its exact gradient: this checks
  // the kernel against the forward pass that actually runs, independently of any TF.js gradient.
  it.each(POOLS.map((c) => [`x ${c.x} k${c.k} s${c.s} ${c.pad}`, c] as const))(
    '%s equals the finite difference of the forward pool',
    (_, c) => {
      const size = c.x.reduce((p, q) => p * q);
      const x0 = pattern(size, 0.83);
      const wOut = tf.tidy(() => tf.avgPool(tf.tensor4d(x0, c.x), c.k, c.s, c.pad).shape);
      const w = tf.tensor(
        pattern(
          wOut.reduce((p, q) => p * q),
          0.29,
          1,
        ),
        wOut,
      );
      const f = (v: Float32Array) =>
        tf.tidy(() => tf.sum(tf.mul(tf.avgPool(tf.tensor4d(v, c.x), c.k, c.s, c.pad), w)).dataSync()[0]);
      const fd = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        const up = x0.slice();
        const down = x0.slice();
        up[i] += 1;
        down[i] -= 1;
        fd[i] = (f(up) - f(down)) / 2;
      }
      const got = tf.tidy(() =>
        tf
          .grad((t: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, c.k, c.s, c.pad), w)))(
            tf.tensor4d(x0, c.x),
          )
          .dataSync(),
      );
      w.dispose();
      expect(relErr(got, fd)).toBeLessThan(1e-4);
    },
  );

  it("differs from core's k² divisor exactly where a 'same' window is clipped", async () => {
    const c = POOLS[4]; // 5×5 same
    const run = () =>
      tf.tidy(() =>
        tf
          .grad((t: tf.Tensor) => tf.sum(tf.avgPool(t as tf.Tensor4D, c.k, c.s, c.pad)))(tf.ones(c.x))
          .dataSync(),
      );
    const wasm = run();
    await tf.setBackend('cpu');
    const cpu = run();
    await tf.setBackend('wasm');
    // Centre pixel (every window around it whole): both 1. Corner: 9 windows of 9, 12, 15… pixels.
    const [, h, w, ch] = c.x;
    const centre = (5 * w + 4) * ch;
    expect(wasm[centre]).toBeCloseTo(1, 5);
    expect(cpu[centre]).toBeCloseTo(1, 5);
    const corner = 0;
    const exact = [3, 4, 5].reduce((sy, ry) => sy + [3, 4, 5].reduce((sx, rx) => sx + 1 / (ry * rx), 0), 0);
    expect(wasm[corner]).toBeCloseTo(exact, 5);
    expect(cpu[corner]).toBeCloseTo(9 / 25, 5);
    expect(h).toBe(10);
  });
});

describe('wasm UnsortedSegmentSum', () => {
  it('matches a hand sum, drops out-of-range ids, and gives tf.gather a gradient', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2]);
    const ids = tf.tensor1d([2, 0, 2, -1, 7], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 3);
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.dataSync())).toEqual([3, 4, 0, 0, 6, 8]);

    const ints = tf.unsortedSegmentSum(tf.tensor1d([5, 6, 7], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2);
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([7, 11]);

    // gather along axis 1 with repeated indices: the gradient counts each use.
    const p = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(
        tf.mul(tf.gather(t, tf.tensor1d([2, 0, 2], 'int32'), 1), tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3])),
      ),
    )(p);
    expect(Array.from(g.dataSync())).toEqual([2, 0, 4, 5, 0, 10]);
    tf.dispose([x, ids, out, ints, p, g]);
  });
});

describe('other backends keep their stock kernels', () => {
  it('the cpu registry still holds the cpu functions', () => {
    for (const [name, fn] of cpuStockKernels) expect(tf.getKernel(name, 'cpu').kernelFunc).toBe(fn);
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm').kernelFunc).not.toBe(
      cpuStockKernels.get(tf.Conv2DBackpropFilter),
    );
  });
});
