/**
 * Every op a ResNet with BN, MLP heads, BYOL / Self-EMD losses and RetinaNet-like losses
 * differentiate through: the gradient on wasm (stock + supplied kernels) equals the gradient on cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';

const SHAPE: [number, number, number, number] = [2, 10, 10, 4];

function input(): tf.Tensor4D {
  return tf.tensor4d(
    Float32Array.from(
      { length: 2 * 10 * 10 * 4 },
      (_, i) => Math.sin(i * 0.61) * 1.7 + 0.2 * Math.cos(i * 0.07),
    ),
    SHAPE,
  );
}

const consts = {
  w33: () =>
    tf.tensor4d(
      Float32Array.from({ length: 144 }, (_, i) => Math.cos(i * 0.3) * 0.3),
      [3, 3, 4, 4],
    ),
  dense: () =>
    tf.tensor2d(
      Float32Array.from({ length: 400 * 6 }, (_, i) => Math.sin(i * 0.05) * 0.05),
      [400, 6],
    ),
  labels: () => tf.oneHot(tf.tensor1d([1, 4], 'int32'), 6),
};

// Each maps x [2,10,10,4] to a tensor; the test differentiates sum(f(x) · fixed weights).
const OPS: Record<string, (x: tf.Tensor4D) => tf.Tensor> = {
  'conv 3x3 s2 same + relu': (x) => tf.relu(tf.conv2d(x, consts.w33(), 2, 'same')),
  'conv 1x1 s2 (downsample)': (x) =>
    tf.conv2d(x, tf.slice(consts.w33(), [1, 1, 0, 0], [1, 1, 4, 4]), 2, 'valid'),
  'batch norm (tf.batchNorm, training moments)': (x) => {
    const m = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x, m.mean, m.variance, tf.fill([4], 0.1), tf.fill([4], 1.3), 1e-5);
  },
  'maxPool 3x3 s2 same': (x) => tf.maxPool(x, 3, 2, 'same'),
  'maxPool after relu (tied zeros)': (x) => tf.maxPool(tf.relu(tf.sub(x, 1)) as tf.Tensor4D, 3, 2, 'same'),
  'avgPool 3 s1 same': (x) => tf.avgPool(x, 3, 1, 'same'),
  'avgPool 5 s1 same': (x) => tf.avgPool(x, 5, 1, 'same'),
  'avgPool 7 s1 same': (x) => tf.avgPool(x, 7, 1, 'same'),
  'avgPool 3 s2 same': (x) => tf.avgPool(x, 3, 2, 'same'),
  'residual add + global mean': (x) => tf.mean(tf.relu(tf.add(x, tf.mul(x, 0.5))), [1, 2]),
  'MLP head: matMul + bias + relu + matMul': (x) =>
    tf.matMul(tf.relu(tf.add(tf.matMul(x.reshape([2, 400]), consts.dense()), 0.1)), tf.ones([6, 3])),
  'matMul transposeB': (x) => tf.matMul(x.reshape([20, 40]), tf.ones([5, 40]), false, true),
  'l2 normalise': (x) => {
    const v = x.reshape([2, 400]);
    return tf.div(v, tf.sqrt(tf.maximum(tf.sum(tf.square(v), -1, true), 1e-12)));
  },
  'exp / log / logSumExp': (x) =>
    tf.add(tf.log(tf.add(tf.exp(tf.mul(x, 0.3)), 1)), tf.logSumExp(x, -1, true)),
  'softmax cross-entropy': (x) =>
    tf.losses.softmaxCrossEntropy(consts.labels(), tf.matMul(x.reshape([2, 400]), consts.dense())),
  'sigmoid cross-entropy': (x) => tf.losses.sigmoidCrossEntropy(tf.fill(SHAPE, 0.3), x),
  'huber loss': (x) => tf.losses.huberLoss(tf.zeros(SHAPE), x, undefined, 0.5),
  'focal loss (mask from a comparison)': (x) => {
    const p = tf.sigmoid(x);
    const positive = tf.greater(x, 0.4); // a mask from the trained tensor itself
    const pt = tf.where(positive, p, tf.sub(1, p));
    return tf.mul(tf.pow(tf.sub(1, pt), 2), tf.neg(tf.log(tf.maximum(pt, 1e-7))));
  },
  'smooth L1 (where + less)': (x) => {
    const a = tf.abs(x);
    return tf.where(tf.less(a, 1), tf.mul(tf.square(a), 0.5), tf.sub(a, 0.5));
  },
  'resize bilinear up / down': (x) =>
    tf.add(tf.mean(tf.image.resizeBilinear(x, [17, 17])), tf.mean(tf.image.resizeBilinear(x, [5, 7], true))),
  'gather rows (embedding-style)': (x) => tf.gather(x.reshape([20, 40]), tf.tensor1d([3, 0, 3, 19], 'int32')),
  'concat + slice + pad + transpose': (x) =>
    tf.transpose(
      tf.pad(tf.concat([tf.slice(x, [0, 0, 0, 0], [2, 4, 10, 4]), x], 1), [
        [0, 0],
        [1, 1],
        [0, 2],
        [0, 0],
      ]),
      [0, 3, 1, 2],
    ),
  'batched matMul (Sinkhorn-like)': (x) => {
    const a = tf.softmax(x.reshape([4, 10, 20]));
    return tf.matMul(a, tf.exp(tf.mul(x.reshape([4, 10, 20]), -0.5)), false, true);
  },
  'clip / minimum / maximum / sqrt': (x) =>
    tf.sqrt(tf.add(tf.maximum(tf.minimum(tf.clipByValue(x, -1, 1.2), 0.9), -0.8), 1)),
  'fused conv2d (bias + relu)': (x) =>
    tf.fused.conv2d({
      x,
      filter: consts.w33(),
      strides: 1,
      pad: 'same',
      bias: tf.fill([4], 0.05),
      activation: 'relu',
    }),
};

/**
 * TF.js's AvgPoolGrad (cpu and stock wasm) divides by k² where the forward 'same' pool divides by
 * the count of non-padded pixels; the wasm kernel supplied here differentiates the real forward.
 * So the cpu reference for 'same' average pools is the same function written without padding
 * inside the pool: a 'valid' pool of the zero-padded input (divisor k² everywhere, which core
 * differentiates correctly) rescaled by k²/count.
 */
