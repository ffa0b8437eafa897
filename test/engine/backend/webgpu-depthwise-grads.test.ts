/**
 * Depthwise-conv gradients on webgpu: TF.js's stock webgpu kernels (the engine supplies none) equal
 * the cpu backend's over the shared cases (depthwise-cases.ts), so MobileNetV2 trains there too.
 * Tiny sizes: SwiftShader is a CPU emulation.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, releaseBackend } from '../../../src-main/engine/backend/select';
import { CASES, grads, label, relErr } from './depthwise-cases';
import { probeWebGpu, reportSkip } from './webgpu-harness';

const probe = await probeWebGpu();
reportSkip('webgpu-depthwise-grads.test.ts', probe);
afterAll(() => releaseBackend());

describe.skipIf(!probe.info)('webgpu depthwise-conv gradients', () => {
  it('equal the cpu kernels on every shared case', async () => {
    await initBackend('cpu');
    const want = [];
    for (const c of CASES) want.push(await grads(c));
    await initBackend('webgpu', { env: {} });
    expect(tf.getBackend()).toBe('webgpu');
    for (const [i, c] of CASES.entries()) {
      const got = await grads(c);
      expect(relErr(got.dx, want[i]!.dx), label(c)).toBeLessThan(1e-4);
      expect(relErr(got.df, want[i]!.df), label(c)).toBeLessThan(1e-4);
    }
  });
});
