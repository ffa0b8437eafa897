/**
 * The EMD loss between two feature maps (paper §3.2, Algorithm 1), batched over B pairs:
 *   M_ij = 1 − cos(x_i, y_j)                              (Eq. 4)
 *   r, c  from marginals.ts                               (Eq. 12 / 13, unit mass)
 *   π     = Sinkhorn(exp(−λM), r, c, T)                   (Eq. 7–9)
 *   S     = ⟨π, 1 − M⟩ = Σ_ij π_ij cos(x_i, y_j)          (Eq. 10)
 *   loss  = mean_B (2 − 2S)                                (Eq. 11)
 * X and Y may have different node counts (n ≠ m), e.g. a 7×7 map against the small scale view's.
 *
 * With `detachPlan` (default) the plan is computed outside the gradient tape (stop-gradient.ts):
 * nothing of the T iterations is recorded and gradients reach the features through M only, i.e.
 * ∂S/∂cos = π. Without it, autodiff runs back through every iteration (and through r, c unless
 * `detachMarginals`).
 */
import * as tf from '@tensorflow/tfjs';
import type { PretrainConfig } from '../../../shared/config/pretrain';
import { emdMarginals } from './marginals';
import { cosineMatrix, type CosineStrategy } from './cosine-matrix';
import { gibbsKernel, sinkhorn } from './sinkhorn';
import { withoutGradient } from './stop-gradient';

export type EmdLossOptions = Pick<
  PretrainConfig['emd'],
  'lambda' | 'iterations' | 'marginals' | 'marginalEpsilon' | 'detachPlan' | 'detachMarginals'
> & {
  /** Also return the plan π [B, n, m] (a constant when detachPlan). */
  returnPlan?: boolean;
  /** How the per-pair products are computed; `auto` picks per backend (cosine-matrix.ts). */
  strategy?: CosineStrategy;
};

export interface EmdLossResult {
  /** mean over the batch of 2 − 2S. */
  loss: tf.Scalar;
  /** S per pair, in [−1, 1]. */
  similarity: tf.Tensor1D;
  plan?: tf.Tensor3D;
}

function checkInputs(x: tf.Tensor, y: tf.Tensor, vx: tf.Tensor, vy: tf.Tensor, opts: EmdLossOptions): void {
  if (x.rank !== 3 || y.rank !== 3 || vx.rank !== 2 || vy.rank !== 2)
    throw new Error(
      `emd-loss.ts: expected x [B,n,C], y [B,m,C], vx [B,C], vy [B,C]; got ranks ${x.rank}, ${y.rank}, ${vx.rank}, ${vy.rank}`,
    );
  const [b, , c] = x.shape;
  if (y.shape[0] !== b || y.shape[2] !== c)
    throw new Error(`emd-loss.ts: x [${x.shape}] and y [${y.shape}] must share batch and channels`);
  if (!(opts.lambda > 0)) throw new Error(`emd-loss.ts: emd.lambda must be > 0, got ${opts.lambda}`);
  if (!Number.isInteger(opts.iterations) || opts.iterations < 1)
    throw new Error(`emd-loss.ts: emd.iterations must be a positive integer, got ${opts.iterations}`);
}

/** The plan for cosines `cos`; `detach` computes it outside the tape. */
function planFor(
  cos: tf.Tensor3D,
  r: tf.Tensor2D,
  c: tf.Tensor2D,
  opts: EmdLossOptions,
  detach: boolean,
): tf.Tensor3D {
  const build = (cs: tf.Tensor3D, rr: tf.Tensor2D, cc: tf.Tensor2D, rowMin?: tf.Tensor3D) =>
    tf.tidy(() => {
      const cost = tf.sub(1, cs) as tf.Tensor3D;
      return sinkhorn(gibbsKernel(cost, opts.lambda, rowMin), rr, cc, opts.iterations);
    });
  if (detach) return withoutGradient(() => build(cos, r, c));
  // The kernel's row shift is a constant for autodiff (the plan does not depend on it).
  const rowMin = withoutGradient(() => tf.min(tf.sub(1, cos), 2, true) as tf.Tensor3D);
  return build(cos, r, c, rowMin);
}

