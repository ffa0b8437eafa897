/**
 * The webgpu conv gradients (kernels/webgpu-conv-grads.ts) equal the cpu backend's: tf.grads of a
 * conv2d with respect to its input and its filter, over strides 1/2, padding same/valid, 1×1, 3×3
 * and 7×7 kernels, batch 2, on odd-sized maps (same padding then pads unevenly), and the ResNets'
 * symmetric numeric padding. Every input-gradient path, and the chunked forms (a tiny chunk budget forces many im2col blocks and image chunks).
 * Tiny sizes: SwiftShader is a CPU emulation.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  CONV_GRAD_TUNING,
  conv2dBackpropFilterWebGpu,
  conv2dBackpropInputWebGpu,
} from '../../../src-main/engine/backend/kernels/webgpu-conv-grads';
import { initBackend, releaseBackend } from '../../../src-main/engine/backend/select';
import { randomArray, relativeError, rng } from '../ssl/reference';
import { probeWebGpu, reportSkip } from './webgpu-harness';

const probe = await probeWebGpu();
reportSkip('webgpu-conv-grads.test.ts', probe);
afterAll(() => releaseBackend());
const defaults = { ...CONV_GRAD_TUNING };
afterEach(() => Object.assign(CONV_GRAD_TUNING, defaults));

interface Case {
  k: number;
  s: number;
  /** A number is torch-style symmetric padding, as the engine's ResNets use. */
  pad: 'same' | 'valid' | number;
}
const N = 2;
const H = 11;
const W = 10;
const CI = 5;
const CO = 4;
const CASES: Case[] = [
  ...[1, 3, 7].flatMap((k) =>
    [1, 2].flatMap((s) => (['same', 'valid'] as const).map((pad) => ({ k, s, pad }))),
  ),
  { k: 3, s: 2, pad: 1 },
  { k: 7, s: 2, pad: 3 },
];
const name = (c: Case) => `${c.k}x${c.k} s${c.s} ${c.pad}`;

interface Data {
  x: Float32Array;
  w: Float32Array;
  r: Float32Array;
  outShape: [number, number, number, number];
}

function data(c: Case, seed: number): Data {
  const info = tf.backend_util.computeConv2DInfo([N, H, W, CI], [c.k, c.k, CI, CO], c.s, 1, c.pad);
  const rand = rng(seed);
  const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
  return {
    x: Float32Array.from(randomArray(N * H * W * CI, rand, -1, 1)),
    w: Float32Array.from(randomArray(c.k * c.k * CI * CO, rand, -1, 1)),
    r: Float32Array.from(randomArray(size(info.outShape), rand, -1, 1)),
    outShape: info.outShape as [number, number, number, number],
  };
}

/** dL/dx and dL/dw of L = Σ conv2d(x, w) · r on the current backend. */
async function grads(c: Case, d: Data): Promise<{ dx: Float32Array; dw: Float32Array }> {
  const x = tf.tensor4d(d.x, [N, H, W, CI]);
  const w = tf.tensor4d(d.w, [c.k, c.k, CI, CO]);
  const r = tf.tensor4d(d.r, d.outShape);
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), r)),
  )([x, w]);
  const out = { dx: (await dx.data()) as Float32Array, dw: (await dw.data()) as Float32Array };
  tf.dispose([x, w, r, dx, dw]);
  return out;
}

async function compare(cases: Case[], tune: Partial<typeof CONV_GRAD_TUNING>): Promise<void> {
  for (const [i, c] of cases.entries()) {
    const d = data(c, 100 + i);
    await initBackend('cpu', { env: {} });
    const want = await grads(c, d);
    await initBackend('webgpu', { env: {} });
    Object.assign(CONV_GRAD_TUNING, tune);
    const before = tf.memory().numTensors;
    const got = await grads(c, d);
    Object.assign(CONV_GRAD_TUNING, defaults);
    expect(tf.memory().numTensors, name(c)).toBe(before);
    expect(got.dx.length, name(c)).toBe(want.dx.length);
    expect(got.dw.length, name(c)).toBe(want.dw.length);
    expect(relativeError(got.dw, want.dw), `${name(c)}: weight gradient`).toBeLessThan(1e-3);
    expect(relativeError(got.dx, want.dx), `${name(c)}: input gradient`).toBeLessThan(1e-3);
  }
}

describe.skipIf(!probe.info)('webgpu conv gradients equal the cpu backend', () => {
  it('are the kernels registered on webgpu', () => {
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'webgpu')?.kernelFunc).toBe(conv2dBackpropFilterWebGpu);
    expect(tf.getKernel(tf.Conv2DBackpropInput, 'webgpu')?.kernelFunc).toBe(conv2dBackpropInputWebGpu);
  });

  it('weight gradient and input gradient (auto path), 14 geometries', () => compare(CASES, {}), 300_000);

  it('input gradient through a spread dy and Conv2D', () => compare(CASES, { inputGrad: 'conv' }), 300_000);

  it('input gradient through TF.js’s tiled MM program', () => compare(CASES, { inputGrad: 'mm' }), 300_000);

  it(
    'chunked: im2col blocks and image chunks under a tiny budget',
    () =>
      // One padded dy image of the 3×3 case is 13·12·4·4 bytes: one image per chunk, and im2col blocks
      // of 13 rows (of 220) for the weight gradient.
      compare(
        CASES.filter((c) => c.k === 3),
        { maxChunkBytes: 13 * 12 * CO * 4, inputGrad: 'conv' },
      ),
    300_000,
  );
});
