/**
 * The "supervised-style" reference step: backbone → global pool → linear classifier, softmax
 * cross-entropy on fixed random labels, SGD momentum. One view, no heads, no EMA: the floor under
 * which no self-supervised step can go, and the step the PyTorch reference times.
 */
import * as tf from '@tensorflow/tfjs';
import { createBackbone } from '../src-main/engine/models/registry';
import { createBatchStatsCollector, updateRunningStats } from '../src-main/engine/models/running-stats';
import { decayOnlyMatrices, Sgd } from '../src-main/engine/train/sgd';
import type { BackboneName } from '../shared/config/pretrain';

export interface Stepper {
  /** Called before every round, outside the timing (e.g. to rebuild a model). */
  newRound?(): void;
  step(): Promise<void>;
  dispose(): void;
}

export function supervisedStepper(opts: {
  backbone: BackboneName;
  width: number;
  batch: number;
  size: number;
}): Stepper {
  const backbone = createBackbone(opts.backbone, { baseWidth: opts.width, seed: 0 });
  const feat = backbone.featureInfo.res5.channels;
  const fcW = tf.variable(tf.randomNormal([feat, 10], 0, 0.01, 'float32', 1));
  const fcB = tf.variable(tf.zeros([10]));
  const params = new Map<string, tf.Variable>([...backbone.params, ['fc.weight', fcW], ['fc.bias', fcB]]);
  const sgd = new Sgd(params, { momentum: 0.9, weightDecay: 1e-4, decays: decayOnlyMatrices(params) });
  const keyOf = new Map([...params].map(([k, v]) => [v.name, k]));
  const x = tf.randomNormal([opts.batch, opts.size, opts.size, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: opts.batch }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  return {
    async step() {
      const stats = createBatchStatsCollector();
      const { value, grads } = tf.variableGrads(() => {
        const f = backbone.forward(x, { training: true, onBatchStats: stats.sink }).res5;
        const logits = tf.add(tf.matMul(tf.mean(f, [1, 2]) as tf.Tensor2D, fcW), fcB);
        return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
      }, [...params.values()]);
      await value.data();
      sgd.step(new Map(Object.entries(grads).map(([n, g]) => [keyOf.get(n)!, g])), 0.01);
      updateRunningStats(backbone, stats.records);
      stats.clear();
      tf.dispose([value, ...Object.values(grads)]);
    },
    dispose() {
      tf.dispose([x, labels]);
      sgd.dispose();
      backbone.dispose();
      fcW.dispose();
      fcB.dispose();
    },
  };
}
