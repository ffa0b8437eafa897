/**
 * Detection losses on the gradient tape, as detectron2 defines them. Every mask and target is a
 * constant tensor built in JS before the tape, so nothing here records a comparison op (TF.js has
 * no gradient for those) and nothing gathers rows (no gather gradient on wasm): unused rows are
 * multiplied by 0 instead, which at detector sizes costs less than the gather would.
 */
import * as tf from '@tensorflow/tfjs';
import { decodeDeltasTf, type BoxWeights } from './box-coder';

/**
 * Sigmoid focal loss (Lin et al. 2017), summed: for target t ∈ {0, 1},
 *   FL = −α_t (1 − p_t)^γ log p_t,  α_t = α t + (1 − α)(1 − t),  p_t = p t + (1 − p)(1 − t).
 * Written as t·α(1 − p)^γ·softplus(−x) + (1 − t)(1 − α)p^γ·softplus(x), which is the same for
 * binary targets and stable for large |x|. `weights` (broadcast over the last axis) zeroes ignored rows.
 */
export function sigmoidFocalLoss(
  logits: tf.Tensor,
  targets: tf.Tensor,
  alpha: number,
  gamma: number,
  weights?: tf.Tensor,
): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.sigmoid(logits);
    const pow = (t: tf.Tensor) =>
      gamma === 2 ? tf.square(t) : gamma === 1 ? t : gamma === 0 ? tf.onesLike(t) : tf.pow(t, gamma);
    const a = alpha >= 0 ? alpha : 1;
    const b = alpha >= 0 ? 1 - alpha : 1;
    const posTerm = tf.mul(tf.mul(pow(tf.sub(1, p)), tf.softplus(tf.neg(logits))), a);
    const negTerm = tf.mul(tf.mul(pow(p), tf.softplus(logits)), b);
    let loss = tf.add(tf.mul(targets, posTerm), tf.mul(tf.sub(1, targets), negTerm));
    if (weights) loss = tf.mul(loss, weights);
    return tf.sum(loss) as tf.Scalar;
  });
}

/** Binary cross-entropy with logits, summed, `weights` zeroing unsampled rows. */
export function sigmoidCrossEntropy(logits: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    // max(x, 0) − x·t + log(1 + e^{−|x|}) == softplus(x) − x·t
    const ce = tf.sub(tf.softplus(logits), tf.mul(logits, targets));
    return tf.sum(tf.mul(ce, weights)) as tf.Scalar;
  });
}

/**
 * Smooth L1 (Huber with slope 1), summed over the rows `weights` selects:
 *   |d| < β: 0.5 d² / β, else |d| − 0.5 β;  β = 0 is plain L1.
 * Written as 0.5·m²/β + (|d| − m) with m = min(|d|, β): no comparison on the tape.
 */
export function smoothL1Loss(
  pred: tf.Tensor,
  target: tf.Tensor,
  beta: number,
  weights: tf.Tensor,
): tf.Scalar {
  return tf.tidy(() => {
    const n = tf.abs(tf.sub(pred, target));
    let loss: tf.Tensor;
    if (beta < 1e-5) loss = n;
    else {
      const m = tf.minimum(n, beta);
      loss = tf.add(tf.div(tf.mul(tf.square(m), 0.5), beta), tf.sub(n, m));
    }
    return tf.sum(tf.mul(loss, weights)) as tf.Scalar;
  });
}

/**
 * Generalized IoU loss (Rezatofighi et al. 2019) of xyxy boxes [..., 4], 1 − GIoU per row, summed
 * with `weights` [..., 1]. Rows with weight 0 should still hold valid boxes (no 0/0 on the tape).
 */
export function giouLoss(pred: tf.Tensor, target: tf.Tensor, weights: tf.Tensor, eps = 1e-7): tf.Scalar {
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.split(pred, 4, -1) as tf.Tensor[];
    const [u1, v1, u2, v2] = tf.split(target, 4, -1) as tf.Tensor[];
    const iw = tf.relu(tf.sub(tf.minimum(x2!, u2!), tf.maximum(x1!, u1!)));
    const ih = tf.relu(tf.sub(tf.minimum(y2!, v2!), tf.maximum(y1!, v1!)));
    const inter = tf.mul(iw, ih);
    const areaP = tf.mul(tf.sub(x2!, x1!), tf.sub(y2!, y1!));
    const areaT = tf.mul(tf.sub(u2!, u1!), tf.sub(v2!, v1!));
    const union = tf.sub(tf.add(areaP, areaT), inter);
    const iou = tf.div(inter, tf.add(union, eps));
    const cw = tf.sub(tf.maximum(x2!, u2!), tf.minimum(x1!, u1!));
    const ch = tf.sub(tf.maximum(y2!, v2!), tf.minimum(y1!, v1!));
    const enclosing = tf.add(tf.mul(cw, ch), eps);
    const giou = tf.sub(iou, tf.div(tf.sub(enclosing, union), enclosing));
    return tf.sum(tf.mul(tf.sub(1, giou), weights)) as tf.Scalar;
  });
}

export interface BoxRegressionTargets {
  /** Regression targets as deltas [..., 4] (smooth L1) — zeros where unused. */
  deltas: tf.Tensor;
  /** Matched ground-truth boxes [..., 4] (GIoU) — the reference box itself where unused. */
  boxes: tf.Tensor;
  /** Reference boxes (anchors / proposals) [..., 4]. */
  refs: tf.Tensor;
  /** 1 for rows that regress, else 0: [..., 1]. */
  weights: tf.Tensor;
}

/** detectron2's _dense_box_regression_loss: smooth L1 on deltas or GIoU on decoded boxes, summed. */
export function boxRegressionLoss(
  predDeltas: tf.Tensor,
  targets: BoxRegressionTargets,
  kind: 'smooth-l1' | 'giou',
  beta: number,
  weights: BoxWeights,
): tf.Scalar {
  if (kind === 'smooth-l1') return smoothL1Loss(predDeltas, targets.deltas, beta, targets.weights);
  return tf.tidy(() =>
    giouLoss(decodeDeltasTf(targets.refs, predDeltas, weights), targets.boxes, targets.weights),
  );
}
