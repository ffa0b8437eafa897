/**
 * The tiny conv net shared by the training test and the step benchmark:
 * conv 3×3 s2 (3→16) + BN + relu + maxPool 3×3 s2 same + conv 3×3 (16→16) + relu + global avgPool
 * + dense (16→3), softmax cross-entropy on 8 fixed 24×24 images with fixed labels.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain } from '../../../src-main/engine/nn/batch-norm';

export interface TinyNet {
  /** One optimizer step; returns the loss before the update. */
  trainStep(opt: tf.Optimizer): number;
  dispose(): void;
}

let instances = 0;

export function createTinyNet(seed: number, batch = 8, size = 24): TinyNet {
  const id = instances++;
  // Variable names are global in TF.js: make them unique per net.
  const v = (name: string, t: tf.Tensor) => {
    const variable = tf.variable(t, true, `tiny${id}_${name}`);
    t.dispose(); // the variable holds its own reference to the data
    return variable;
  };
  const params = {
    w1: v('w1', tf.randomNormal([3, 3, 3, 16], 0, Math.sqrt(2 / 27), 'float32', seed)),
    g1: v('g1', tf.ones([16])),
    b1: v('b1', tf.zeros([16])),
    w2: v('w2', tf.randomNormal([3, 3, 16, 16], 0, Math.sqrt(2 / 144), 'float32', seed + 1)),
    wd: v('wd', tf.randomNormal([16, 3], 0, 0.3, 'float32', seed + 2)),
    bd: v('bd', tf.zeros([3])),
  };
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', seed + 3);
  const labels = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i % 3),
        'int32',
      ),
      3,
    ),
  );

  const loss = (): tf.Scalar => {
    let h: tf.Tensor4D = tf.conv2d(x as tf.Tensor4D, params.w1 as tf.Tensor4D, 2, 'same');
    h = tf.relu(batchNormTrain(h, params.g1 as tf.Tensor1D, params.b1 as tf.Tensor1D).y);
    h = tf.maxPool(h, 3, 2, 'same');
    h = tf.relu(tf.conv2d(h, params.w2 as tf.Tensor4D, 1, 'same'));
    const pooled = tf.avgPool(h, [h.shape[1], h.shape[2]], 1, 'valid').reshape([batch, 16]);
    const logits = tf.add(tf.matMul(pooled, params.wd as tf.Tensor2D), params.bd);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  };

  return {
    trainStep(opt) {
      const l = opt.minimize(loss, true) as tf.Scalar;
      const value = l.dataSync()[0];
      l.dispose();
      return value;
    },
    dispose() {
      tf.dispose([x, labels, ...Object.values(params)]);
    },
  };
}
