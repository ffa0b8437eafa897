/**
 * Marginal weights r (over the nodes of X) and c (over the nodes of Y) for the EMD of two maps.
 *
 *  'global-vector' (Eq. 13, default):  r_i = max(x̂_i · v̂_y, 0),        c_j = max(ŷ_j · v̂_x, 0)
 *  'mean-feature'  (Eq. 12, ablation): r_i = max(x̂_i · normalize(mean_j y_j), 0),
 *                                       c_j = max(ŷ_j · normalize(mean_i x_i), 0)
 * where x̂ = x/‖x‖. Then r ← (r + ε)/Σ(r + ε), likewise c.
 *
 * Why unit vectors: the marginals are relative importances, and with raw dot products a node's weight
 * would grow with its feature norm (and the ε floor's effect would depend on the overall feature
 * scale). With cosines every weight lies in [0, 1] before the floor, whatever the scale.
 * Why ε: a node with no positive similarity would get zero mass; if every node of a map did, r = 0
 * and the plan is 0/0. ε (config `emd.marginalEpsilon`) keeps every node in the problem.
 * Why equal mass (both sum to 1): Sinkhorn solves the balanced problem π1 = r, πᵀ1 = c, which has
 * a solution only when Σr = Σc; with unequal masses the iterations oscillate and the plan satisfies
 * neither. Unit mass also makes S = ⟨π, 1 − M⟩ a weighted mean of cosines in [−1, 1], so the EMD loss
 * 2 − 2S lives on the same [0, 4] scale as the BYOL loss (Eq. 2, 11).
 * With detach (config `emd.detachMarginals`, default true) r and c are weights, not targets: no
 * gradient flows through them, computed outside the gradient tape.
 */
import * as tf from '@tensorflow/tfjs';
import type { MarginalKind } from '../../../shared/config/pretrain';
import { inverseNorm } from './l2-normalize';
import { withoutGradient } from './stop-gradient';

export interface MarginalOptions {
  marginals: MarginalKind;
  marginalEpsilon: number;
  detachMarginals: boolean;
}

/**
 * (max(x̂_i · ŵ, 0) + ε) normalised to sum 1, for x [B, n, C] and a reference vector w [B, C].
 * x̂_i · ŵ = (x_i · w) / (‖x_i‖ ‖w‖): no normalised copy of the map is made.
 */
function weights(x: tf.Tensor3D, w: tf.Tensor2D, epsilon: number): tf.Tensor2D {
  const [b, , c] = x.shape;
  const dots = tf.sum(tf.mul(x, tf.reshape(w, [b, 1, c])), 2);
  const sim = tf.mul(tf.mul(dots, inverseNorm(x)), tf.reshape(inverseNorm(w), [b, 1])) as tf.Tensor2D;
  return normaliseWeights(sim, epsilon);
}

/** (max(s_i, 0) + ε) / Σ_k (max(s_k, 0) + ε) over the last axis of similarities s [B, n]. */
export function normaliseWeights(sim: tf.Tensor2D, epsilon: number): tf.Tensor2D {
  return tf.tidy(() => {
    const floored = tf.add(tf.relu(sim), epsilon);
    return tf.div(floored, tf.sum(floored, 1, true)) as tf.Tensor2D;
  });
}

/**
 * x [B, n, C], y [B, m, C] (flattened maps), vx, vy [B, C] (the views' global vectors) →
 * r [B, n], c [B, m], each row summing to 1. vx, vy are only read by 'global-vector'.
 */
export function emdMarginals(
  x: tf.Tensor3D,
  y: tf.Tensor3D,
  vx: tf.Tensor2D,
  vy: tf.Tensor2D,
  opts: MarginalOptions,
): { r: tf.Tensor2D; c: tf.Tensor2D } {
  const [b, , ch] = x.shape;
  if (x.rank !== 3 || y.rank !== 3 || y.shape[0] !== b || y.shape[2] !== ch)
    throw new Error(`marginals.ts: expected x [B,n,C], y [B,m,C]; got [${x.shape}], [${y.shape}]`);
  if (
    opts.marginals === 'global-vector' &&
    (vx.shape[0] !== b || vy.shape[0] !== b || vx.shape[1] !== ch || vy.shape[1] !== ch)
  )
    throw new Error(
      `marginals.ts: global vectors must be [${b},${ch}] like the maps' channels; got [${vx.shape}], [${vy.shape}]`,
    );
  if (!(opts.marginalEpsilon > 0))
    throw new Error(`marginals.ts: emd.marginalEpsilon must be > 0, got ${opts.marginalEpsilon}`);
  // Each marginal reads its own map and the other view's reference: vy (Eq. 13) or the other map (Eq. 12).
  const global = opts.marginals === 'global-vector';
  const one = (nodes: tf.Tensor3D, other: tf.Tensor): tf.Tensor2D =>
    tf.tidy(() =>
      weights(
        nodes,
        global ? (other as tf.Tensor2D) : (tf.mean(other, 1) as tf.Tensor2D),
        opts.marginalEpsilon,
      ),
    );
  const rOf = () => one(x, global ? vy : y);
  const cOf = () => one(y, global ? vx : x);
  if (!opts.detachMarginals) return { r: rOf(), c: cOf() };
  return { r: withoutGradient(rOf), c: withoutGradient(cOf) };
}
