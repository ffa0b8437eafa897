/**
 * Regression test of issue 12's flat RetinaNet (docs/detection.md): detectron2's head init,
 * normal(0, 0.01), is meant for 256 channels. At the CPU preset's 32 channels each of the head's
 * 3×3 convs shrank its input ~3× more than at 256, so the 4-conv subnets' outputs (and every
 * gradient flowing back through them) came out ~200× smaller, and the default fine-tune stayed at
 * its initial loss. The head must keep detectron2's signal gain at any width.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { createRetinaNetHead, headInitStd } from '../../../src-main/engine/detection/retinanet/head';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Std of the 4-conv box subnet + predictor output for unit-variance inputs at `channels`. */
function outputStd(channels: number): number {
  const head = createRetinaNetHead({
    channels,
    numClasses: 6,
    numAnchors: 9,
    numConvs: 4,
    norm: 'none',
    priorProb: 0.01,
    numLevels: 1,
    seed: 3,
  });
  const std = tf.tidy(() => {
    const x = tf.randomNormal([2, 12, 12, channels], 0, 1, 'float32', 7) as tf.Tensor4D;
    const { logits, deltas } = head.forward([x], false);
    tf.dispose(logits);
    return Math.sqrt(tf.moments(deltas[0]!).variance.dataSync()[0]!);
  });
  head.dispose();
  return std;
}

describe('RetinaNet head init', () => {
  it('is detectron2’s normal(0, 0.01) at 256 channels, scaled by √(256 / C) below', () => {
    expect(headInitStd(256)).toBeCloseTo(0.01, 10);
    expect(headInitStd(32)).toBeCloseTo(0.01 * Math.sqrt(8), 10);
  });

  it('passes as much signal through a 32-channel head as through a 256-channel one', () => {
    const narrow = outputStd(32);
    const wide = outputStd(256);
    console.log(
      `[retinanet head] output std for unit inputs: 32 channels ${narrow.toExponential(2)}, 256 channels ${wide.toExponential(2)}`,
    );
    // Measured: with a plain 0.01 at every width 2.3e-5 against 5.2e-3 (ratio 0.004); with the
    // width-scaled std 4.1e-3 against 5.2e-3 (they differ by sampling noise only).
    expect(wide).toBeGreaterThan(2e-3);
    expect(narrow / wide).toBeGreaterThan(0.5);
    expect(narrow / wide).toBeLessThan(2);
  });
});
