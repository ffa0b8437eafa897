/**
 * The webgpu backend on whatever adapter can be had (SwiftShader here): setup and what it reports,
 * the strategies chosen by capability, the device Sinkhorn against a Float64 one in the paper's update
 * order, the fused dense EMD on the device against the host strategy on wasm, and the Sinkhorn floors
 * and non-finite losses where WGSL may assume no NaN/Inf. Tiny sizes: SwiftShader is a CPU emulation.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { hostReadsAreCheap } from '../../../src-main/engine/backend/capabilities';
import { readHostSync } from '../../../src-main/engine/backend/host-read';
import { describeBackend, initBackend, releaseBackend } from '../../../src-main/engine/backend/select';
import { defaultAugmentImpl } from '../../../src-main/engine/data/augment';
import { resolveStrategy } from '../../../src-main/engine/ssl/cosine-matrix';
import { denseEmdLoss, type DenseEmdGroup } from '../../../src-main/engine/ssl/dense-emd';
import { gibbsKernel, sinkhorn } from '../../../src-main/engine/ssl/sinkhorn';
import { randomArray, relativeError, rng, sinkhornRef } from '../ssl/reference';
import { probeWebGpu, reportSkip } from './webgpu-harness';

const probe = await probeWebGpu();
reportSkip('webgpu-backend.test.ts', probe);
// Dawn's device is released so that nothing native outlives the file's tests.
afterAll(() => releaseBackend());

const useWebGpu = () => initBackend('webgpu', { env: {} });

function marginal(len: number, rand: () => number): number[] {
  const w = Array.from({ length: len }, () => 0.2 + rand());
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

describe.skipIf(!probe.info)('webgpu backend', () => {
  it('names the adapter and its limits, and reports no cheap host reads', async () => {
    const info = await useWebGpu();
    expect(info.choice).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.cheapHostReads).toBe(false);
    expect(info.gpu).not.toBeNull();
    const gpu = info.gpu!;
    expect(gpu.vendor.length).toBeGreaterThan(0);
    expect(gpu.architecture.length).toBeGreaterThan(0);
    expect(typeof gpu.fallback).toBe('boolean');
    expect(gpu.maxBufferSize).toBeGreaterThanOrEqual(256 * 2 ** 20); // WebGPU's guaranteed minimum
    expect(gpu.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    const text = describeBackend(info);
    expect(text).toContain(`GPU adapter: ${gpu.vendor} ${gpu.architecture}`);
    expect(text).toMatch(/GPU limits: max buffer \d+ MiB, max storage binding \d+ MiB/);
    if (gpu.fallback) expect(text).toContain('fallback adapter');
  });

  it('chooses the device strategies by capability, and refuses a synchronous read', async () => {
    await useWebGpu();
    expect(hostReadsAreCheap()).toBe(false);
    expect(defaultAugmentImpl()).toBe('tensor');
    expect(resolveStrategy('auto')).toBe('batched');
    const t = tf.tensor1d([1, 2, 3]);
    expect(() => readHostSync(t)).toThrow(/synchronous read on the 'webgpu' backend/);
    t.dispose();
    await initBackend('wasm', { env: {} });
    expect(hostReadsAreCheap()).toBe(true);
    expect(defaultAugmentImpl()).toBe('js');
    expect(resolveStrategy('auto')).toBe('per-pair');
  });

  it("the Sinkhorn plan equals a Float64 Sinkhorn in the paper's update order", async () => {
    await useWebGpu();
    const rand = rng(11);
    const [B, n, m, T, lambda] = [3, 5, 7, 10, 20];
    const costs = randomArray(B * n * m, rand, 0, 2);
    const rs = Array.from({ length: B }, () => marginal(n, rand));
    const cs = Array.from({ length: B }, () => marginal(m, rand));
    const { K, plan } = tf.tidy(() => {
      const Kt = gibbsKernel(tf.tensor3d(Float32Array.from(costs), [B, n, m]), lambda);
      return { K: Kt, plan: sinkhorn(Kt, tf.tensor2d(rs.flat(), [B, n]), tf.tensor2d(cs.flat(), [B, m]), T) };
    });
    const [Kv, planV] = await Promise.all([K.data(), plan.data()]);
    tf.dispose([K, plan]);
    let onDeviceK = 0;
    let fromCosts = 0;
    for (let b = 0; b < B; b++) {
      // (a) on the very float32 kernel the device computed; (b) on a Float64 kernel from the costs.
      const refA = sinkhornRef(
        Kv.subarray(b * n * m, (b + 1) * n * m),
        Float32Array.from(rs[b]),
        Float32Array.from(cs[b]),
        n,
        m,
        T,
      );
      const K64 = new Float64Array(n * m);
      for (let i = 0; i < n; i++) {
        const row = costs.subarray(b * n * m + i * m, b * n * m + (i + 1) * m);
        const min = Math.min(...Array.from(row, (x) => Math.fround(x)));
        for (let j = 0; j < m; j++) K64[i * m + j] = Math.exp(-lambda * (Math.fround(row[j]) - min));
      }
      const refB = sinkhornRef(K64, rs[b], cs[b], n, m, T);
      for (let k = 0; k < n * m; k++) {
        const p = planV[b * n * m + k];
        onDeviceK = Math.max(onDeviceK, Math.abs(p - refA[k]) / refA[k]);
        fromCosts = Math.max(fromCosts, Math.abs(p - refB[k]) / refB[k]);
      }
    }
    expect(onDeviceK).toBeLessThan(1e-5);
    expect(fromCosts).toBeLessThan(1e-4);
  });

  it('keeps the Sinkhorn floors: a column whose kernel underflows gets no mass, and nothing is NaN', async () => {
    await useWebGpu();
    const [n, m] = [3, 4];
    // Column 3 costs 10 more than the rest: exp(−λ·10) with λ = 20 underflows float32 to 0.
    const M = Float32Array.from({ length: n * m }, (_, k) => (k % m === 3 ? 10 : 0.1 * (k % m)));
    const plan = tf.tidy(() =>
      sinkhorn(
        gibbsKernel(tf.tensor3d(M, [1, n, m]), 20),
        tf.fill([1, n], 1 / n) as tf.Tensor2D,
        tf.fill([1, m], 1 / m) as tf.Tensor2D,
        10,
      ),
    );
    const p = await plan.data();
    plan.dispose();
    expect(Array.from(p).every(Number.isFinite)).toBe(true);
    for (let i = 0; i < n; i++) expect(p[i * m + 3]).toBe(0);
    // The other columns receive their mass: c_j = 1/4 each after the last (column) update.
    for (let j = 0; j < 3; j++) expect(p[j] + p[m + j] + p[2 * m + j]).toBeCloseTo(1 / m, 5);
  });

  it('sums more tensors at once than a shader can bind (AddN in chunks)', async () => {
    await useWebGpu();
    const xs = Array.from({ length: 20 }, (_, i) => tf.fill([3, 5], i + 1));
    const sum = tf.addN(xs);
    const values = await sum.data();
    tf.dispose([sum, ...xs]);
    expect(Array.from(values)).toEqual(new Array(15).fill(210));
  });

  it('a non-finite loss reads back as non-finite (the training stop can see it)', async () => {
    await useWebGpu();
    const x = tf.tensor1d([1, 0, -1]);
    const losses = tf.tidy(() => [
      tf.mean(tf.log(tf.sub(x, 1))),
      tf.mean(tf.div(x, tf.sub(x, x))),
      tf.sum(tf.sqrt(x)),
    ]);
    const values = await Promise.all(losses.map(async (l) => (await l.data())[0]));
    tf.dispose([x, ...losses]);
    // log(−2) is NaN, x/0 holds ±Inf and NaN, sqrt(−1) is NaN: none may come back finite.
    for (const v of values) expect(Number.isFinite(v)).toBe(false);
  });

  it('the fused dense EMD on the device equals the host strategy on wasm (loss and gradients)', async () => {
    const B = 2;
    const C = 8;
    const rand = rng(5);
    const sizes = { on: [49, 25, 9], tg: [49, 25, 9], small: 16 };
    const data = {
      on: sizes.on.map((s) => randomArray(B * s * C, rand, -0.7, 1.3)),
      tg: sizes.tg.map((s) => randomArray(B * s * C, rand, -0.7, 1.3)),
      small: randomArray(B * sizes.small * C, rand, -0.7, 1.3),
      vOn: randomArray(B * C, rand, -1, 1.2),
      vTg: randomArray(B * C, rand, -1, 1.2),
    };
    const opts = { lambda: 20, iterations: 10, marginals: 'global-vector' as const, marginalEpsilon: 1e-3 };
    const run = async () => {
      const t3 = (a: Float64Array, n: number) => tf.tensor3d(Float32Array.from(a), [B, n, C]);
      const online = [...data.on.map((a, i) => t3(a, sizes.on[i])), t3(data.small, sizes.small)];
      const target = data.tg.map((a, i) => t3(a, sizes.tg[i]));
      const vOn = tf.tensor2d(Float32Array.from(data.vOn), [B, C]);
      const vTg = tf.tensor2d(Float32Array.from(data.vTg), [B, C]);
      const cross = [0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => ({ a, b, weight: 1 })));
      const groupsOf = (xs: tf.Tensor[]): DenseEmdGroup[] => [
        { online: xs.slice(0, 3) as tf.Tensor3D[], target, vOnline: vOn, vTarget: vTg, blocks: cross },
        {
          online: [xs[3] as tf.Tensor3D],
          target,
          vOnline: vOn,
          vTarget: vTg,
          blocks: [0, 1, 2].map((b) => ({ a: 0, b, weight: 1 })),
        },
      ];
      const { value, grads } = tf.valueAndGrads(
        (...xs: tf.Tensor[]) => denseEmdLoss(groupsOf(xs), opts).loss,
      )(online);
      const out = {
        loss: (await value.data())[0],
        grads: await Promise.all(grads.map(async (g) => Float64Array.from(await g.data()))),
      };
      tf.dispose([value, ...grads, ...online, ...target, vOn, vTg]);
      return out;
    };
    await initBackend('wasm', { env: {} });
    const before = tf.memory().numTensors;
    const host = await run();
    expect(tf.memory().numTensors).toBe(before);
    await useWebGpu();
    const beforeGpu = tf.memory().numTensors;
    const device = await run();
    expect(tf.memory().numTensors).toBe(beforeGpu);
    expect(Math.abs(device.loss - host.loss) / Math.abs(host.loss)).toBeLessThan(1e-5);
    device.grads.forEach((g, i) => {
      expect(g.length).toBe(host.grads[i].length);
      expect(relativeError(g, host.grads[i])).toBeLessThan(1e-4);
    });
  });

  it("'auto' never takes a fallback adapter, and says so", async () => {
    if (!probe.info?.gpu?.fallback) return; // with a hardware adapter auto takes it: nothing to refuse here
    releaseBackend();
    const info = await initBackend('auto', { env: {} });
    expect(info.choice).not.toBe('webgpu');
    expect(
      info.notes.some((n) =>
        /^webgpu: only a fallback adapter \(.+\); auto takes hardware adapters only/.test(n),
      ),
    ).toBe(true);
  });
});
