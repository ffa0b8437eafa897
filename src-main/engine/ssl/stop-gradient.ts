/**
 * Stop-gradient for TF.js, which has no `tf.stopGradient`.
 *
 * The engine records ops to the gradient tape only while no kernel is running. A `tf.customGrad`
 * forward function runs *as* a kernel, so everything computed inside it is invisible to the tape:
 * nothing is recorded and nothing is kept alive for a backward pass. We call the custom op with no
 * tensor inputs (the function closes over what it reads), so its tape node is connected to nothing:
 * autodiff sees a constant and does not even propagate zeros back into the inputs.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Runs `fn()` outside the gradient tape; for autodiff the result is a constant.
 * `fn` must return a tensor it creates (not an existing one: wrap that in tf.clone).
 */
export function withoutGradient<T extends tf.Tensor>(fn: () => T): T {
  const op = tf.customGrad(() => ({ value: fn(), gradFunc: () => [] }));
  return op() as T;
}

/** `x` as a constant for autodiff: a new handle on x's data (a reshape; tf.clone would copy on wasm). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return withoutGradient(() => tf.reshape(x, x.shape) as T);
}
