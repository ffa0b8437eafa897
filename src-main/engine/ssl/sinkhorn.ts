/**
 * Batched Sinkhorn–Knopp scaling (Cuturi 2013), the paper's Eq. 7–9.
 *
 * Given the Gibbs kernel K = exp(−λM) [B, n, m] and marginals r [B, n], c [B, m] of equal mass,
 * starting from u = 1 each of the T iterations does, in this order,
 *   v ← r / (K u)        (Eq. 8, rows)
 *   u ← c / (Kᵀ v)       (Eq. 9, columns)
 * and the plan is π = diag(v) K diag(u) (Eq. 7; Algorithm 1 line 3 writes M for K, a typo).
 * After an iteration the column sums of π equal c exactly; the row sums approach r.
 *
 * Why no matMul: n, m ≤ 49, so K·u is a broadcast multiply plus a sum over the last axis, which on
 * wasm beats the batched matMul (a naive loop there). Kᵀ·v is the same form on Kᵀ, transposed once,
 * because a sum over a non-last axis transposes its input on every call.
 *
 * Denominators are floored at SINKHORN_FLOOR: if a whole column of K underflows (λ·ΔM ≳ 87 in
 * float32), Kᵀv = 0 would make u infinite and the plan NaN; with the floor that column simply
 * receives no mass. Build K with `gibbsKernel`, which keeps every row's largest entry at 1.
 */
import * as tf from '@tensorflow/tfjs';

export const SINKHORN_FLOOR = 1e-30;

/**
 * K = exp(−λ(M − min_j M_ij)): the row-wise shift multiplies row i of K by a constant, which v_i
 * absorbs exactly at every iteration (u starts at 1 and only ever sees the products K_ij v_i), so
 * the plan is unchanged while each row keeps an entry equal to 1 instead of underflowing.
 * `rowMin` is treated as a constant; its gradient would be zero in exact arithmetic anyway.
 */
export function gibbsKernel(cost: tf.Tensor3D, lambda: number, rowMin?: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const shift = rowMin ?? tf.min(cost, 2, true);
    return tf.exp(tf.mul(tf.sub(cost, shift), -lambda)) as tf.Tensor3D;
  });
}

function check(K: tf.Tensor3D, r: tf.Tensor2D, c: tf.Tensor2D, iterations: number): void {
  const [b, n, m] = K.shape;
  if (
    K.rank !== 3 ||
    r.rank !== 2 ||
    c.rank !== 2 ||
    r.shape[0] !== b ||
    c.shape[0] !== b ||
    r.shape[1] !== n ||
    c.shape[1] !== m
  )
    throw new Error(
      `sinkhorn.ts: expected K [B,n,m], r [B,n], c [B,m]; got [${K.shape}], [${r.shape}], [${c.shape}]`,
    );
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new Error(`sinkhorn.ts: iterations must be a positive integer, got ${iterations}`);
}

/** The plan π [B, n, m] after `iterations` Sinkhorn iterations. Differentiable in K, r and c. */
export function sinkhorn(K: tf.Tensor3D, r: tf.Tensor2D, c: tf.Tensor2D, iterations: number): tf.Tensor3D {
  check(K, r, c, iterations);
  const [b, n, m] = K.shape;
  return tf.tidy(() => {
    const Kt = tf.transpose(K, [0, 2, 1]);
    let u: tf.Tensor2D = tf.ones([b, m]);
    let v: tf.Tensor2D = tf.ones([b, n]);
    for (let t = 0; t < iterations; t++) {
      const Ku = tf.sum(tf.mul(K, tf.reshape(u, [b, 1, m])), 2);
      v = tf.div(r, tf.maximum(Ku, SINKHORN_FLOOR));
      const Ktv = tf.sum(tf.mul(Kt, tf.reshape(v, [b, 1, n])), 2);
      u = tf.div(c, tf.maximum(Ktv, SINKHORN_FLOOR));
    }
    return tf.mul(tf.mul(K, tf.reshape(v, [b, n, 1])), tf.reshape(u, [b, 1, m])) as tf.Tensor3D;
  });
}
