/**
 * The pretraining objective. MoCo v2: InfoNCE of the online (query) projections against the key
 * encoder's projections of the other view and the queue of negatives, symmetrised like BYOL's
 * pairs below (q1 with k2 and q2 with k1; docs/method.md). SimCLR: NT-Xent over [z1; z2], no target.
 * BYOL / Self-EMD: BYOL's global loss, plus (Self-EMD) the EMD loss between dense maps,
 * over Spatial Pyramid Crops and with the small scale view when enabled.
 *
 * Pairings (the paper leaves them open; see docs/method.md):
 * - global: (p1, z2) and (p2, z1); with the scale view also (p_s, z1) and (p_s, z2).
 * - dense:  online map of view a against the target map of view b for the same two pairs; with SPC
 *   each is compared over pyramid levels (`cross`: every online level with every target level);
 *   the small view's online map (too small to pool further) against each target level of both views.
 * Each family is averaged over its pairs: total = w_g · mean(global) + w_e · mean(emd), so adding
 * pyramid levels or the scale view does not change the loss scale or the effective learning rate.
 *
 * How it is computed (the numbers are those of the per-pair form above; tested against it):
 * - Both large views go through each encoder as one batch [v1; v2]; the global terms of a family
 *   are one BYOL loss over the stacked batch (the mean of equal-size batch means is the mean).
 * - Everything of the target side that the loss reads (the swapped global vectors, the pyramid
 *   levels, flattened) is made in targetForward, outside the gradient tape.
 * - The dense terms are one op (dense-emd.ts): one cosine product per group, one Sinkhorn pass over
 *   all pairs, a closed-form backward. Pyramid levels that are the same tensor (a grid as large as
 *   the map: at 96 px every level of the 3×3 map is the map) are compared once and weighted by
 *   their multiplicity, which leaves the mean over pairs unchanged.
 * - With `emd.detachPlan` or `emd.detachMarginals` off (ablations that differentiate through the
 *   plan or the weights), the dense terms fall back to emd-loss.ts, pair by pair.
 */
import * as tf from '@tensorflow/tfjs';
import { spcDistinctGrids, type PretrainConfig } from '../../../shared/config/pretrain';
import type { BatchStatsSink } from '../models/types';
import { byolLoss } from './byol-loss';
import { infoNceLoss, ntXentLoss } from './contrastive-loss';
import { denseEmdLoss, type DenseEmdBlock, type DenseEmdGroup } from './dense-emd';
import { emdLoss } from './emd-loss';
import { encode, type Encoder } from './networks';
import { spatialPyramid } from './spatial-pyramid';
import { withoutGradient } from './stop-gradient';

export interface Views {
  v1: tf.Tensor4D;
  v2: tf.Tensor4D;
  /** The 112-px-style scale view (only when config.emd.scaleView and method = self-emd). */
  small?: tf.Tensor4D;
}

/** The target side of a step, computed outside the gradient tape (constants for the loss). */
export interface TargetOutputs {
  /** [z1; z2]: target projections of view 1 then view 2. [2B, D] */
  z: tf.Tensor2D;
  /** [z2; z1]: the order the online [p1; p2] is compared with. [2B, D] */
  zSwapped: tf.Tensor2D;
  /** Distinct pyramid levels of the target dense maps, flattened [2B, m_l, D], batch order [view 1; view 2]. */
  levels?: tf.Tensor3D[];
  /** The same levels in batch order [view 2; view 1]. */
  levelsSwapped?: tf.Tensor3D[];
}

export interface LossTerms {
  total: tf.Scalar;
  global: tf.Scalar;
  emd?: tf.Scalar;
  /** Mean over dims of the batch std of ℓ2-normalised online projections: → 0 means collapse (BYOL's monitor). */
  collapseStd: tf.Scalar;
}

const flatten = (m: tf.Tensor4D): tf.Tensor3D =>
  tf.reshape(m, [m.shape[0], m.shape[1] * m.shape[2], m.shape[3]]);

