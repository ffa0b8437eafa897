import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import {
  listCheckpoints,
  loadCheckpoint,
  pruneCheckpoints,
  restoreVariables,
  saveCheckpoint,
} from '../../../src-main/engine/train/checkpoint';
import { decayOnlyMatrices, Sgd } from '../../../src-main/engine/train/sgd';
import { sgdMomentumAvailable } from '../../../src-main/engine/backend/kernels/sgd-momentum';
import { tempDir } from '../../temp-dir';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('SGD', () => {
  it('matches PyTorch semantics: momentum buffer, weight decay on matrices only', async () => {
    const params = new Map<string, tf.Variable>([
      ['w', tf.variable(tf.tensor2d([[1, 2]]))],
      ['b', tf.variable(tf.tensor1d([1]))],
    ]);
    const sgd = new Sgd(params, { momentum: 0.9, weightDecay: 0.1, decays: decayOnlyMatrices(params) });
    const grads = () =>
      new Map<string, tf.Tensor>([
        ['w', tf.tensor2d([[1, 1]])],
        ['b', tf.tensor1d([1])],
      ]);
    sgd.step(grads(), 0.5);
    // w: g = 1 + 0.1·w → [1.1, 1.2]; v = g; w = w − 0.5 v = [0.45, 1.4]. b: no decay, v = 1, b = 0.5.
    expect(Array.from(await params.get('w')!.data())).toEqual([
      expect.closeTo(0.45, 6),
      expect.closeTo(1.4, 6),
    ]);
    expect((await params.get('b')!.data())[0]).toBeCloseTo(0.5, 6);
    sgd.step(grads(), 0.5);
    // b: v = 0.9·1 + 1 = 1.9; b = 0.5 − 0.95 = −0.45.
    expect((await params.get('b')!.data())[0]).toBeCloseTo(-0.45, 6);
    const before = tf.memory().numTensors;
    sgd.step(grads(), 0.1);
    expect(tf.memory().numTensors).toBe(before + 2); // only the two gradient tensors made by grads()
  });

  it('holds one tensor per parameter (its momentum buffer) and frees them on dispose', () => {
    const params = new Map<string, tf.Variable>([
      ['w', tf.variable(tf.ones([3, 2]))],
      ['b', tf.variable(tf.zeros([2]))],
    ]);
    const before = tf.memory().numTensors;
    // No tf.tidy needed around it: the zeros each buffer starts from are not left behind.
    const sgd = new Sgd(params, { momentum: 0.9, weightDecay: 0, decays: () => false });
    expect(tf.memory().numTensors).toBe(before + 2);
    sgd.dispose();
    expect(tf.memory().numTensors).toBe(before);
    params.forEach((p) => p.dispose());
  });
});

describe('SGD on wasm (one fused WebAssembly SIMD kernel per parameter)', () => {
  it('gives bit-for-bit the weights and buffers of the op form on cpu, with and without decay', async () => {
    const values = (n: number, a: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin(i * a + 0.3) * (1 + i / n));
    const run = async (backend: 'cpu' | 'wasm') => {
      await initBackend(backend);
      const params = new Map<string, tf.Variable>([
        ['conv.weight', tf.variable(tf.tensor4d(values(3 * 3 * 4 * 5, 0.7), [3, 3, 4, 5]))],
        // 7 elements: one f32x4 group and a tail of 3.
        ['bn.bias', tf.variable(tf.tensor1d(values(7, 1.3)))],
      ]);
      const sgd = new Sgd(params, { momentum: 0.9, weightDecay: 1e-4, decays: decayOnlyMatrices(params) });
      const before = tf.memory().numTensors;
      for (let k = 0; k < 4; k++) {
        const grads = new Map<string, tf.Tensor>([
          ['conv.weight', tf.tensor4d(values(180, 0.37 + k), [3, 3, 4, 5])],
          ['bn.bias', tf.tensor1d(values(7, 2.1 + k))],
        ]);
        sgd.step(grads, 0.05 * (k + 1));
        tf.dispose([...grads.values()]);
      }
      expect(tf.memory().numTensors).toBe(before);
      const out = [...params.values(), ...sgd.momentumBuffers.values()].map((t) => Array.from(t.dataSync()));
      sgd.dispose();
      params.forEach((p) => p.dispose());
      return out;
    };
    const onCpu = await run('cpu');
    const onWasm = await run('wasm');
    expect(sgdMomentumAvailable(tf.backend())).toBe(true);
    expect(onWasm).toEqual(onCpu);
    await initBackend('cpu');
  });
});

describe('checkpoints', () => {
  it('round-trips tensors and state, atomically, and prunes old ones', async () => {
    const root = tempDir('ckpt-');
    const a = tf.tensor2d([
      [1.5, -2],
      [3, 4e-8],
    ]);
    const b = tf.tensor1d([7]);
    for (const step of [1, 2, 3, 4])
      await saveCheckpoint(
        root,
        step,
        new Map<string, tf.Tensor>([
          ['a', a],
          ['b', b],
        ]),
        { step, rng: [1, 2, 3, 4] },
      );
    // A leftover of an interrupted write is neither listed nor kept.
    fs.mkdirSync(path.join(root, 'step-00000005.tmp-999'));
    expect(listCheckpoints(root).map((c) => c.step)).toEqual([1, 2, 3, 4]);
    pruneCheckpoints(root, 2);
    expect(fs.readdirSync(root).sort()).toEqual(['step-00000003', 'step-00000004']);
    const loaded = loadCheckpoint<{ step: number }>(listCheckpoints(root).at(-1)!.dir);
    expect(loaded.state.step).toBe(4);
    const v = tf.variable(tf.zeros([2, 2]));
    restoreVariables(loaded, '', new Map([['a', v]]));
    expect(Array.from(await v.data())).toEqual(Array.from(await a.data()));
    const wrong = tf.variable(tf.zeros([3]));
    expect(() => restoreVariables(loaded, '', new Map([['a', wrong]]))).toThrow(
      /a has shape \[2,2\] but the model expects \[3\]/,
    );
    expect(() => restoreVariables(loaded, 'x/', new Map([['a', v]]))).toThrow(/missing tensor x\/a/);
  });

  it('reports a truncated tensor file with the folder name', async () => {
    const root = tempDir('ckpt-');
    const { dir } = await saveCheckpoint(root, 1, new Map([['a', tf.ones([64])]]), {});
    fs.truncateSync(path.join(dir, 'tensors.bin'), 10);
    expect(() => loadCheckpoint(dir)).toThrow(`checkpoint ${dir} is damaged: tensors.bin is truncated at a`);
  });
});
