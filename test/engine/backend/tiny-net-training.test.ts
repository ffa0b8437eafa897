/**
 * A tiny conv net (conv s2 + BN + relu + maxpool + conv + avgpool + dense) trains on wasm with the
 * supplied kernels: the loss falls over 20 SGD steps and tf.memory() stays flat.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { createTinyNet } from './tiny-net';

beforeAll(async () => {
  const info = await initBackend('wasm', { threads: 1 });
  expect(info.suppliedKernels).toContain('Conv2DBackpropFilter');
});

describe('tiny conv net on wasm', () => {
  it('loss decreases over 20 steps with flat tensor count', () => {
    const net = createTinyNet(7);
    const opt = tf.train.momentum(0.02, 0.9);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let step = 0; step < 20; step++) {
      losses.push(net.trainStep(opt));
      counts.push(tf.memory().numTensors);
    }
    // Step 1 creates the momentum slots; from then on every step frees what it makes.
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[0]).toBeGreaterThan(1.0); // ~ln 3 at the start: the net has to learn
    expect(Math.min(...losses.slice(15))).toBeLessThan(0.5 * losses[0]);
    // Mostly downhill, not a lucky last step.
    const falling = losses.slice(1).filter((l, i) => l < losses[i]).length;
    expect(falling).toBeGreaterThanOrEqual(15);
    net.dispose();
    opt.dispose();
  });
});