/** [a; b] → [b; a] along the batch axis. */
function swapHalves<T extends tf.Tensor>(t: T): T {
  const half = t.shape[0] / 2;
  const [a, b] = tf.split(t, [half, half], 0);
  return tf.concat([b, a], 0) as T;
}

/** The pyramid grids of a map that give distinct levels (`grids[k]` is level `of[k]` of `distinct`). */
export const distinctLevels = spcDistinctGrids;

const spcGrids = (config: PretrainConfig) => (config.emd.spc ? config.emd.spcGrids : undefined);

function levelsOf(map: tf.Tensor4D, grids: number[] | undefined): tf.Tensor3D[] {
  if (!grids) return [flatten(map)];
  return spatialPyramid(map, grids).map(flatten);
}

/** Target forward, outside any gradient tape: stop-gradient by construction. */
export function targetForward(target: Encoder, views: Views, config: PretrainConfig): TargetOutputs {
  return tf.tidy((): tf.TensorContainerObject => {
    const out = encode(target, tf.concat([views.v1, views.v2], 0));
    const result: TargetOutputs = { z: out.global, zSwapped: swapHalves(out.global) };
    if (out.dense) {
      const [, h, w] = out.dense.shape;
      const levels = levelsOf(out.dense, spcGrids(config) && distinctLevels(h, w, spcGrids(config)).distinct);
      result.levels = levels;
      result.levelsSwapped = levels.map(swapHalves);
    }
    return result as unknown as tf.TensorContainerObject;
  }) as unknown as TargetOutputs;
}

function collapseStd(projection: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = tf.div(projection, tf.add(tf.norm(projection, 'euclidean', 1, true), 1e-12));
    const { variance } = tf.moments(n, 0);
    return tf.mean(tf.sqrt(variance)) as tf.Scalar;
  });
}

/** Blocks (online level, target level, multiplicity) of the pyramid pairing, over distinct levels. */
function pyramidBlocks(config: PretrainConfig, onOf: number[], tgOf: number[]): DenseEmdBlock[] {
  const weights = new Map<string, DenseEmdBlock>();
  const add = (a: number, b: number) => {
    const key = `${a},${b}`;
    const k = weights.get(key);
    if (k) k.weight += 1;
    else weights.set(key, { a, b, weight: 1 });
  };
  if (config.emd.spc && config.emd.spcPairing === 'same') {
    if (onOf.length !== tgOf.length) throw new Error("objective.ts: 'same' pairing needs equal level counts");
    onOf.forEach((a, k) => add(a, tgOf[k]));
  } else if (config.emd.spc && config.emd.spcPairing !== 'cross')
    throw new Error(
      `objective.ts: emd.spcPairing must be 'cross' or 'same', got ${String(config.emd.spcPairing)}`,
    );
  else for (const a of onOf) for (const b of tgOf) add(a, b);
  return [...weights.values()];
}

export interface PretrainLossOptions {
  /** Compute the dense terms pair by pair with emd-loss.ts (the reference form; tests). */
  perPair?: boolean;
  /** MoCo v2's queue of negatives [K, D] (moco-v2 only). */
  negatives?: tf.Tensor2D;
}

/** The global (instance) term of each method; `on` is the online output over [v1; v2]. */
function globalTerm(
  config: PretrainConfig,
  on: tf.Tensor2D,
  target: TargetOutputs | undefined,
  options: PretrainLossOptions,
): tf.Scalar {
  if (config.method === 'simclr') return ntXentLoss(on, config.simclr.temperature);
  if (!target) throw new Error(`objective.ts: ${config.method} needs the target's outputs`);
  if (config.method === 'moco-v2') {
    if (!options.negatives) throw new Error('objective.ts: moco-v2 needs its queue of negatives');
    return infoNceLoss(on, target.zSwapped, options.negatives, config.moco.temperature);
  }
  return byolLoss(on, target.zSwapped);
}

