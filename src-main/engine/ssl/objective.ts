/**
 * The pretraining objective: BYOL's global loss, plus (Self-EMD) the EMD loss between dense maps,
 * over Spatial Pyramid Crops and with the small scale view when enabled.
 *
 * Pairings (the paper leaves them open; see docs/method.md):
 * - global: (p1, z2) and (p2, z1); with the scale view also (p_s, z1) and (p_s, z2).
 * - dense:  online map of view a against the target map of view b for the same two pairs; with SPC
 *   each is compared over pyramid levels (`cross`: every online level with every target level);
 *   the small view's online map (too small to pool further) against each target level of both views.
 * Each family is averaged over its pairs: total = w_g · mean(global) + w_e · mean(emd), so adding
 * pyramid levels or the scale view does not change the loss scale or the effective learning rate.
 */
import * as tf from '@tensorflow/tfjs';
import type { PretrainConfig } from '../../../shared/config/pretrain';
import type { BatchStatsSink } from '../models/types';
import { byolLoss } from './byol-loss';
import { emdLoss } from './emd-loss';
import { encode, type Encoder, type EncoderOutput } from './networks';
import { pyramidPairs, spatialPyramid } from './spatial-pyramid';

export interface Views {
  v1: tf.Tensor4D;
  v2: tf.Tensor4D;
  /** The 112-px-style scale view (only when config.emd.scaleView and method = self-emd). */
  small?: tf.Tensor4D;
}

export interface TargetOutputs {
  z1: tf.Tensor2D;
  z2: tf.Tensor2D;
  zMap1?: tf.Tensor4D;
  zMap2?: tf.Tensor4D;
}

export interface LossTerms {
  total: tf.Scalar;
  global: tf.Scalar;
  emd?: tf.Scalar;
  /** Mean over dims of the batch std of ℓ2-normalised online projections: → 0 means collapse (BYOL's monitor). */
  collapseStd: tf.Scalar;
}

/** Both large views go through each encoder as one batch (one conv call per layer, not two). */
function encodePair(enc: Encoder, v1: tf.Tensor4D, v2: tf.Tensor4D, sink?: BatchStatsSink) {
  const b = v1.shape[0];
  const out = encode(enc, tf.concat([v1, v2], 0), sink);
  const split2 = <T extends tf.Tensor>(t: T): [T, T] => tf.split(t, [b, b], 0) as [T, T];
  const [g1, g2] = split2(out.global);
  const [pr1] = split2(out.projection);
  const dense = out.dense ? split2(out.dense) : undefined;
  return { g1, g2, pr1, dense };
}

/** Target forward, outside any gradient tape: stop-gradient by construction. */
export function targetForward(target: Encoder, views: Views): TargetOutputs {
  return tf.tidy(() => {
    const { g1, g2, dense } = encodePair(target, views.v1, views.v2);
    return { z1: g1, z2: g2, zMap1: dense?.[0], zMap2: dense?.[1] };
  });
}

const flatten = (m: tf.Tensor4D): tf.Tensor3D => tf.reshape(m, [m.shape[0], m.shape[1] * m.shape[2], m.shape[3]]);

function collapseStd(projection: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = tf.div(projection, tf.add(tf.norm(projection, 'euclidean', 1, true), 1e-12));
    const { variance } = tf.moments(n, 0);
    return tf.mean(tf.sqrt(variance)) as tf.Scalar;
  });
}

/** Online forward and the losses. Call inside tf.variableGrads; `target` comes from targetForward. */
export function pretrainLoss(
  config: PretrainConfig,
  online: Encoder,
  views: Views,
  target: TargetOutputs,
  sink?: BatchStatsSink,
): LossTerms {
  const on = encodePair(online, views.v1, views.v2, sink);
  const small: EncoderOutput | undefined = views.small ? encode(online, views.small, sink) : undefined;

  const globalTerms = [byolLoss(on.g1, target.z2), byolLoss(on.g2, target.z1)];
  if (small) globalTerms.push(byolLoss(small.global, target.z1), byolLoss(small.global, target.z2));
  const global = tf.mean(tf.stack(globalTerms)) as tf.Scalar;

  let emd: tf.Scalar | undefined;
  if (config.method === 'self-emd') {
    if (!on.dense || !target.zMap1 || !target.zMap2) throw new Error('self-emd needs dense heads on both encoders');
    const e = config.emd;
    const opts = {
      lambda: e.lambda,
      iterations: e.iterations,
      marginals: e.marginals,
      marginalEpsilon: e.marginalEpsilon,
      detachPlan: e.detachPlan,
      detachMarginals: e.detachMarginals,
    };
    // Both directions share shapes, so they go through Sinkhorn as one batch.
    const onMap = tf.concat([on.dense[0], on.dense[1]], 0) as tf.Tensor4D;
    const tgMap = tf.concat([target.zMap2, target.zMap1], 0) as tf.Tensor4D;
    const vOn = tf.concat([on.g1, on.g2], 0) as tf.Tensor2D;
    const vTg = tf.concat([target.z2, target.z1], 0) as tf.Tensor2D;
    const levels = (m: tf.Tensor4D) => (e.spc ? spatialPyramid(m, e.spcGrids) : [m]);
    const tgLevels = levels(tgMap);
    const pairs: [tf.Tensor4D, tf.Tensor4D, tf.Tensor2D, tf.Tensor2D][] = pyramidPairs(
      levels(onMap),
      tgLevels,
      e.spcPairing,
    ).map(([a, b]: [tf.Tensor4D, tf.Tensor4D]) => [a, b, vOn, vTg]);
    if (small?.dense) {
      const b = views.v1.shape[0];
      const sMap = tf.concat([small.dense, small.dense], 0) as tf.Tensor4D;
      const sV = tf.concat([small.global, small.global], 0) as tf.Tensor2D;
      // Against view 1 then view 2: reorder the target batch (it holds [view 2; view 1]).
      const tgByView = tgLevels.map((l: tf.Tensor4D) => {
        const [a2, a1] = tf.split(l, [b, b], 0);
        return tf.concat([a1, a2], 0) as tf.Tensor4D;
      });
      const vTgByView = tf.concat([target.z1, target.z2], 0) as tf.Tensor2D;
      for (const l of tgByView) pairs.push([sMap, l, sV, vTgByView]);
    }
    const terms = pairs.map(([a, b, va, vb]) => emdLoss(flatten(a), flatten(b), va, vb, opts).loss);
    emd = tf.mean(tf.stack(terms)) as tf.Scalar;
  }

  const total = (
    emd ? tf.add(tf.mul(global, config.emd.globalWeight), tf.mul(emd, config.emd.emdWeight)) : global
  ) as tf.Scalar;
  return { total, global, emd, collapseStd: collapseStd(on.pr1) };
}