/**
 * x [B, n, C], y [B, m, C]: the two flattened maps (pair b is x[b] against y[b]);
 * vx, vy [B, C]: the views' global vectors (read by the 'global-vector' marginals).
 */
export function emdLoss(
  x: tf.Tensor3D,
  y: tf.Tensor3D,
  vx: tf.Tensor2D,
  vy: tf.Tensor2D,
  opts: EmdLossOptions,
): EmdLossResult {
  checkInputs(x, y, vx, vy, opts);
  return tf.tidy(() => {
    const cos = cosineMatrix(x, y, opts.strategy);
    const { r, c } = emdMarginals(x, y, vx, vy, opts);
    const plan = planFor(cos, r, c, opts, opts.detachPlan);
    const similarity = tf.sum(tf.mul(plan, cos), [1, 2]) as tf.Tensor1D;
    const loss = tf.mean(tf.sub(2, tf.mul(2, similarity))) as tf.Scalar;
    return opts.returnPlan ? { loss, similarity, plan } : { loss, similarity };
  }) as EmdLossResult;
}

export interface TransportPlan {
  /** π, row-major [batch, n, m]: plan[(b·n + i)·m + j] is the mass moved from x-node i to y-node j. */
  plan: Float32Array;
  batch: number;
  n: number;
  m: number;
  /** [H, W] of the x map when it was given as [B, H, W, C] (node i = row-major position), else null. */
  xGrid: [number, number] | null;
  yGrid: [number, number] | null;
  /** Marginals [batch, n] and [batch, m], and S per pair [batch]. */
  r: Float32Array;
  c: Float32Array;
  similarity: Float32Array;
}

function gridOf(t: tf.Tensor): [number, number] | null {
  if (t.rank === 3) return null;
  if (t.rank !== 4) throw new Error(`emd-loss.ts: a map must be [B,H,W,C] or [B,n,C], got [${t.shape}]`);
  return [t.shape[1] as number, t.shape[2] as number];
}

function flatten(t: tf.Tensor3D | tf.Tensor4D): tf.Tensor3D {
  const [b, , , c] = t.shape;
  return t.rank === 3
    ? (t as tf.Tensor3D)
    : tf.reshape(t, [b, (t.shape[1] as number) * (t.shape[2] as number), c as number]);
}

/**
 * The transport plan between two maps, for visualisation: no gradient, plain arrays out.
 * Maps are [B, H, W, C] (flattened row-major) or already [B, n, C].
 */
export async function transportPlan(
  xMap: tf.Tensor3D | tf.Tensor4D,
  yMap: tf.Tensor3D | tf.Tensor4D,
  vx: tf.Tensor2D,
  vy: tf.Tensor2D,
  opts: Pick<EmdLossOptions, 'lambda' | 'iterations' | 'marginals' | 'marginalEpsilon' | 'strategy'>,
): Promise<TransportPlan> {
  const full: EmdLossOptions = { ...opts, detachPlan: true, detachMarginals: true };
  const xGrid = gridOf(xMap);
  const yGrid = gridOf(yMap);
  const out = tf.tidy(() => {
    const fx = flatten(xMap);
    const fy = flatten(yMap);
    checkInputs(fx, fy, vx, vy, full);
    const cos = cosineMatrix(fx, fy, opts.strategy);
    const { r, c } = emdMarginals(fx, fy, vx, vy, full);
    const plan = planFor(cos, r, c, full, true);
    const similarity = tf.sum(tf.mul(plan, cos), [1, 2]);
    return { plan, r, c, similarity };
  });
  try {
    const [b, n, m] = out.plan.shape;
    const [plan, r, c, similarity] = (await Promise.all([
      out.plan.data(),
      out.r.data(),
      out.c.data(),
      out.similarity.data(),
    ])) as Float32Array[];
    return { plan, batch: b, n, m, xGrid, yGrid, r, c, similarity };
  } finally {
    tf.dispose(out);
  }
}