/** Online forward and the losses. Call inside tf.variableGrads; `target` comes from targetForward. */
export function pretrainLoss(
  config: PretrainConfig,
  online: Encoder,
  views: Views,
  target: TargetOutputs | undefined,
  sink?: BatchStatsSink,
  options: PretrainLossOptions = {},
): LossTerms {
  const on = encode(online, tf.concat([views.v1, views.v2], 0), sink);
  const small = views.small ? encode(online, views.small, sink) : undefined;
  const smallGlobal2 = small ? (tf.concat([small.global, small.global], 0) as tf.Tensor2D) : undefined;

  // mean of (p1,z2), (p2,z1) [, (ps,z1), (ps,z2)]: each family is one loss over the stacked batch.
  const largeTerm = globalTerm(config, on.global, target, options);
  const global = (
    smallGlobal2 && target ? tf.div(tf.add(largeTerm, byolLoss(smallGlobal2, target.z)), 2) : largeTerm
  ) as tf.Scalar;

  let emd: tf.Scalar | undefined;
  if (config.method === 'self-emd') {
    if (!on.dense || !target?.levels || !target.levelsSwapped)
      throw new Error('self-emd needs dense heads on both encoders');
    const e = config.emd;
    const [, h, w] = on.dense.shape;
    const grids = spcGrids(config);
    // Both large views have one size, so the target's levels are those of the online map.
    const pyr = distinctLevels(h, w, grids);
    const onLevels = levelsOf(on.dense, grids && pyr.distinct);
    const groups: DenseEmdGroup[] = [
      {
        online: onLevels,
        target: target.levelsSwapped,
        vOnline: on.global,
        vTarget: target.zSwapped,
        blocks: pyramidBlocks(config, pyr.of, pyr.of),
      },
    ];
    if (small?.dense && smallGlobal2) {
      // Against each target level of view 1 then view 2 (levels are in batch order [view 1; view 2]).
      const blocks = new Map<number, number>();
      for (const b of pyr.of) blocks.set(b, (blocks.get(b) ?? 0) + 1);
      groups.push({
        online: [flatten(tf.concat([small.dense, small.dense], 0) as tf.Tensor4D)],
        target: target.levels,
        vOnline: smallGlobal2,
        vTarget: target.z,
        blocks: [...blocks].map(([b, weight]) => ({ a: 0, b, weight })),
      });
    }
    const opts = {
      lambda: e.lambda,
      iterations: e.iterations,
      marginals: e.marginals,
      marginalEpsilon: e.marginalEpsilon,
    };
    emd =
      options.perPair || !e.detachPlan || !e.detachMarginals
        ? perPairEmd(groups, { ...opts, detachPlan: e.detachPlan, detachMarginals: e.detachMarginals })
        : denseEmdLoss(groups, opts).loss;
  }

  const total = (
    emd ? tf.add(tf.mul(global, config.emd.globalWeight), tf.mul(emd, config.emd.emdWeight)) : global
  ) as tf.Scalar;
  const b = views.v1.shape[0];
  const pr1 = on.projection;
  return {
    total,
    global,
    emd,
    collapseStd: withoutGradient(() => collapseStd(tf.slice(pr1, [0, 0], [b, -1]) as tf.Tensor2D)),
  };
}

/** The dense terms pair by pair through emd-loss.ts, each pair repeated by its multiplicity. */
function perPairEmd(groups: DenseEmdGroup[], opts: Parameters<typeof emdLoss>[4]): tf.Scalar {
  const terms: tf.Scalar[] = [];
  for (const g of groups)
    for (const k of g.blocks) {
      const term = emdLoss(g.online[k.a], g.target[k.b], g.vOnline, g.vTarget, opts).loss;
      for (let i = 0; i < k.weight; i++) terms.push(term);
    }
  return tf.mean(tf.stack(terms)) as tf.Scalar;
}