function avgPoolSameReference(x: tf.Tensor4D, k: number, s: number): tf.Tensor {
  const info = tf.backend_util.computePool2DInfo(x.shape, k, s, 1, 'same');
  const { top, bottom, left, right } = info.padInfo;
  const pad = (t: tf.Tensor4D) =>
    tf.pad(t, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]);
  const count = tf.mul(tf.avgPool(pad(tf.onesLike(x)), k, s, 'valid'), k * k);
  return tf.mul(tf.avgPool(pad(x), k, s, 'valid'), tf.div(k * k, count));
}

const CPU_REFERENCE: Record<string, (x: tf.Tensor4D) => tf.Tensor> = {
  'avgPool 3 s1 same': (x) => avgPoolSameReference(x, 3, 1),
  'avgPool 5 s1 same': (x) => avgPoolSameReference(x, 5, 1),
  'avgPool 7 s1 same': (x) => avgPoolSameReference(x, 7, 1),
  'avgPool 3 s2 same': (x) => avgPoolSameReference(x, 3, 2),
};

function gradOf(f: (x: tf.Tensor4D) => tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const g = tf.grad((x: tf.Tensor) => {
      const y = f(x as tf.Tensor4D);
      const w = tf.sin(tf.add(tf.mul(tf.range(0, y.size, 1, 'float32'), 0.37), 0.5)).reshape(y.shape);
      return tf.sum(tf.mul(y, w));
    })(input());
    return g.dataSync() as Float32Array;
  });
}

const cpuGrads = new Map<string, Float32Array>();

beforeAll(async () => {
  await initBackend('cpu');
  for (const [name, f] of Object.entries(OPS)) cpuGrads.set(name, gradOf(CPU_REFERENCE[name] ?? f));
  await initBackend('wasm');
});

describe('gradients on wasm equal gradients on cpu', () => {
  it.each(Object.keys(OPS))('%s', (name) => {
    const before = tf.memory().numTensors;
    const got = gradOf(OPS[name]);
    expect(tf.memory().numTensors).toBe(before);
    const want = cpuGrads.get(name)!;
    let err = 0;
    let scale = 1e-6;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    expect(scale).toBeGreaterThan(1e-4); // the gradient is not trivially zero
    expect(err / scale).toBeLessThan(2e-5);
  });
});

describe('the avgPool reference', () => {
  it("computes what tf.avgPool 'same' computes (so only the gradients differ)", async () => {
    await tf.setBackend('cpu');
    tf.tidy(() => {
      const x = input();
      for (const [k, s] of [
        [3, 1],
        [5, 1],
        [7, 1],
        [3, 2],
      ]) {
        const a = tf.avgPool(x, k, s, 'same').dataSync();
        const b = avgPoolSameReference(x, k, s).dataSync();
        expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5);
      }
    });
    await tf.setBackend('wasm');
  });
});

describe('resize nearest neighbour', () => {
  // Not compared with cpu: the cpu backend's ResizeNearestNeighborGrad is wrong for batch > 1 (it
  // gives every image the first image's gradient). The reference is the forward pass itself: with
  // x holding its own flat indices, each output names its source element, so the gradient of
  // Σ y·w is Σ of w over the outputs that name an element.
  it('the wasm gradient routes each output weight to its source pixel (batch 2, 4 channels, 10→20×15)', () => {
    const x = tf.tensor4d(
      Float32Array.from({ length: 800 }, (_, i) => i),
      SHAPE,
    );
    const y = tf.image.resizeNearestNeighbor(x, [20, 15]);
    const w = tf.tensor(
      Float32Array.from({ length: y.size }, (_, i) => (i % 7) + 1),
      y.shape,
    );
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [20, 15]), w)),
    )(x);
    const want = new Float32Array(800);
    const src = y.dataSync();
    const wv = w.dataSync();
    for (let i = 0; i < src.length; i++) want[src[i]] += wv[i];
    expect(Array.from(g.dataSync())).toEqual(Array.from(want));
    expect(want.slice(400).some((v) => v > 0)).toBe(true);
    tf.dispose([x, y, w, g]);
  });
});
