/**
 * The webgpu buffer pool's backstop (backend/buffer-pool.ts), on SwiftShader: steps whose tensor
 * shapes change every time grow the pool without bound (checked: the control run passes the bound),
 * and with PooledMemoryBound between steps the bytes allocated stay under the bound; steps of fixed
 * shapes never trim; results computed after a trim are right, and a tensor alive across a trim is
 * released afterwards without upsetting the buffer manager's books.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { activeBufferManager, PooledMemoryBound } from '../../../src-main/engine/backend/buffer-pool';
import { deviceMemory } from '../../../src-main/engine/backend/device-memory';
import { releaseBackend } from '../../../src-main/engine/backend/select';
import { probeWebGpu, reportSkip } from './webgpu-harness';

const probe = await probeWebGpu();
reportSkip('webgpu-buffer-pool.test.ts', probe);
afterAll(() => releaseBackend());

/** One "step" on an [n, 64] input: a few ops, each leaving a buffer of a size that depends on n. */
async function step(n: number): Promise<number> {
  const x = tf.fill([n, 64], 0.5);
  const y = tf.tidy(() => x.mul(2).add(1).square().sum());
  const value = (await y.data())[0]!;
  tf.dispose([x, y]);
  return value;
}

const allocated = () => deviceMemory().gpuBytesAllocated!;
const STEPS = 16;
/** Rows per step: a new size every step (+8 rows = +2 KiB per buffer). */
const rows = (i: number) => 64 + 8 * i;
const OPTIONS = { warmupSteps: 3, ratio: 1.2, minBytes: 0 };

describe.skipIf(!probe.info)('the webgpu buffer pool bound', () => {
  it('shapes that change every step: the pool grows past the bound without it, stays under it with it', async () => {
    expect(activeBufferManager()).toBeDefined();
    // Control: no bound.
    const before = allocated();
    const grown: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      await step(rows(i));
      grown.push(allocated());
    }
    expect(allocated()).toBeGreaterThan(before);
    // Without trimming every step allocates again: the last steps are far above a bound taken at step 3.
    const boundAtWarmup = grown[OPTIONS.warmupSteps - 1]! * OPTIONS.ratio;
    expect(grown.at(-1)).toBeGreaterThan(1.5 * boundAtWarmup);

    releaseBackend();
    await probeWebGpu();
    const bound = new PooledMemoryBound(OPTIONS);
    const samples: number[] = [];
    let trims = 0;
    for (let i = 0; i < STEPS; i++) {
      expect(await step(rows(i))).toBe(rows(i) * 64 * 4);
      if (bound.afterStep()) trims++;
      samples.push(allocated());
    }
    expect(trims).toBeGreaterThan(0);
    const limit = bound.boundBytes!;
    expect(limit).toBeGreaterThan(0);
    for (const [i, s] of samples.slice(OPTIONS.warmupSteps).entries())
      expect(s, `step ${i + OPTIONS.warmupSteps + 1}: ${samples.join(', ')}`).toBeLessThanOrEqual(limit);
  }, 300_000);

  it('fixed shapes never reach the bound; a tensor alive across a trim is released cleanly after it', async () => {
    releaseBackend();
    await probeWebGpu();
    const fixed = new PooledMemoryBound(OPTIONS);
    for (let i = 0; i < 8; i++) {
      expect(await step(128)).toBe(128 * 64 * 4);
      expect(fixed.afterStep()).toBeUndefined();
    }

    const bound = new PooledMemoryBound({ warmupSteps: 1, ratio: 1, minBytes: 0 });
    await step(100);
    expect(bound.afterStep()).toBeUndefined();
    // A tensor of a size whose free list the trim empties, still alive during the trim.
    const kept = tf.fill([300, 64], 3);
    await step(300);
    await step(200);
    const trim = bound.afterStep();
    expect(trim).toBeDefined();
    expect(trim!.freedBytes).toBeGreaterThan(0);
    expect(trim!.allocatedAfter).toBe(allocated());
    const m = activeBufferManager()!;
    const freeNow = [...m.freeBuffers.values()].reduce((n, l) => n + l.length, 0);
    expect(m.numFreeBuffers).toBe(freeNow);
    const total = kept.sum();
    expect(Array.from(await total.data())).toEqual([300 * 64 * 3]);
    total.dispose();
    const used = deviceMemory().gpuBytesInUse!;
    kept.dispose();
    expect(deviceMemory().gpuBytesInUse).toBe(used - 300 * 64 * 4);
    expect(await step(300)).toBe(300 * 64 * 4);
  }, 300_000);
});
