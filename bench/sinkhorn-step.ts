/**
 * Sinkhorn EMD alone: B pairs of g×g maps, C channels, T iterations, forward + backward, through
 * the op the training objective uses (dense-emd.ts), or pair-wise emd-loss.ts for comparison.
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_PRETRAIN_CONFIG } from '../shared/config/pretrain';
import { denseEmdLoss } from '../src-main/engine/ssl/dense-emd';
import { emdLoss } from '../src-main/engine/ssl/emd-loss';
import type { Stepper } from './supervised-step';

export function sinkhornStepper(opts: {
  pairs: number;
  grid: number;
  channels: number;
  iterations: number;
  impl: 'dense-emd' | 'emd-loss';
}): Stepper {
  const n = opts.grid * opts.grid;
  const x = tf.variable(
    tf.randomNormal([opts.pairs, n, opts.channels], 0, 1, 'float32', 3),
  ) as tf.Variable<tf.Rank.R3>;
  const y = tf.randomNormal([opts.pairs, n, opts.channels], 0, 1, 'float32', 4) as tf.Tensor3D;
  const vx = tf.randomNormal([opts.pairs, opts.channels], 0, 1, 'float32', 5) as tf.Tensor2D;
  const vy = tf.randomNormal([opts.pairs, opts.channels], 0, 1, 'float32', 6) as tf.Tensor2D;
  const e = { ...DEFAULT_PRETRAIN_CONFIG.emd, iterations: opts.iterations };
  const loss = () =>
    opts.impl === 'dense-emd'
      ? denseEmdLoss(
          [{ online: [x], target: [y], vOnline: vx, vTarget: vy, blocks: [{ a: 0, b: 0, weight: 1 }] }],
          e,
        ).loss
      : emdLoss(x, y, vx, vy, e).loss;
  return {
    async step() {
      const { value, grads } = tf.variableGrads(loss, [x]);
      await Promise.all([value.data(), ...Object.values(grads).map((g) => g.data())]);
      tf.dispose([value, ...Object.values(grads)]);
    },
    dispose() {
      tf.dispose([x, y, vx, vy]);
    },
  };
}
