/**
 * BYOL's regression loss (paper Eq. 2): ‖p̂ − ẑ‖² = 2 − 2·cos(p, z), averaged over the batch, with a
 * stop-gradient on the target z (it comes from the EMA encoder and must not be pulled toward p).
 */
import * as tf from '@tensorflow/tfjs';
import { l2Normalize } from './l2-normalize';
import { stopGradient } from './stop-gradient';

/** p [B, D] (online prediction), z [B, D] (target projection) → scalar mean(2 − 2 cos(p, z)). */
export function byolLoss(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  if (p.rank !== 2 || z.rank !== 2 || p.shape[0] !== z.shape[0] || p.shape[1] !== z.shape[1])
    throw new Error(
      `byol-loss.ts: expected p and z of the same shape [B,D], got [${p.shape}] and [${z.shape}]`,
    );
  return tf.tidy(() => {
    const cos = tf.sum(tf.mul(l2Normalize(p), l2Normalize(stopGradient(z))), 1);
    return tf.mean(tf.sub(2, tf.mul(2, cos))) as tf.Scalar;
  });
}
