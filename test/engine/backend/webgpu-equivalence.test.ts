/**
 * One pretraining step on webgpu equals the same step on wasm: from identical weights and the same
 * batch, the loss within 1e-3 relative and each parameter group's gradient norm within 1e-2 relative,
 * for BYOL and for Self-EMD with the Eq. 13 marginals, Spatial Pyramid Crops and the scale view.
 * The step is the trainer's own (PretrainModel.forwardBackward), so it also shows that nothing in
 * it reads a GPU tensor synchronously (dataSync throws on webgpu in Node).
 * Tiny: width 4, 64 px, batch 2 (SwiftShader is a CPU emulation).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, releaseBackend } from '../../../src-main/engine/backend/select';
import type { Views } from '../../../src-main/engine/ssl/objective';
import { PretrainModel } from '../../../src-main/engine/train/pretrain';
import { tinyConfig } from '../train/tiny-config';
import { randomArray, rng } from '../ssl/reference';
import { probeWebGpu, reportSkip } from './webgpu-harness';

const probe = await probeWebGpu();
reportSkip('webgpu-equivalence.test.ts', probe);
// Dawn's device is released so that nothing native outlives the file's tests.
afterAll(() => releaseBackend());

const B = 2;
const SIZE = 64;
const SMALL = 32;

/** backbone/stem, backbone/layer1 … layer4, projector, predictor, denseProjector, densePredictor. */
function groupOf(key: string): string {
  const [part, rest] = key.split('/');
  if (part !== 'backbone') return part;
  return rest.startsWith('layer') ? `backbone/${rest.split('.')[0]}` : 'backbone/stem';
}

interface StepResult {
  total: number;
  global: number;
  emd: number;
  norms: Map<string, number>;
}

async function oneStep(
  config: ReturnType<typeof tinyConfig>,
  weights: Map<string, Float32Array> | undefined,
  pixels: { v1: Float32Array; v2: Float32Array; small: Float32Array },
): Promise<{ result: StepResult; weights: Map<string, Float32Array> }> {
  const model = new PretrainModel(config);
  const tensors = model.checkpointTensors();
  if (weights)
    tf.tidy(() => {
      for (const [k, v] of tensors) (v as tf.Variable).assign(tf.tensor(weights.get(k)!, v.shape, 'float32'));
    });
  const snapshot = new Map<string, Float32Array>();
  for (const [k, v] of tensors) snapshot.set(k, Float32Array.from(await v.data()));
  const views: Views = {
    v1: tf.tensor4d(pixels.v1, [B, SIZE, SIZE, 3]),
    v2: tf.tensor4d(pixels.v2, [B, SIZE, SIZE, 3]),
    ...(config.emd.scaleView && config.method === 'self-emd'
      ? { small: tf.tensor4d(pixels.small, [B, SMALL, SMALL, 3]) }
      : {}),
  };
  const out = await model.forwardBackward(views);
  expect(out.grads).toBeDefined();
  const sq = new Map<string, number>();
  for (const [k, g] of out.grads!) {
    const v = await g.data();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * v[i];
    sq.set(groupOf(k), (sq.get(groupOf(k)) ?? 0) + s);
  }
  tf.dispose([...out.grads!.values(), ...Object.values(views)]);
  const norms = new Map([...sq].map(([k, s]) => [k, Math.sqrt(s)]));
  return { result: { total: out.total, global: out.global, emd: out.emd, norms }, weights: snapshot };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe.skipIf(!probe.info)('one training step: webgpu equals wasm', () => {
  const rand = rng(21);
  const pixels = {
    v1: Float32Array.from(randomArray(B * SIZE * SIZE * 3, rand, -2, 2)),
    v2: Float32Array.from(randomArray(B * SIZE * SIZE * 3, rand, -2, 2)),
    small: Float32Array.from(randomArray(B * SMALL * SMALL * 3, rand, -2, 2)),
  };
  const cases = [
    { name: 'byol', overrides: { method: 'byol' } },
    {
      name: 'self-emd (Eq. 13, SPC, scale view)',
      overrides: {
        method: 'self-emd',
        emd: { marginals: 'global-vector', spc: true, scaleView: true, scaleViewSize: SMALL },
      },
    },
  ];
  for (const c of cases)
    it(
      c.name,
      async () => {
        const config = tinyConfig({ ...c.overrides, optim: { batchSize: B }, data: { imageSize: SIZE } });
        await initBackend('wasm', { env: {} });
        let before = tf.memory().numTensors;
        const wasm = await oneStep(config, undefined, pixels);
        const leftOnWasm = tf.memory().numTensors - before;
        await initBackend('webgpu', { env: {} });
        before = tf.memory().numTensors;
        const gpu = await oneStep(config, wasm.weights, pixels);
        // The model keeps what it keeps (encoder state beyond the checkpoint), but no more on webgpu.
        expect(tf.memory().numTensors - before).toBe(leftOnWasm);

        expect(Number.isFinite(gpu.result.total)).toBe(true);
        expect(rel(gpu.result.total, wasm.result.total)).toBeLessThan(1e-3);
        expect(rel(gpu.result.global, wasm.result.global)).toBeLessThan(1e-3);
        if (config.method === 'self-emd') {
          expect(wasm.result.emd).toBeGreaterThan(0);
          expect(rel(gpu.result.emd, wasm.result.emd)).toBeLessThan(1e-3);
        }
        expect([...gpu.result.norms.keys()].sort()).toEqual([...wasm.result.norms.keys()].sort());
        for (const [group, norm] of wasm.result.norms) {
          expect(norm, group).toBeGreaterThan(0);
          expect(rel(gpu.result.norms.get(group)!, norm), group).toBeLessThan(1e-2);
        }
      },
      600_000,
    );
});
