/**
 * The contrastive baselines' losses (paper Table 5): MoCo v2's InfoNCE against a queue of negatives,
 * and SimCLR's NT-Xent over the batch. Both compare ℓ2-normalised vectors (l2-normalize.ts) with a
 * temperature and are a cross-entropy whose "class" is the positive, written as
 * mean(logsumexp(logits) − positive logit), which is the same number without building one-hot labels.
 */
import * as tf from '@tensorflow/tfjs';
import { l2Normalize } from './l2-normalize';
import { stopGradient } from './stop-gradient';

/** A logit far below any cosine / temperature (|cos/τ| ≤ 1/τ): exp of it is 0, never NaN. */
const EXCLUDED_LOGIT = -1e9;

function check(name: string, cond: boolean, shapes: string): void {
  if (!cond) throw new Error(`contrastive-loss.ts: ${name}: ${shapes}`);
}

/**
 * MoCo's InfoNCE: for each query q_i its positive is key k_i and its negatives are the queue rows.
 * logits_i = [q̂_i·k̂_i, q̂_i·n̂_1, …, q̂_i·n̂_K] / τ; loss = mean_i(logsumexp(logits_i) − logits_i0).
 * Keys and queue come from the momentum encoder: no gradient flows into them.
 * q [B, D], k [B, D], queue [K, D] (its rows are normalised here too; the queue stores normalised keys).
 */
export function infoNceLoss(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  queue: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  check(
    'infoNceLoss expects q [B,D], k [B,D], queue [K,D]',
    q.rank === 2 &&
      k.rank === 2 &&
      queue.rank === 2 &&
      q.shape[0] === k.shape[0] &&
      q.shape[1] === k.shape[1] &&
      q.shape[1] === queue.shape[1],
    `got [${q.shape}], [${k.shape}], [${queue.shape}]`,
  );
  check('temperature must be > 0', temperature > 0, `got ${temperature}`);
  return tf.tidy(() => {
    const qn = l2Normalize(q);
    const kn = l2Normalize(stopGradient(k));
    const nn = l2Normalize(stopGradient(queue));
    const pos = tf.sum(tf.mul(qn, kn), 1, true); // [B, 1]
    const neg = tf.matMul(qn, nn, false, true); // [B, K]
    const logits = tf.div(tf.concat([pos, neg], 1), temperature);
    const positive = tf.div(tf.squeeze(pos, [1]), temperature);
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), positive)) as tf.Scalar;
  });
}

/**
 * SimCLR's NT-Xent over 2N views z = [z_1; …; z_N; z'_1; …; z'_N]: row i's positive is its other
 * view (i ± N), its negatives the other 2N − 2 rows; itself is excluded.
 * sim = ẑẑᵀ / τ; loss = mean over the 2N rows of (logsumexp_{j≠i} sim_ij − sim_i,pos(i)).
 * Gradients flow through both views (no target network).
 */
export function ntXentLoss(z: tf.Tensor2D, temperature: number): tf.Scalar {
  check(
    'ntXentLoss expects z [2N,D] with N ≥ 1 (views 1 then views 2)',
    z.rank === 2 && z.shape[0] >= 2 && z.shape[0] % 2 === 0,
    `got [${z.shape}]`,
  );
  check('temperature must be > 0', temperature > 0, `got ${temperature}`);
  const rows = z.shape[0];
  const half = rows / 2;
  return tf.tidy(() => {
    const zn = l2Normalize(z);
    const sim = tf.div(tf.matMul(zn, zn, false, true), temperature); // [2N, 2N]
    const logits = tf.add(sim, tf.mul(tf.eye(rows), EXCLUDED_LOGIT));
    // The positive of row i is row i+N (first half) or i−N (second half): [z2; z1]·z row by row.
    const [a, b] = tf.split(zn, [half, half], 0);
    const partner = tf.concat([b, a], 0);
    const positive = tf.div(tf.sum(tf.mul(zn, partner), 1), temperature);
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), positive)) as tf.Scalar;
  });
}
