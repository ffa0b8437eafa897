/**
 * Batch normalisation over NHWC maps (or [N, C] vectors), training and inference forms.
 * Training mode returns the batch moments so the caller can update running statistics
 * outside the gradient tape (torchvision semantics: unbiased variance for running_var).
 *
 * Both forms carry a closed-form gradient (tf.customGrad): core's batch-norm gradient broadcasts
 * with Tile and reduces with transposing Sums, ~40% of a ResNet-18 step on wasm. Here, with
 * x̂ = (x − μ)/σ, σ = √(var + ε) and sums over every axis but the channel axis (M elements):
 *   training:  dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy
 *   inference: dx = γ/σ · dy (running statistics are constants), same dγ, dβ.
 * Per-channel sums run as a [1, M] × [M, C] product with ones: one XNNPACK GEMM on wasm, where
 * tf.sum over axes [0, 1, 2] first transposes the whole tensor.
 */
import * as tf from '@tensorflow/tfjs';

export interface BatchNormTrainResult<R extends tf.Rank> {
  y: tf.Tensor<R>;
  /** Batch mean per channel. Carries no gradient. */
  mean: tf.Tensor1D;
  /** Biased batch variance per channel (divided by M). Carries no gradient. */
  variance: tf.Tensor1D;
}

export function batchNormTrain<R extends tf.Rank>(
  x: tf.Tensor<R>,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon = 1e-5,
): BatchNormTrainResult<R> {
  const c = checkShapes('batchNormTrain', x, gamma, beta);
  const stats = batchMoments(x, c);
  const [mean, variance] = tf.unstack(stats) as [tf.Tensor1D, tf.Tensor1D];
  const forward = tf.customGrad(
    (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      // The moments come in by closure, not as inputs: no gradient flows into them. They are saved
      // because the caller's tidy may dispose them before the backward pass runs.
      save([xIn, g, mean, variance]);
      const value = tf.batchNorm(xIn, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, epsilon);
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
        const [xs, gs, mu, v] = saved;
        const m = xs.size / c;
        const dy2 = dy.reshape([m, c]);
        const xhat = tf.batchNorm(xs, mu, v, undefined, undefined, epsilon).reshape([m, c]);
        const dBeta = channelSum(dy2);
        const dGamma = channelSum(tf.mul(dy2, xhat));
        // −(dγ/M)·x̂ − dβ/M in one fused pass over x.
        const correction = tf.batchNorm(
          xs,
          mu,
          v,
          tf.div(dBeta, -m) as tf.Tensor1D,
          tf.div(dGamma, -m) as tf.Tensor1D,
          epsilon,
        );
        const scale = tf.mul(gs, tf.rsqrt(tf.add(v, epsilon)));
        const dx = tf.mul(tf.add(dy, correction), scale);
        return [dx, dGamma, dBeta];
      };
      return { value, gradFunc };
    },
  );
  const y = forward(x, gamma, beta) as tf.Tensor<R>;
  return { y, mean, variance };
}

export function batchNormInfer<R extends tf.Rank>(
  x: tf.Tensor<R>,
  runningMean: tf.Tensor1D,
  runningVar: tf.Tensor1D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon = 1e-5,
): tf.Tensor<R> {
  const c = checkShapes('batchNormInfer', x, gamma, beta);
  const forward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([xIn, g, runningMean, runningVar]);
    const value = tf.batchNorm(xIn, runningMean, runningVar, b as tf.Tensor1D, g as tf.Tensor1D, epsilon);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, gs, mu, v] = saved;
      const m = xs.size / c;
      const dy2 = dy.reshape([m, c]);
      const xhat = tf.batchNorm(xs, mu, v, undefined, undefined, epsilon).reshape([m, c]);
      const dx = tf.mul(dy, tf.mul(gs, tf.rsqrt(tf.add(v, epsilon))));
      return [dx, channelSum(tf.mul(dy2, xhat)), channelSum(dy2)];
    };
    return { value, gradFunc };
  });
  return forward(x, gamma, beta) as tf.Tensor<R>;
}

/** [mean; biased variance] per channel as a [2, C] tensor that passes no gradient back to x. */
function batchMoments(x: tf.Tensor, c: number): tf.Tensor2D {
  const moments = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xIn = args[0] as tf.Tensor;
    const m = xIn.size / c;
    const x2 = xIn.reshape([m, c]);
    const mean = tf.div(channelSum(x2), m);
    // Two passes (x − μ)² rather than E[x²] − μ²: conv outputs can have |μ| ≫ σ.
    const variance = tf.div(channelSum(tf.squaredDifference(x2, mean)), m);
    return { value: tf.stack([mean, variance]) as tf.Tensor2D, gradFunc: () => [tf.zerosLike(xIn)] };
  });
  return moments(x) as tf.Tensor2D;
}

/** Σ over rows of an [M, C] matrix, as ones[1, M] · x (see the header). */
function channelSum(x2: tf.Tensor): tf.Tensor1D {
  const [m, c] = x2.shape;
  return tf.matMul(tf.ones([1, m]), x2 as tf.Tensor2D).reshape([c]);
}

function checkShapes(fn: string, x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): number {
  if (x.rank !== 4 && x.rank !== 2) {
    throw new Error(`${fn}: x must be NHWC (rank 4) or [N, C] (rank 2), got shape [${x.shape}]`);
  }
  const c = x.shape[x.rank - 1];
  if (gamma.rank !== 1 || gamma.shape[0] !== c || beta.rank !== 1 || beta.shape[0] !== c) {
    throw new Error(`${fn}: gamma [${gamma.shape}] and beta [${beta.shape}] must be [${c}] for x [${x.shape}]`);
  }
  return c;
}
