/**
 * The threaded wasm build under Node: loads with 2 XNNPACK threads on this 2-core machine (whose
 * stock cap would be 1), computes what cpu computes, and 'auto' measures before choosing.
 * Its own file: the threaded build replaces the process's wasm backend.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { chooseWasmThreads } from '../../../src-main/engine/backend/thread-probe';
import {
  isThreadedWasmLoaded,
  setWasmPoolThreads,
  wasmPoolThreads,
} from '../../../src-main/engine/backend/wasm-threaded';

function convGrads(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 12 * 12 * 8 }, (_, i) => Math.sin(i * 0.31)),
      [2, 12, 12, 8],
    );
    const w = tf.tensor4d(
      Float32Array.from({ length: 9 * 8 * 8 }, (_, i) => Math.cos(i * 0.7) * 0.2),
      [3, 3, 8, 8],
    );
    return tf
      .grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
      )([x, w])
      .map((t) => t.dataSync() as Float32Array);
  });
}

let onCpu: Float32Array[];

beforeAll(async () => {
  await initBackend('cpu', { env: {} });
  onCpu = convGrads();
});

describe('threaded wasm', () => {
  it("initBackend threads 'auto' loads the threaded build and measures 1 vs 2 threads", async () => {
    let probed = 0;
    const info = await initBackend('wasm', {
      threads: 'auto',
      probe: () => void (probed++, convGrads()),
      env: {},
    });
    expect(isThreadedWasmLoaded()).toBe(true);
    expect(info.threadsChosenBy).toMatch(/^auto: probe step [\d.]+ ms with 1 thread, [\d.]+ ms with 2 /);
    expect([1, 2]).toContain(info.threads);
    expect(wasmPoolThreads()).toBe(info.threads);
    expect(probed).toBeGreaterThanOrEqual(7);
  });

  it('an explicit count re-sizes the pool; 2 threads compute what cpu computes', async () => {
    const info = await initBackend('wasm', { threads: 2, env: {} });
    expect(info.threads).toBe(2);
    expect(wasmPoolThreads()).toBe(2);
    expect(info.threadsChosenBy).toBe('requested, pool re-sized');
    expect(info.notes).toEqual([]);
    const got = convGrads();
    for (let i = 0; i < 2; i++) {
      const scale = Math.max(...onCpu[i].map(Math.abs));
      const err = Math.max(...got[i].map((v, j) => Math.abs(v - onCpu[i][j])));
      expect(err / scale).toBeLessThan(1e-5);
    }
  });

  it("'auto' times a probe with 1 and 2 threads and leaves the pool at its choice", () => {
    let calls = 0;
    const probe = () => {
      calls++;
      convGrads();
    };
    const choice = chooseWasmThreads(2, probe, 2000);
    expect([1, 2]).toContain(choice.threads);
    expect(choice.how).toMatch(
      /^auto: probe step [\d.]+ ms with 1 thread, [\d.]+ ms with 2 \(median of \d, \d+ ms in all\) → [12]$/,
    );
    expect(calls).toBeGreaterThanOrEqual(7); // 2 warm-ups + at least 2 × 2 timed + 1 pool warm-up
    expect(wasmPoolThreads()).toBe(choice.threads);
  });

  it("'auto' falls back to 1 thread when the probe cannot fit the budget", () => {
    setWasmPoolThreads(2);
    const choice = chooseWasmThreads(2, () => convGrads(), 1);
    expect(choice.threads).toBe(1);
    expect(choice.how).toMatch(/too slow to compare within 1 ms; 1 thread$/);
    expect(wasmPoolThreads()).toBe(1);
  });
});
