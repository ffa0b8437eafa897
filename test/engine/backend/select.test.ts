/**
 * Backend selection: the auto order with the native packages absent (they cannot install here),
 * SELFEMD_BACKEND, explicit failures, thread options, and the `selfemd info` text.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { currentBackend, describeBackend, initBackend } from '../../../src-main/engine/backend/select';

describe('initBackend', () => {
  it("'auto' passes over tfjs-node-gpu and tfjs-node with the reason, and lands on wasm with the supplied kernels", async () => {
    const info = await initBackend('auto', { env: {} });
    expect(info.choice).toBe('wasm');
    expect(info.requested).toBe('auto');
    expect(tf.getBackend()).toBe('wasm');
    // webgpu is tried after tfjs-node-gpu and passed over here (no GPU): the note says why.
    expect(info.notes).toEqual([
      '@tensorflow/tfjs-node-gpu: not installed',
      expect.stringMatching(/^webgpu: (no Vulkan loader|no GPU adapter|only a fallback adapter)/),
      '@tensorflow/tfjs-node: not installed',
    ]);
    expect(info.cheapHostReads).toBe(true);
    expect(info.gpu).toBeNull();
    expect(info.version).toBe('4.22.0');
    expect(info.tfjsVersion).toBe(tf.version.tfjs);
    expect(info.threads).toBe(1);
    expect(info.threadsChosenBy).toBe('default');
    expect(info.simd).toBe(true);
    expect(info.fmaMatMul).toBe(true);
    expect(info.suppliedKernels).toEqual([
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'UnsortedSegmentSum',
      'DepthwiseConv2dNativeBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
      'MaxPoolGrad',
      'AvgPoolGrad',
      'BatchMatMul',
      'Transpose',
      'Identity',
      'SelfEmdBatchNormTrain',
      'SelfEmdBatchNormTrainGrad',
      'SelfEmdSgdMomentum',
    ]);
    expect(currentBackend()).toBe(info);

    const text = describeBackend();
    expect(text).toContain("backend: wasm (TF.js 'wasm' 4.22.0");
    expect(text).toContain('threads: 1 (default)');
    expect(text).toContain('SIMD: yes');
    expect(text).toContain('FMA matMuls (relaxed SIMD): yes');
    expect(text).toContain('note: @tensorflow/tfjs-node: not installed');
  });

  it('an explicit backend that cannot load throws, naming it and why', async () => {
    await expect(initBackend('tfjs-node', { env: {} })).rejects.toThrow(
      "Backend 'tfjs-node' could not be initialised: @tensorflow/tfjs-node: not installed",
    );
    await expect(initBackend('tfjs-node-gpu', { env: {} })).rejects.toThrow(/tfjs-node-gpu: not installed/);
  });

  it('SELFEMD_BACKEND replaces auto but not an explicit choice', async () => {
    const cpu = await initBackend('auto', { env: { SELFEMD_BACKEND: 'cpu' } });
    expect(cpu.choice).toBe('cpu');
    expect(cpu.requested).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(cpu.notes).toEqual(["SELFEMD_BACKEND=cpu replaces 'auto'"]);
    expect(cpu.threadsChosenBy).toMatch(/one thread/);
    expect(describeBackend(cpu)).toContain('SIMD: n/a');

    const wasm = await initBackend('wasm', { env: { SELFEMD_BACKEND: 'cpu' } });
    expect(wasm.choice).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(wasm.notes).toEqual(["SELFEMD_BACKEND=cpu ignored: 'wasm' was chosen explicitly"]);

    await expect(initBackend('auto', { env: { SELFEMD_BACKEND: 'gpu' } })).rejects.toThrow(
      "SELFEMD_BACKEND: 'gpu' is not one of auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu",
    );
  });

  it('passes webgpu over by name inside an Electron process, before dawn.node is loaded', async () => {
    // dawn.node aborts an Electron process (V8 memory cage) instead of throwing: it must not be tried.
    const versions = process.versions as Record<string, string>;
    versions.electron = '45.5.0';
    try {
      await expect(initBackend('webgpu', { env: {} })).rejects.toThrow(
        "Backend 'webgpu' could not be initialised: webgpu: not available inside Electron 45.5.0 processes",
      );
      // The desktop app says why it could not give the job its plain-Node GPU host (app/utility-spawner.ts).
      process.env.SELFEMD_GPU_HOST_NOTE = 'no Node.js on PATH for the GPU worker';
      await expect(initBackend('webgpu', { env: {} })).rejects.toThrow(
        /docs\/architecture\.md\): no Node\.js on PATH for the GPU worker$/,
      );
    } finally {
      delete versions.electron;
      delete process.env.SELFEMD_GPU_HOST_NOTE;
    }
  });

  it('rejects a bad GPU power preference, naming the variable', async () => {
    await expect(initBackend('webgpu', { env: { SELFEMD_GPU_POWER: 'fast' } })).rejects.toThrow(
      "SELFEMD_GPU_POWER: 'fast' is not one of high-performance, low-power",
    );
  });

  it('rejects bad thread settings, naming the option or variable', async () => {
    await expect(initBackend('wasm', { threads: 0, env: {} })).rejects.toThrow(
      /threads must be a positive integer or 'auto', got 0/,
    );
    await expect(initBackend('wasm', { env: { SELFEMD_WASM_THREADS: 'two' } })).rejects.toThrow(
      "SELFEMD_WASM_THREADS: 'two' is not a positive integer or 'auto'",
    );
  });

  it('comparison ops get zero gradients on every backend (masks in losses)', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend, { env: {} });
      const x = tf.tensor1d([-2, -0.5, 0.5, 2]);
      // smooth-L1: 0.5·x² inside |x| < 1, |x| − 0.5 outside.
      const g = tf.grad((t: tf.Tensor) => {
        const a = tf.abs(t);
        return tf.sum(tf.where(tf.less(a, 1), tf.mul(tf.square(a), 0.5), tf.sub(a, 0.5)));
      })(x);
      expect(Array.from(g.dataSync())).toEqual([-1, -0.5, 0.5, 1]);
      tf.dispose([x, g]);
    }
  });
});
