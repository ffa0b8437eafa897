/** L2 normalisation along the last axis, with torch's F.normalize floor (‖x‖ ≥ 1e-12) so 0 maps to 0, not NaN. */
import * as tf from '@tensorflow/tfjs';

export const NORM_EPSILON = 1e-12;

/** x / max(‖x‖, 1e-12) along the last axis. */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, inverseNorm(x, true)) as T);
}

/** 1 / max(‖x‖, 1e-12) along the last axis. */
export function inverseNorm<T extends tf.Tensor>(x: T, keepDims = false): tf.Tensor {
  return tf.tidy(() => tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, keepDims), NORM_EPSILON * NORM_EPSILON)));
}
